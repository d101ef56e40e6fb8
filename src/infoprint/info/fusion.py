"""Fusion of weak learners into one representation, and the continuity of an embedding.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 4.4, with the measures of
Sec. 3 as written in docs/architecture.md §5. Members are M channels V_1..V_M (1-D
channels, whole spaces, even ground-truth factors) on one probe set of N points, known
through their Bhattacharyya coefficient matrices C_m. The fused channel U is a free d-dimensional
diagonal Gaussian embedding, mu [N, d] and logvar [N, d], optimised by gradient ascent on
the mean similarity (1/M) Σ_m s(U, V_m) with one of

* ``"mutual_information"``: I(U;V) = I_U + I_V − I_UV (bits),
* ``"exp_neg_vi"``: exp(−VI), VI = 2 I_UV − I_UU' − I_VV' in bits,
* ``"nmi"``: NMI = I(U;V) / sqrt((2 I_U − I_UU')(2 I_V − I_VV')),

where I[C] = −(1/N) Σ_i log2((1/N) Σ_j C_ij), I_U = I[C_U], I_UU' = I[C_U∘C_U] and
I_UV = I[C_U∘C_V], C_U = exp(−D_U). The row sums of C_U are log-sum-exps of −D_U. The
log N term is kept: the reference notebook's log-sum-exp form drops it, which shifts
I(U;V) by a constant but moves both the numerator and the denominator of NMI by log2 N,
so its NMI objective optimises something else.

What the objectives favour:

* I(U;V) is maximised by any embedding that tells all probe points apart (it then
  equals I_V): no pressure towards the members' structure.
* exp(−VI) also penalises information U has and V lacks; its optimum carries about the
  members' information.
* NMI, correctly normalised, is not bounded by 1 on the fingerprint estimate and its
  supremum lies at zero information: to first order in D_U, I(U;V) is linear in D_U
  while I(U;U') = 2 I_U − I_UU' is quadratic, so NMI tends to a finite, scale-free limit
  as U fades. For a V of k equal sharp classes, a faint copy of V reaches
  sqrt((k − 1) / ln k) > 1 (1.20 for k = 2), above NMI(V, V) = 1. Started at the
  members' information (``init_scale=None``), gradient ascent stays in the informative
  local maximum for a few hundred steps; run long enough it can slide into the faint
  regime. :attr:`FusedSpace.information` shows which one was reached.

On the ring the paper finds that fusing more members gives a more continuous circle;
:func:`continuity` measures that: the largest Bhattacharyya distance between neighbouring
probe points over its 90th percentile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import torch
from threadpoolctl import threadpool_limits
from torch import Tensor
from torch.autograd.function import once_differentiable

from infoprint.registry import Registry

from .bhattacharyya import bhattacharyya_distance, exponent_cap, flush_tiny
from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    FusionPlan,
    checked_itemsize,
    coefficient_buffers,
    cpu_chunk_cap,
    cpu_scratch,
    default_workers,
    for_each_chunk,
    plan_fusion,
    single_threaded_ops,
)
from .measures import information_powers

__all__ = [
    "FUSION_INITS",
    "FUSION_OBJECTIVES",
    "FUSION_OPTIMIZERS",
    "FusedSpace",
    "FusionTarget",
    "adjacent_distances",
    "continuity",
    "fuse",
]

log = logging.getLogger(__name__)

ArrayLike = Tensor | np.ndarray

FUSION_OBJECTIVES: Registry[Callable[[_Terms], Tensor]] = Registry("fusion objective")
"""Similarities the fused channel can maximise (mean over members), each from the terms of
:class:`_Terms` (module docstring); registered below :class:`FusionTarget`."""

FUSION_INITS: Registry[Callable[[FusionTarget, int, int], Tensor]] = Registry("fusion init")
"""Starts of the fused means, ``(target, dim, seed) -> [N, dim]`` float64 (see :func:`fuse`)."""

FUSION_OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("fusion optimizer")
FUSION_OPTIMIZERS.add("adam", torch.optim.Adam)
FUSION_OPTIMIZERS.add("rmsprop", torch.optim.RMSprop)
FUSION_OPTIMIZERS.add("sgd", torch.optim.SGD)

_LN2 = math.log(2.0)
_SCALE_EVALUATIONS = 30
"""At most this many passes of the automatic initial scale (:func:`_matching_scale`)."""
_SCALE_BITS = 1e-6
"""The automatic initial scale stops when the start's information is this close (bits) to
the members' mean, or its bracket on ln r narrower than :data:`_SCALE_BRACKET`."""
_SCALE_BRACKET = 1.5e-5
_MIN_SHARED_BITS = 1e-12
"""Floor of the NMI denominator (2 I_U − I_UU')(2 I_V − I_VV') in the objective."""


