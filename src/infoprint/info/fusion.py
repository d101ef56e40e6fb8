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
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from infoprint.registry import Registry

from .bhattacharyya import bhattacharyya_distance
from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    FusionPlan,
    checked_itemsize,
    coefficient_buffers,
    cpu_chunk_cap,
    cpu_scratch,
    plan_fusion,
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
_BISECTION_STEPS = 40
"""Bisection steps of the automatic initial scale (ln r to about 1e-11)."""
_MIN_SHARED_BITS = 1e-12
"""Floor of the NMI denominator (2 I_U − I_UU')(2 I_V − I_VV') in the objective."""


def _bits(log_c: Tensor) -> Tensor:
    """I[L] = log2 N − (1/N) Σ_i logsumexp_j L_ij / ln 2 for ``L [N, N]``, in bits."""
    return math.log2(log_c.shape[-1]) - torch.logsumexp(log_c, dim=-1).mean(dim=-1) / _LN2


def _row_sum_bits(row_sums: Tensor, n: int) -> Tensor:
    """log2 N − (1/N) Σ_i log2 s_i over the last axis of row sums ``s [..., N]``, in bits."""
    return math.log2(n) - row_sums.log2().mean(dim=-1)


def _distance_matrix(mu: Tensor, logvar: Tensor) -> Tensor:
    """Differentiable Bhattacharyya distances ``[N, N]`` between diagonal Gaussians.

    Per dimension D = Δμ² / (4 (v_i + v_j)) + 1/2 ln cosh(δ/2), δ = logvar_i − logvar_j
    (the stable form of :mod:`.bhattacharyya`), with ln cosh x = x + softplus(−2x) − ln 2,
    which is smooth at x = 0 (the in-place kernels of :mod:`.bhattacharyya` are not
    differentiable).
    """
    var = logvar.exp()
    diff = (mu[:, None, :] - mu[None, :, :]).square()
    half = 0.5 * (logvar[:, None, :] - logvar[None, :, :])
    log_cosh = half + F.softplus(-2.0 * half) - _LN2
    return (diff / (4.0 * (var[:, None, :] + var[None, :, :])) + 0.5 * log_cosh).sum(-1)


class FusionTarget:
    """The members' coefficient matrices ``T[i, m, j] = C_m[i, j]`` by chunks of probe rows,
    and their information I_V and I_VV' (bits, ``[M]``).

    Built once per ensemble (:meth:`from_channels`) and reused for every step, objective
    and restart. The layout is that of docs/architecture.md §5. Within the memory budget
    (docs/architecture.md §6, :func:`~infoprint.info.engine.plan_fusion`) the coefficients
    are kept dense (:attr:`coefficients`, ``[N, M, N]``); beyond it every chunk of rows is
    rebuilt from the members when needed (slower, the same values). The joint row sums of
    the fused channel with all members, Σ_j C_U[i, j] C_m[i, j], are a broadcast product
    and sum over j per chunk, forward and backward (:class:`_JointRowSums`), so no
    ``[N, M, N]`` temporary is made. They are sums of exponentials evaluated without a
    log-sum-exp because every row sum is at least 1 (C_U[i, i] = C_m[i, i] = 1), so nothing
    underflows to a log of 0.
    """

    def __init__(
        self,
        members: ChannelSet,
        plan: FusionPlan,
        device: torch.device,
        dtype: torch.dtype,
        information: Tensor,
        self_joint: Tensor,
    ) -> None:
        """The target as planned; :meth:`from_channels` computes every argument."""
        self.members, self.plan, self.device, self.dtype = members, plan, device, dtype
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
    ) -> FusionTarget:
        """The target of the member channels: coefficients built in float64 and held in
        ``dtype`` within ``memory_budget`` bytes; I_V and I_VV' computed in float64 by
        :func:`~infoprint.info.measures.information_powers`."""
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
        bits = information_powers(
            members, (1, 2), device=dev, dtype=torch.float64, memory_budget=memory_budget
        )
        info, self_joint = (b.to(device=dev, dtype=dtype) for b in bits)
        return cls(members, plan, dev, dtype, info, self_joint)

    @property
    def n_members(self) -> int:
        return int(self.members.n_channels)

    @property
    def n_points(self) -> int:
        return int(self.members.n_points)

    def row_chunks(self) -> Iterator[tuple[slice, Tensor]]:
        """``(rows, T[rows])`` ``[B, M, N]`` in the target's dtype, for all probe rows in
        chunks of the plan's size: views of the dense coefficients, or rows rebuilt in
        float64 and rounded to the dtype (the values the dense copy holds)."""
        n, step = self.n_points, self.plan.rows_per_chunk
        for r0 in range(0, n, step):
            rows = slice(r0, min(r0 + step, n))
            if self.coefficients is not None:
                yield rows, self.coefficients[rows]
            else:
                built = self.members.coefficient_rows(rows, self.device, torch.float64)
                yield rows, built.to(self.dtype)

    def similarity(self, mu: Tensor, logvar: Tensor, objective: str) -> Tensor:
        """``[M]`` similarity of the embedding ``mu/logvar [N, d]`` with every member.

        Differentiable in ``mu`` and ``logvar``; see the module docstring for the
        objectives. NMI is taken as 0 where (2 I_U − I_UU')(2 I_V − I_VV') ≤ 0.
        """
        _check_objective(objective)
        n = self.n_points
        if mu.shape != logvar.shape or mu.ndim != 2 or mu.shape[0] != n:
            raise ValueError(
                f"mu and logvar must both be [{n}, d]; got {tuple(mu.shape)} and "
                f"{tuple(logvar.shape)}"
            )
        log_u = -_distance_matrix(mu, logvar)  # [N, N]
        info_u = _bits(log_u)
        rows = _JointRowSums.apply(log_u.exp(), self)  # [N, M]
        joint = _row_sum_bits(rows.T, n)  # [M] I(UV)
        return FUSION_OBJECTIVES[objective](_Terms(self, log_u, info_u, joint))

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
        _, vectors = torch.linalg.eigh(a)
        return vectors[:, -dim:].flip(-1) * math.sqrt(n)