_KERNEL_BLOCK_ELEMS = 2**18
"""Entries of C_U per chunk of rows of a pass: large enough that two workers' torch calls
seldom wait for the Python lock (a step at N = 1,000 on 2 workers: 7.7 ms against 13.5 ms
with 2**16; one worker is as fast with either), ``bench/fusion.py``."""
_MAX_CHUNKS = 256
"""At most this many chunks per pass (each keeps its column sums of the gradient)."""
_PARALLEL_MIN_COEFFICIENTS = 10**6
"""Passes over fewer coefficients C_U (N < 1,000) run on one thread: a second one gains
nothing there and loses more than its share on a busy machine (``bench/fusion.py``)."""


@dataclass(frozen=True)
class _Posteriors:
    """The fused channel's ``[N, d]`` parameters in the forms the passes use: the means,
    the variances v = e^logvar, half the means, and per probe point the products over the
    dimensions of √2 v^{1/4} (``row_scale``) and v^{1/4} (``column_scale``), so that
    Π_k sqrt(2 σ_ik σ_jk) = row_scale_i · column_scale_j."""

    mu: Tensor
    var: Tensor
    half_mu: Tensor
    row_scale: Tensor
    column_scale: Tensor

    @classmethod
    def of(cls, mu: Tensor, logvar: Tensor) -> _Posteriors:
        quarter = logvar.mul(0.25).exp_()
        row_scale = quarter.mul(math.sqrt(2.0)).prod(1)
        return cls(mu, logvar.exp(), 0.5 * mu, row_scale, quarter.prod(1))


def _kernel_rows(p: _Posteriors, rows: slice, out: Tensor) -> Tensor:
    """``[B, N]`` Bhattacharyya coefficients C_U[i, j] = exp(−D_ij) of the probe rows ``rows``,
    written into ``out``.

    The product form of :func:`~infoprint.info.bhattacharyya.coefficient_1d_into` over the
    d dimensions: C = Π_k sqrt(2 σ_ik σ_jk / w_k) · exp(−Σ_k Δμ_k² / (4 w_k)), w_k = v_ik + v_jk;
    one exp and one square root per element and dimension, no logarithm.
    """
    d = p.mu.shape[1]
    prefactor = torch.empty_like(out)
    inverse = prefactor if d == 1 else torch.empty_like(out)
    delta = out if d == 1 else torch.empty_like(out)
    for k in range(d):
        torch.add(p.var[rows, k, None], p.var[None, :, k], out=inverse).reciprocal_()
        exponent = out if k == 0 else delta
        torch.sub(p.half_mu[rows, k, None], p.half_mu[None, :, k], out=exponent)
        exponent.square_().mul_(inverse)  # Δμ_k² / (4 w_k)
        root = inverse.sqrt_()
        if k > 0:
            out.add_(delta)
            prefactor.mul_(root)
        elif d > 1:
            prefactor.copy_(root)
    cap = exponent_cap(out.dtype)
    out.clamp_(max=cap).neg_().exp_().mul_(prefactor)
    out.mul_(p.row_scale[rows, None]).mul_(p.column_scale[None, :])
    return flush_tiny(out)


@dataclass(frozen=True)
class _Pass:
    """One pass over the fused channel's coefficients, chunk by chunk of probe rows.

    On the CPU, ``workers`` threads take the chunks in turn with single-threaded torch ops
    (:func:`~infoprint.info.engine.for_each_chunk`, as the pairwise engine; on one worker
    too, where a multi-threaded BLAS call would round differently): no parallel region per
    operation, so a busy machine slows a pass by its fair share instead of stalling every
    operation on its slowest thread (``bench/fusion.py``). Each chunk writes only its own
    rows (and its own column sums), so the result does not depend on the workers. Rows
    rebuilt from the members (beyond the memory budget) go by the plan's chunks, one at a
    time.
    """

    n: int
    rows: int
    workers: int
    cpu: bool

    @classmethod
    def of(cls, n: int, target: FusionTarget | None, device: torch.device, workers: int) -> _Pass:
        if target is not None and target.coefficients is None:
            return cls(n, target.plan.rows_per_chunk, 1, device.type == "cpu")
        rows = max(1, _KERNEL_BLOCK_ELEMS // n, -(-n // _MAX_CHUNKS))
        workers = workers if n * n >= _PARALLEL_MIN_COEFFICIENTS else 1
        return cls(n, rows, workers, device.type == "cpu")

    @property
    def chunks(self) -> int:
        return -(-self.n // self.rows)

    def run(self, work: Callable[[slice], None]) -> None:
        with torch.no_grad(), single_threaded_ops(self.cpu):
            for_each_chunk(self.n, self.rows, self.workers, lambda: None, lambda _, r: work(r))


@dataclass
class _RowSums:
    """The fused channel's coefficients C_U ``[N, N]`` and their row sums, in one pass by
    chunks of rows: ``s [N]`` of C_U, ``q [N]`` of C_U∘C_U and, with a target, ``r [N, M]``
    = Σ_j C_U[i, j] C_m[i, j] with every member (a batched matrix product per chunk). Every
    row sum is at least 1 (C[i, i] = 1), so their logarithms never underflow."""

    kernel: Tensor
    s: Tensor
    q: Tensor
    r: Tensor | None

    @classmethod
    def of(
        cls, mu: Tensor, logvar: Tensor, target: FusionTarget | None = None, workers: int = 1
    ) -> _RowSums:
        n = mu.shape[0]
        posteriors = _Posteriors.of(mu, logvar)
        kernel, s, q = mu.new_empty(n, n), mu.new_empty(n), mu.new_empty(n)
        r = None if target is None else mu.new_empty(n, target.n_members)

        def work(rows: slice) -> None:
            block = _kernel_rows(posteriors, rows, kernel[rows])
            s[rows] = block.sum(-1)
            q[rows] = torch.linalg.vector_norm(block, dim=-1).square_()
            if target is not None:
                members = target.member_rows(rows).transpose(1, 2)  # [B, N, M]
                r[rows] = torch.bmm(block[:, None, :], members)[:, 0]  # 3x faster than T @ C_U

        _Pass.of(n, target, mu.device, workers if target is None else target.workers).run(work)
        return cls(kernel, s, q, r)

    def bits(self, sums: Tensor) -> Tensor:
        """I = log2 N − (1/N) Σ_i log2 sums_i over the rows (first axis), in bits."""
        return math.log2(self.kernel.shape[0]) - sums.log2().mean(dim=0)


class FusionTarget:
    """The members' coefficient matrices ``T[i, m, j] = C_m[i, j]`` by chunks of probe rows,
    and their information I_V and I_VV' (bits, ``[M]``).

    Built once per ensemble (:meth:`from_channels`) and reused for every step, objective
    and restart. The layout is that of docs/architecture.md §5. Within the memory budget
    (docs/architecture.md §6, :func:`~infoprint.info.engine.plan_fusion`) the coefficients
    are kept dense (:attr:`coefficients`, ``[N, M, N]``); beyond it every chunk of rows is
    rebuilt from the members when needed (slower, the same values). The joint row sums of
    the fused channel with all members, Σ_j C_U[i, j] C_m[i, j], are a batched matrix
    product per chunk, forward and backward (:class:`_Similarity`), so no ``[N, M, N]``
    temporary is made.
    """

    def __init__(
        self,
        members: ChannelSet,
        plan: FusionPlan,
        device: torch.device,
        dtype: torch.dtype,
        information: Tensor,
        self_joint: Tensor,
        workers: int = 1,
    ) -> None:
        """The target as planned; :meth:`from_channels` computes every argument."""
        self.members, self.plan, self.device, self.dtype = members, plan, device, dtype
        self.workers = workers
        """CPU threads of every pass over the fused channel (:class:`_Pass`)."""
        self.information, self.self_joint = information, self_joint  # [M] I(V), I(VV')
        self.coefficients: Tensor | None = None
        """The dense ``[N, M, N]`` coefficients when the plan keeps them, else ``None``."""
        if plan.store_dense:
            n, m = self.n_points, self.n_members
            dense = torch.empty(n, m, n, device=device, dtype=dtype)
            for rows, chunk in self.row_chunks():
                dense[rows] = chunk
            self.coefficients = dense

    @classmethod
    def from_channels(
        cls,
        members: ChannelSet,
        *,
        device: DeviceLike = "auto",
        dtype: torch.dtype = torch.float32,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        workers: int | None = None,
    ) -> FusionTarget:
        """The target of the member channels: coefficients built in float64 and held in
        ``dtype`` within ``memory_budget`` bytes; I_V and I_VV' computed in float64 by
        :func:`~infoprint.info.measures.information_powers`. ``workers``: CPU threads of each
        fusion step (default ``torch.get_num_threads()``; 1 off the CPU)."""
        members = as_channel_set(members)
        itemsize = checked_itemsize(dtype)
        dev = resolve_device(device)
        plan = plan_fusion(
            members.n_points,
            members.n_channels,
            itemsize=itemsize,
            memory_budget=memory_budget,
            buffers=coefficient_buffers(members),
            max_chunk_bytes=cpu_chunk_cap(dev),
            scratch_elems=cpu_scratch(dev),
        )
        if not plan.store_dense:
            log.warning(
                "fusion target of %d members on %d probe points exceeds memory_budget=%d "
                "bytes: coefficient rows are rebuilt for every step (slower)",
                members.n_channels,
                members.n_points,
                memory_budget,
            )
        workers = default_workers(dev, workers)
        bits = information_powers(
            members, (1, 2), device=dev, dtype=torch.float64, memory_budget=memory_budget,
            workers=workers,
        )  # fmt: skip
        info, self_joint = (b.to(device=dev, dtype=dtype) for b in bits)
        return cls(members, plan, dev, dtype, info, self_joint, workers)

    @property
    def n_members(self) -> int:
        return int(self.members.n_channels)

    @property
    def n_points(self) -> int:
        return int(self.members.n_points)

    def member_rows(self, rows: slice) -> Tensor:
        """``T[rows]`` ``[B, M, N]`` in the target's dtype: a view of the dense coefficients,
        or the rows rebuilt in float64 and rounded to the dtype (the values the dense copy
        holds), tiny entries flushed to 0 (:func:`~infoprint.info.bhattacharyya.flush_tiny`)."""
        if self.coefficients is not None:
            return self.coefficients[rows]
        built = self.members.coefficient_rows(rows, self.device, torch.float64)
        return flush_tiny(built.to(self.dtype))

    def row_chunks(self) -> Iterator[tuple[slice, Tensor]]:
        """``(rows, T[rows])`` for all probe rows by the plan's chunks."""
        n, step = self.n_points, self.plan.rows_per_chunk
        for r0 in range(0, n, step):
            rows = slice(r0, min(r0 + step, n))
            yield rows, self.member_rows(rows)

    def similarity(self, mu: Tensor, logvar: Tensor, objective: str) -> Tensor:
        """``[M]`` similarity of the embedding ``mu/logvar [N, d]`` with every member.

        Differentiable in ``mu`` and ``logvar`` (a closed-form gradient,
        :class:`_Similarity`); see the module docstring for the objectives. NMI is taken as
        0 where (2 I_U − I_UU')(2 I_V − I_VV') ≤ 0.
        """
        _check_objective(objective)
        n = self.n_points
        if mu.shape != logvar.shape or mu.ndim != 2 or mu.shape[0] != n:
            raise ValueError(
                f"mu and logvar must both be [{n}, d]; got {tuple(mu.shape)} and "
                f"{tuple(logvar.shape)}"
            )
        return _Similarity.apply(mu, logvar, self, objective)

    def spectral_embedding(self, dim: int) -> Tensor:
        """``[N, dim]`` leading eigenvectors of the members' mean transition matrix.

        W = (1/M) Σ_m C_m / rowsum(C_m), symmetrised and centred (the constant vector
        removed); the eigenvectors of its ``dim`` largest eigenvalues, each scaled to unit
        root-mean-square over the probe points (a Laplacian-eigenmap / diffusion-map
        embedding of the members' consensus). Around the uninformative embedding (all
        posteriors equal), I(U;V), −VI and NMI's numerator grow to first order with
        Σ_ij (1/N − W_ij) D_ij; for equal variances D_ij ∝ |μ_i − μ_j|², which these
        eigenvectors maximise: they are the directions in which the fused space first grows.
        """
        n = self.n_points
        if not 1 <= dim < n:
            raise ValueError(f"dim must lie in [1, {n - 1}] for {n} probe points; got {dim}")
        w = torch.empty(n, n, device=self.device, dtype=torch.float64)
        for rows, chunk in self.row_chunks():
            c = chunk.to(torch.float64)  # [B, M, N]
            w[rows] = (c / c.sum(-1, keepdim=True)).mean(1)
        a = 0.5 * (w + w.T)
        a = a - a.mean(0, keepdim=True) - a.mean(1, keepdim=True) + a.mean()
        # only the dim leading eigenpairs (LAPACK's syevr: ~4x faster than all at N = 1,000),
        # on one BLAS thread: OpenBLAS's threads spin on after a call, and on a busy machine
        # that took hotspot fusion from 1.4x to 3.5x its quiet time (bench/study.py --load)
        with threadpool_limits(1, user_api="blas"):
            _, found = scipy.linalg.eigh(a.cpu().numpy(), subset_by_index=[n - dim, n - 1])
        vectors = torch.from_numpy(found[:, ::-1].copy()).to(self.device)
        # each vector's sign fixed (largest entry positive): the same start on any LAPACK
        largest = vectors.gather(0, vectors.abs().argmax(0, keepdim=True))
        return vectors * largest.sign() * math.sqrt(n)


@dataclass(frozen=True)
class _Terms:
    """What every fusion objective is built from: I(U), I(UU') (the fused channel with an
    independent copy of itself) and I(UV) with every member V (bits, ``[M]``)."""

    target: FusionTarget
    info_u: Tensor
    self_u: Tensor
    joint: Tensor

    @classmethod
    def of(cls, target: FusionTarget, sums: _RowSums) -> _Terms:
        assert sums.r is not None
        return cls(target, sums.bits(sums.s), sums.bits(sums.q), sums.bits(sums.r))

    @property
    def shared(self) -> Tensor:
        """I(U;V) = I(U) + I(V) − I(UV)."""
        return self.info_u + self.target.information - self.joint


@FUSION_OBJECTIVES.register("mutual_information")
def _mutual_information(terms: _Terms) -> Tensor:
    return terms.shared


@FUSION_OBJECTIVES.register("exp_neg_vi")
def _exp_neg_vi(terms: _Terms) -> Tensor:
    """exp(−VI), VI = 2 I(UV) − I(UU') − I(VV')."""
    return torch.exp(-(2.0 * terms.joint - terms.self_u - terms.target.self_joint))


@FUSION_OBJECTIVES.register("nmi")
def _nmi(terms: _Terms) -> Tensor:
    """I(U;V) / sqrt(I(U;U') I(V;V')); 0 where the denominator is not positive."""
    target = terms.target
    den = (2.0 * terms.info_u - terms.self_u) * (2.0 * target.information - target.self_joint)
    ok = den > _MIN_SHARED_BITS
    return torch.where(ok, terms.shared / den.clamp(min=_MIN_SHARED_BITS).sqrt(), 0.0)


@FUSION_INITS.register("spectral")
def _spectral_start(target: FusionTarget, dim: int, seed: int) -> Tensor:
    return target.spectral_embedding(dim)


@FUSION_INITS.register("random")
def _random_start(target: FusionTarget, dim: int, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    start = torch.randn(target.n_points, dim, generator=gen, dtype=torch.float64)
    return start.to(target.device)


class _Similarity(torch.autograd.Function):
    """``[M]`` similarity s(U, V_m) of the fused channel ``mu/logvar`` with every member,
    with its gradient in closed form (docs/architecture.md §5).

    Forward: one pass of row sums (:class:`_RowSums`), then the objective of the terms.
    Backward: with a = ∂F/∂I(U), b = ∂F/∂I(UU') and g_m = ∂F/∂I(UV_m) (autograd of the
    objective on these scalars alone), the chain rule through I = log2 N − (1/N) Σ_i log2 s_i
    gives, per pair of probe points,

        ∂F/∂D_ij = C_U[i, j] / (N ln 2) · (a/s_i + 2b C_U[i, j]/q_i + Σ_m g_m C_m[i, j]/r_im),

    and D_ij (see :func:`_kernel_rows`) moves with μ_i by Δμ / (2 w), with logvar_i by
    −Δμ² v_i / (4 w²) + tanh(δ/2) / 4 (w = v_i + v_j, δ = logvar_i − logvar_j), and with
    point j by the same terms mirrored. Every chunk of rows adds its row sums to the rows'
    gradient and its column sums to all points', so the ``[N, N]`` chain of elementwise
    operations runs twice per step in cache-sized chunks instead of through autograd.
    """

    @staticmethod
    def forward(
        ctx: Any, mu: Tensor, logvar: Tensor, target: FusionTarget, objective: str
    ) -> Tensor:
        sums = _RowSums.of(mu, logvar, target)
        ctx.save_for_backward(mu, logvar)
        ctx.sums, ctx.target, ctx.objective = sums, target, objective
        return FUSION_OBJECTIVES[objective](_Terms.of(target, sums))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None, None]:
        mu, logvar = ctx.saved_tensors
        terms = _Terms.of(ctx.target, ctx.sums)
        leaves = [t.detach().requires_grad_() for t in (terms.info_u, terms.self_u, terms.joint)]
        with torch.enable_grad():
            value = FUSION_OBJECTIVES[ctx.objective](_Terms(ctx.target, *leaves))
            a, b, g = torch.autograd.grad(value, leaves, grad, materialize_grads=True)
        return (*_distance_gradient(mu, logvar, ctx.target, ctx.sums, (a, b, g)), None, None)


def _distance_gradient(
    mu: Tensor,
    logvar: Tensor,
    target: FusionTarget,
    sums: _RowSums,
    terms_grad: tuple[Tensor, Tensor, Tensor],
) -> tuple[Tensor, Tensor]:
    """∂F/∂μ and ∂F/∂logvar ``[N, d]`` from the gradients of the terms (:class:`_Similarity`).

    Each chunk of rows i makes ∂F/∂D_ij (one batched product with the members and three
    elementwise passes), then per dimension (:func:`_dimension_sums`) adds its row sums to
    the rows' own gradient and keeps its column sums (the same terms for the points j)
    apart; those are added in chunk order, so the gradient is the same whichever worker
    took which chunk (rows rebuilt beyond the memory budget go one chunk at a time and add
    their column sums in order as they come).
    """
    a, b, g = terms_grad
    n, d = mu.shape
    var = logvar.exp()
    split = _Pass.of(n, target, mu.device, target.workers)
    own = mu.new_zeros(3, n, d)  # the rows' sums of each chunk (_dimension_sums)
    slots = 1 if target.coefficients is None else split.chunks  # rebuilt: one at a time
    columns = mu.new_zeros(slots, 3, n, d)  # the same sums over the rows, per chunk
    to_bits = 1.0 / (n * _LN2)
    weights = (g * to_bits / sums.r)[:, None, :]  # [N, 1, M]: g_m / (r_im N ln 2)
    alone, twice = a * to_bits / sums.s, 2.0 * b * to_bits / sums.q  # [N]

    def work(rows: slice) -> None:
        block = sums.kernel[rows]
        d_distance = torch.bmm(weights[rows], target.member_rows(rows))[:, 0]
        d_distance.add_(alone[rows, None]).addcmul_(block, twice[rows, None]).mul_(block)
        column = columns[rows.start // split.rows % slots]
        terms = block.new_empty(4, *block.shape)
        for k in range(d):
            _dimension_sums(d_distance, mu[:, k], var[:, k], rows, terms)
            own[:, rows, k] = terms[:3].sum(2)
            column[..., k] += terms[:3].sum(1)

    split.run(work)
    columns = columns.sum(0)
    d_mu = 0.5 * (own[0] - columns[0])
    d_logvar = 0.25 * (own[1] - columns[1] - var * (own[2] + columns[2]))
    return d_mu, d_logvar


def _dimension_sums(
    d_distance: Tensor, mu: Tensor, var: Tensor, rows: slice, terms: Tensor
) -> None:
    """One dimension's terms of :func:`_distance_gradient` for a chunk of rows, into
    ``terms [4, B, N]`` (the last is scratch): P Δμ, P (v_i − v_j) and P Δμ² / w, with
    P = ∂F/∂D_ij / w, w = v_i + v_j and Δμ = μ_i − μ_j. Summed over the points j they give
    the rows' gradient, over the rows i that of the points j:

    ∂F/∂μ_i = ½ Σ_j P Δμ, ∂F/∂logvar_i = ¼ Σ_j P (v_i − v_j) − ¼ v_i Σ_j P Δμ² / w, and
    ∂F/∂μ_j = −½ Σ_i P Δμ, ∂F/∂logvar_j = −¼ Σ_i P (v_i − v_j) − ¼ v_j Σ_i P Δμ² / w
    (∂D/∂logvar_i = −Δμ² v_i / (4 w²) + tanh(δ/2) / 4 with tanh(δ/2) = (v_i − v_j) / w,
    δ = logvar_i − logvar_j: no transcendental function here).
    """
    moved, tilt, squared, scratch = terms
    inverse = torch.add(var[rows, None], var[None, :], out=squared).reciprocal_()
    weight = torch.mul(d_distance, inverse, out=tilt)  # P
    torch.sub(mu[rows, None], mu[None, :], out=moved)
    squared.mul_(moved)  # Δμ / w
    moved.mul_(weight)  # P Δμ
    squared.mul_(moved)  # P Δμ² / w
    weight.mul_(torch.sub(var[rows, None], var[None, :], out=scratch))  # P (v_i − v_j)


@dataclass
class FusedSpace:
    """A fused embedding of the probe set and how it was obtained (CPU tensors).

    Attributes:
        mu, logvar: ``[N, d]`` the fused diagonal Gaussian posteriors.
        objective: the maximised similarity (one of :data:`FUSION_OBJECTIVES`).
        similarity: ``[M]`` final similarity with every member.
        information: I(U) of the fused embedding on the probe set, bits.
        trace: ``[steps]`` mean similarity before each optimiser step.
        seed: the seed of the initial embedding.
    """

    mu: Tensor
    logvar: Tensor
    objective: str
    similarity: Tensor
    information: float
    trace: Tensor
    seed: int

    @property
    def value(self) -> float:
        """Final mean similarity with the members (the objective)."""
        return float(self.similarity.mean())


def _check_objective(objective: str) -> None:
    FUSION_OBJECTIVES.check(objective)  # an unknown name: a ConfigError listing the names


def _matching_scale(start: Tensor, bits: float, workers: int) -> float:
    """Scale r at which the means ``r * start`` (unit variances) carry ``bits`` bits.

    I(U) grows monotonically with r: regula falsi with the Illinois rule on ln r over
    [ln 1e-3, ln 1e4] (an end when ``bits`` is out of reach, e.g. above log2 N), to within
    :data:`_SCALE_BITS` bits; about half the passes of a bisection to the same bracket.
    """
    start = start.to(torch.float64)
    zeros = torch.zeros_like(start)

    def excess(log_scale: float) -> float:
        with torch.no_grad():
            sums = _RowSums.of(start * math.exp(log_scale), zeros, workers=workers)
        return float(sums.bits(sums.s)) - bits

    lo, hi = math.log(1e-3), math.log(1e4)
    f_lo, f_hi = excess(lo), excess(hi)
    if f_lo >= 0 or f_hi <= 0:
        return math.exp(lo if f_lo >= 0 else hi)
    x, kept = lo, 0  # kept: the end that stayed last time (-1 low, +1 high)
    for _ in range(_SCALE_EVALUATIONS):
        x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        f_x = excess(x)
        if abs(f_x) < _SCALE_BITS:
            break
        if f_x < 0:
            lo, f_lo = x, f_x
            f_hi = f_hi / 2 if kept == 1 else f_hi
            kept = 1
        else:
            hi, f_hi = x, f_x
            f_lo = f_lo / 2 if kept == -1 else f_lo
            kept = -1
        if hi - lo < _SCALE_BRACKET:
            break
    return math.exp(x)


def fuse(
    members: ChannelSet | FusionTarget,
    *,
    dim: int = 2,
    objective: str = "exp_neg_vi",
    steps: int = 300,
    lr: float = 0.02,
    optimizer: str = "adam",
    init: str = "spectral",
    init_scale: float | None = None,
    seed: int = 0,
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    workers: int | None = None,
) -> FusedSpace:
    """Optimise a ``dim``-dimensional Gaussian embedding to agree with the members.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4: maximises
    (1/M) Σ_m s(U, V_m) for the chosen ``objective`` (module docstring) over the fused
    means and log-variances of all N probe points by full-batch gradient ascent.

    Args:
        members: a channel set on the probe set (e.g. ``GaussianChannels`` of the chosen
            runs' channels, ``GaussianSpaces`` of whole latent spaces) or a prebuilt
            :class:`FusionTarget` (then ``device``, ``dtype`` and ``workers`` are the
            target's).
        dim, objective: dimension d of the fused embedding; one of :data:`FUSION_OBJECTIVES`.
        steps, lr, optimizer: gradient steps, learning rate and optimiser (one of
            :data:`FUSION_OPTIMIZERS`).
        init: initial means: ``"spectral"`` (:meth:`FusionTarget.spectral_embedding`,
            deterministic) or ``"random"`` (i.i.d. standard normal, drawn with ``seed``).
            From random starts the optimiser often settles in folded embeddings whose
            objective is as high as that of an unfolded one; the spectral start avoids
            them.
        init_scale: root-mean-square per dimension of the initial means, with unit initial
            variances (the Bhattacharyya distance is invariant to a joint rescaling, so only
            this ratio matters). ``None``: the scale at which the start carries the
            members' mean information. Starting that informative matters for NMI (module
            docstring).
        seed: seed of the random start (a CPU generator: the same start on any device).
        device, dtype: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:k]"``; float32/64.
        workers: CPU threads of each step (default ``torch.get_num_threads()``); the result
            does not depend on them.
    """
    _check_fuse_options(objective, optimizer, init, dim, steps, lr, init_scale)
    target = members
    dev = resolve_device(device)
    workers = default_workers(dev, workers)  # before the threads are set to 1 below
    # on the CPU only the passes' workers run in parallel (_Pass): no OpenMP region anywhere
    with single_threaded_ops(dev.type == "cpu"):
        if not isinstance(target, FusionTarget):
            target = FusionTarget.from_channels(target, device=dev, dtype=dtype, workers=workers)
        mu = _initial_means(target, dim, init, init_scale, seed).to(target.dtype).requires_grad_()
        logvar = torch.zeros(mu.shape, device=mu.device, dtype=mu.dtype, requires_grad=True)
        trace = _ascend(target, mu, logvar, objective, FUSION_OPTIMIZERS[optimizer], lr, steps)
        with torch.no_grad():
            terms = _Terms.of(target, _RowSums.of(mu, logvar, target))
    final = FUSION_OBJECTIVES[objective](terms).cpu()
    mu, logvar = mu.detach().cpu(), logvar.detach().cpu()
    return FusedSpace(mu, logvar, objective, final, float(terms.info_u), trace.cpu(), seed)


def _check_fuse_options(
    objective: str,
    optimizer: str,
    init: str,
    dim: int,
    steps: int,
    lr: float,
    init_scale: float | None,
) -> None:
    """Raise :class:`ValueError` naming the first invalid option of :func:`fuse`."""
    _check_objective(objective)
    FUSION_OPTIMIZERS.check(optimizer)
    FUSION_INITS.check(init)
    if dim < 1 or steps < 0 or lr <= 0 or (init_scale is not None and init_scale <= 0):
        raise ValueError(
            f"need dim >= 1, steps >= 0, lr > 0 and init_scale > 0; got dim={dim}, "
            f"steps={steps}, lr={lr}, init_scale={init_scale}"
        )


def _initial_means(
    target: FusionTarget, dim: int, init: str, init_scale: float | None, seed: int
) -> Tensor:
    """``[N, dim]`` float64 start of the fused means on the target's device (see :func:`fuse`):
    the spectral embedding or a seeded standard normal draw, scaled by ``init_scale`` or, for
    ``None``, to carry the members' mean information."""
    start = FUSION_INITS[init](target, dim, seed)
    if init_scale is None:
        init_scale = _matching_scale(start, float(target.information.mean()), target.workers)
    return start * init_scale


def _ascend(
    target: FusionTarget,
    mu: Tensor,
    logvar: Tensor,
    objective: str,
    optimizer: Callable[..., torch.optim.Optimizer],
    lr: float,
    steps: int,
) -> Tensor:
    """Full-batch gradient ascent of the mean similarity, in place on ``mu`` and ``logvar``;
    returns the ``[steps]`` trace of the mean similarity before each step."""
    opt = optimizer([mu, logvar], lr=lr)
    trace = torch.empty(steps, device=mu.device, dtype=mu.dtype)
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        value = target.similarity(mu, logvar, objective).mean()
        value.neg().backward()
        opt.step()
        trace[step] = value.detach()
    return trace


def adjacent_distances(mu: ArrayLike, logvar: ArrayLike, *, closed: bool = False) -> Tensor:
    """Bhattacharyya distances D_B(i, i+1) between neighbouring probe points, float64.

    ``mu/logvar [N, d]`` in probe order; ``[N − 1]`` distances, or ``[N]`` with
    ``closed=True`` (adds the pair (N − 1, 0), for closed curves such as the ring).
    """
    m = torch.as_tensor(mu, dtype=torch.float64)
    lv = torch.as_tensor(logvar, dtype=torch.float64)
    if m.ndim != 2 or m.shape != lv.shape or m.shape[0] < 2:
        raise ValueError(
            f"mu and logvar must both be [N, d] with N >= 2; got {tuple(m.shape)} and "
            f"{tuple(lv.shape)}"
        )
    nxt_m, nxt_lv = (torch.roll(t, -1, 0) for t in (m, lv))
    if not closed:
        m, lv, nxt_m, nxt_lv = m[:-1], lv[:-1], nxt_m[:-1], nxt_lv[:-1]
    d = bhattacharyya_distance(m[:, None], lv[:, None], nxt_m[:, None], nxt_lv[:, None])
    return d[:, 0, 0]


def continuity(
    mu: ArrayLike, logvar: ArrayLike, *, closed: bool = False, quantile: float = 0.9
) -> float:
    """Continuity of an embedding along the probe order (lower is better, ≥ 1).

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 4.4: the largest Bhattacharyya distance
    between neighbouring probe points divided by the ``quantile`` (default 90th
    percentile) of those distances. A curve without a jump is close to 1; a break, where
    neighbours land far apart, makes it large. NaN when all neighbours coincide.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie in (0, 1); got {quantile}")
    d = adjacent_distances(mu, logvar, closed=closed)
    return float(d.max() / torch.quantile(d, quantile))