@dataclass(frozen=True)
class _Terms:
    """What every fusion objective is built from: the fused channel U's log coefficients
    ``[N, N]``, I(U) and I(UV) with every member V (bits, ``[M]``)."""

    target: FusionTarget
    log_u: Tensor
    info_u: Tensor
    joint: Tensor

    @property
    def shared(self) -> Tensor:
        """I(U;V) = I(U) + I(V) − I(UV)."""
        return self.info_u + self.target.information - self.joint

    def self_u(self) -> Tensor:
        """I(UU'), the fused channel with an independent copy of itself."""
        return _bits(2.0 * self.log_u)


@FUSION_OBJECTIVES.register("mutual_information")
def _mutual_information(terms: _Terms) -> Tensor:
    return terms.shared


@FUSION_OBJECTIVES.register("exp_neg_vi")
def _exp_neg_vi(terms: _Terms) -> Tensor:
    """exp(−VI), VI = 2 I(UV) − I(UU') − I(VV')."""
    return torch.exp(-(2.0 * terms.joint - terms.self_u() - terms.target.self_joint))


@FUSION_OBJECTIVES.register("nmi")
def _nmi(terms: _Terms) -> Tensor:
    """I(U;V) / sqrt(I(U;U') I(V;V')); 0 where the denominator is not positive."""
    target = terms.target
    den = (2.0 * terms.info_u - terms.self_u()) * (2.0 * target.information - target.self_joint)
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


class _JointRowSums(torch.autograd.Function):
    """``[N, M]`` Σ_j C_m[i, j] K[i, j] of a kernel ``K [N, N]`` with every member.

    Chunk by chunk of probe rows (:meth:`FusionTarget.row_chunks`), and so is the backward
    pass, ∂/∂K[i, j] = Σ_m g[i, m] C_m[i, j]: autograd of the broadcast product would keep
    every chunk (the whole ``[N, M, N]``) until the backward pass.
    """

    @staticmethod
    def forward(ctx: Any, kernel: Tensor, target: FusionTarget) -> Tensor:
        ctx.target = target
        out = kernel.new_empty(target.n_points, target.n_members)
        for rows, c in target.row_chunks():
            out[rows] = (c * kernel[rows, None, :]).sum(-1)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        target: FusionTarget = ctx.target
        grad_kernel = grad.new_empty(target.n_points, target.n_points)
        for rows, c in target.row_chunks():
            grad_kernel[rows] = (grad[rows, :, None] * c).sum(1)
        return grad_kernel, None


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


def _matching_scale(start: Tensor, bits: float) -> float:
    """Scale r at which the means ``r * start`` (unit variances) carry ``bits`` bits.

    I(U) grows monotonically with r; bisection on ln r over [1e-3, 1e4] (capped there when
    ``bits`` is out of reach, e.g. above log2 N).
    """
    start = start.to(torch.float64)
    zeros = torch.zeros_like(start)
    lo, hi = math.log(1e-3), math.log(1e4)
    with torch.no_grad():
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if float(_bits(-_distance_matrix(start * math.exp(mid), zeros))) < bits:
                lo = mid
            else:
                hi = mid
    return math.exp(0.5 * (lo + hi))


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
) -> FusedSpace:
    """Optimise a ``dim``-dimensional Gaussian embedding to agree with the members.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4: maximises
    (1/M) Σ_m s(U, V_m) for the chosen ``objective`` (module docstring) over the fused
    means and log-variances of all N probe points by full-batch gradient ascent.

    Args:
        members: a channel set on the probe set (e.g. ``GaussianChannels`` of the chosen
            runs' channels, ``GaussianSpaces`` of whole latent spaces) or a prebuilt
            :class:`FusionTarget` (then ``device`` and ``dtype`` are the target's).
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
    """
    _check_fuse_options(objective, optimizer, init, dim, steps, lr, init_scale)
    target = members
    if not isinstance(target, FusionTarget):
        target = FusionTarget.from_channels(target, device=device, dtype=dtype)
    mu = _initial_means(target, dim, init, init_scale, seed).to(target.dtype).requires_grad_()
    logvar = torch.zeros(mu.shape, device=mu.device, dtype=mu.dtype, requires_grad=True)
    trace = _ascend(target, mu, logvar, objective, FUSION_OPTIMIZERS[optimizer], lr, steps)
    with torch.no_grad():
        final = target.similarity(mu, logvar, objective)
        bits = float(_bits(-_distance_matrix(mu, logvar)))
    return FusedSpace(
        mu=mu.detach().cpu(),
        logvar=logvar.detach().cpu(),
        objective=objective,
        similarity=final.cpu(),
        information=bits,
        trace=trace.cpu(),
        seed=seed,
    )


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
        init_scale = _matching_scale(start, float(target.information.mean()))
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
