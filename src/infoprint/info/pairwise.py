"""Pairwise mutual and joint information of channel sets by batched GEMM over probe rows.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 3 (I(U;V) through the
Bhattacharyya coefficient matrices), in the centred GEMM form of docs/architecture.md §5.
With s_ab(i) = Σ_j C_a[i, j] C_b[i, j], the row means m_a(i) = (1/N) Σ_j C_a[i, j], a
centre c_a(i) = m_a(i) where m_a(i) > 1/2 and 0 elsewhere (u_a(i) = 1 there, else 0), and

    Q[i, a, j] = (C_a[i, j] − c_a(i)) / (√N m_a(i)),   x_ab(i) = (Q_i Q_iᵀ)[a, b] − u_a(i) u_b(i),

1 + x_ab(i) = N s_ab(i) / (s_a(i) s_b(i)) exactly (Σ_j Q[i, a, j] is 0 or √N), so that

    I_U       = −(1/N) Σ_i log2 m_a(i),
    I(U;V)    = I_U + I_V − I_UV = (1/N) Σ_i log2(1 + x_ab(i)),
    I(U;U')   = 2 I_U − I_UU'    = (1/N) Σ_i log2(1 + x_aa(i)),
    I_UV      = I_U + I_V − I(U;V).

The GEMM thus yields the small differences that NMI and VI are made of directly, each to
the dtype's relative precision, rather than as differences of joint informations near
log2 N (in float32 these lose ~1e-6 bits, a relative error of 1e-2 in the NMI of channels
just above 0.01 bits, whose I(U;U') is ~1e-4 bits). Centring is what removes the
cancellation for such blurred rows (C ≈ 1 everywhere); rows of informative channels
(m(i) ≤ 1/2, most C_ij near 0) stay uncentred, so that their products do not pick up N
small rounded terms. The logs are summed over groups of at most 16 rows in the
computation dtype and over the groups in float64.

The probe rows i are processed in chunks whose size follows from ``memory_budget``;
within a chunk the channel axis is cut into tiles and, in self mode, only the tiles on or
above the diagonal are multiplied (``G = Q[:, tile] @ Q[:, tile_start:]ᵀ``), so about half
of the M² products are skipped. No Python loop runs over pairs; the only Python loops are
over row chunks and channel tiles. Row sums are GEMVs with a row of ones.

On the CPU the row chunks are processed by W worker threads (default: torch's thread
count) with single-threaded ops and their own buffers, which keeps the engine fast on a
machine shared with other processes. The plan (rows per chunk, tile), the reused buffers,
the workers and the memory accounting are the engine's: :mod:`infoprint.info.engine`,
docs/architecture.md §6.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypedDict

import torch
from torch import Tensor

from .channels import ChannelSet
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    ROW_GROUP_FLOAT32,
    CoefficientRows,
    PairwisePlan,
    Progress,
    ProgressCallback,
    ReusedBuffer,
    checked_itemsize,
    checked_sets,
    coefficient_buffers,
    pass_limits,
    plan_pairwise,
    run_pass,
)

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+; annotations are never evaluated
    from typing import Unpack

__all__ = [
    "PairwiseInformation",
    "PairwiseOptions",
    "log_row_means",
    "pairwise_information",
    "pairwise_joint_information",
    "scaled_rows_",
]

_F64 = torch.float64


class PairwiseOptions(TypedDict, total=False):
    """The keyword options of a pairwise pass besides ``dtype`` (documented at
    :func:`pairwise_joint_information`)."""

    device: DeviceLike
    memory_budget: int
    progress: bool | ProgressCallback
    tile: int | None
    workers: int | None


@dataclass
class PairwiseInformation:
    """What one pairwise pass yields for channel sets A (M channels) and B (L), in bits.

    Attributes:
        information_a: ``[M]`` I(U), float64.
        information_b: ``[L]`` I(V), float64 (self mode: ``information_a``).
        shared_a: ``[M]`` I(U;U') = 2 I_U − I_UU', float64 (self mode: ``mutual``'s
            diagonal).
        shared_b: ``[L]`` I(V;V'), float64.
        mutual: ``[M, L]`` I(U;V) = I_U + I_V − I_UV, float64 (self mode: symmetric).
    """

    information_a: Tensor
    information_b: Tensor
    shared_a: Tensor
    shared_b: Tensor
    mutual: Tensor

    def joint_(self, dtype: torch.dtype, block: int = 64) -> Tensor:
        """I_UV = I_U + I_V − I(U;V), ``[M, L]`` in ``dtype``; overwrites ``mutual``.

        Formed ``block`` rows at a time as (I_U + I_V) − I(U;V), so a symmetric ``mutual``
        gives a symmetric result.
        """
        out, ia, ib = self.mutual, self.information_a, self.information_b
        for p0 in range(0, out.shape[0], block):
            rows = out[p0 : p0 + block]
            torch.sub(ia[p0 : p0 + block, None] + ib[None, :], rows, out=rows)
        return out.to(dtype)


def pairwise_joint_information(
    a: ChannelSet,
    b: ChannelSet | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    **options: Unpack[PairwiseOptions],
) -> Tensor:
    """Joint information I(U_a V_b) in bits for all pairs of channels, by batched GEMM.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; docs/architecture.md
    §5: ``I_ab = −(1/N) Σ_i log2((1/N) Σ_j C_a[i, j] C_b[i, j])``, evaluated as
    I_U + I_V − I(U;V) (see :func:`pairwise_information`).

    Args:
        a: channel set with M channels.
        b: channel set with L channels on the same probe points, or ``None`` for self mode.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda[:k]"`` or a device.
        dtype: computation dtype, ``torch.float32`` (default) or ``torch.float64``.
        memory_budget: bytes of working memory (what counts: :mod:`infoprint.info.engine`).
        progress: ``True`` logs progress at INFO level on the ``infoprint.info.engine``
            logger; a callable is called as ``progress(rows_done, rows_total)``.
        tile: channel tile size (default: about M/8, within [64, 1024]).
        workers: CPU worker threads (default ``torch.get_num_threads()``); see
            :mod:`infoprint.info.engine`. With more than one, float rounding of the sums
            may differ between runs (the order of additions varies).

    Returns:
        Self mode: symmetric ``[M, M]`` tensor whose diagonal is I(UU') (i.e. C∘C).
        Cross mode: ``[M, L]`` tensor. On the CPU, in ``dtype``.
    """
    return pairwise_information(a, b, dtype=dtype, **options).joint_(dtype)


def pairwise_information(
    a: ChannelSet,
    b: ChannelSet | None = None,
    *,
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: bool | ProgressCallback = False,
    tile: int | None = None,
    workers: int | None = None,
) -> PairwiseInformation:
    """I(U), I(U;U') and the mutual information I(U;V) of all pairs, in one GEMM pass.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3, in the centred GEMM
    form of docs/architecture.md §5 (module docstring): I(U;V) = (1/N) Σ_i log2(1 + x_ab(i))
    with x_ab(i) = N s_ab(i) / (s_a(i) s_b(i)) − 1 from centred coefficient rows, so the
    small differences NMI and VI are made of keep the dtype's relative precision. Arguments
    as in :func:`pairwise_joint_information`. Returns CPU tensors (see
    :class:`PairwiseInformation`).
    """
    a, b = checked_sets(a, b)
    itemsize = checked_itemsize(dtype)
    dev = resolve_device(device)
    plan = plan_pairwise(
        a.n_points,
        a.n_channels,
        None if b is None else b.n_channels,
        itemsize=itemsize,
        memory_budget=memory_budget,
        buffers_a=coefficient_buffers(a),
        buffers_b=1 if b is None else coefficient_buffers(b),
        tile=tile,
        **pass_limits(dev, workers),
    )
    return _run_pairwise(a, b, plan, dev, dtype, progress)


class _Sums:
    """The pass's float64 sums: Σ_i ln(1 + x_ab(i)) ``[M, L]`` and per channel Σ_i ln m(i)
    and (cross mode) Σ_i ln(1 + x_aa(i)).

    When a chunk has fewer rows than a row group (on the CPU, a few rows), the chunks'
    float32 sums are first added into a float32 stage and moved into the float64 sums
    after every :data:`~infoprint.info.engine.ROW_GROUP_FLOAT32` rows: one float64 pass
    per row group, not per chunk.
    """

    def __init__(self, plan: PairwisePlan, dev: torch.device, dtype: torch.dtype) -> None:
        self.lock = threading.Lock()
        self.plan = plan
        self.mutual = torch.zeros(plan.n_a, plan.n_b, device=dev, dtype=_F64)
        self.stage = torch.zeros_like(self.mutual, dtype=dtype) if plan.staged else None
        self.staged_rows = 0
        self.log_mean_a = torch.zeros(plan.n_a, device=dev, dtype=_F64)
        self.log_mean_b = torch.zeros(plan.n_b, device=dev, dtype=_F64)
        self.shared_a = torch.zeros(plan.n_a, device=dev, dtype=_F64)
        self.shared_b = torch.zeros(plan.n_b, device=dev, dtype=_F64)

    def add(self, a_tile: slice, b_start: int, parts: Tensor, wide: Tensor) -> None:
        """Add a tile's row-group sums ``parts [groups, w, wb]``; ``wide`` is float64 scratch
        of at least ``tile × L`` elements."""
        if self.stage is not None:
            with self.lock:
                self.stage[a_tile, b_start:].add_(parts[0])
            return
        part = wide[: parts[0].numel()].view(parts.shape[1:])
        if parts.shape[0] == 1:
            part.copy_(parts[0])
        else:
            torch.sum(parts, 0, dtype=_F64, out=part)
        with self.lock:
            self.mutual[a_tile, b_start:].add_(part)

    def chunk_done(self, rows: int, wide: Tensor) -> None:
        """Count a finished chunk's rows; move the stage into the float64 sums when it holds
        a row group."""
        if self.stage is None:
            return
        with self.lock:
            self.staged_rows += rows
            if self.staged_rows >= ROW_GROUP_FLOAT32:
                self._flush(wide)

    def _flush(self, wide: Tensor) -> None:
        """Stage → float64 sums, ``tile`` rows at a time through ``wide`` (hold the lock)."""
        assert self.stage is not None
        t = self.plan.tile
        for p0 in range(0, self.plan.n_a, t):
            block = self.stage[p0 : p0 + t]
            self.mutual[p0 : p0 + t].add_(wide[: block.numel()].view(block.shape).copy_(block))
            block.zero_()
        self.staged_rows = 0

    def finish(self, n: int, self_mode: bool, tile: int) -> PairwiseInformation:
        """Divide by N and convert to bits (natural logs → log2); mirror in self mode."""
        if self.stage is not None:
            self._flush(self.mutual.new_empty(tile * self.plan.n_b))
            self.stage = None
        to_bits = 1.0 / (n * math.log(2.0))
        mutual = self.mutual.mul_(to_bits)
        info_a = self.log_mean_a.mul_(-to_bits).cpu()
        if self_mode:
            _symmetrize_from_upper_(mutual, tile)
            mutual = mutual.cpu()
            shared = torch.diagonal(mutual).clone()
            return PairwiseInformation(info_a, info_a, shared, shared, mutual)
        info_b = self.log_mean_b.mul_(-to_bits).cpu()
        shared_a, shared_b = (s.mul_(to_bits).cpu() for s in (self.shared_a, self.shared_b))
        return PairwiseInformation(info_a, info_b, shared_a, shared_b, mutual.cpu())


def _run_pairwise(
    a: ChannelSet,
    b: ChannelSet | None,
    plan: PairwisePlan,
    dev: torch.device,
    dtype: torch.dtype,
    progress: bool | ProgressCallback,
) -> PairwiseInformation:
    """Accumulate the sums over all probe rows chunk by chunk, then convert to bits."""
    n = plan.n_points
    sums = _Sums(plan, dev, dtype)

    def work(ws: _Workspace, rows: slice) -> None:
        for (a_tile, b_start), parts in _tile_log_sums(ws, plan, rows, sums):
            sums.add(a_tile, b_start, parts, ws.wide.flat)
        sums.chunk_done(rows.stop - rows.start, ws.wide.flat)

    make_workspace = partial(_Workspace, a, b, plan, dev, dtype)
    report = Progress(progress, n, "pairwise joint information")
    chunks = (n, plan.rows_per_chunk, plan.workers)
    run_pass((a, b), dev, dtype, chunks, make_workspace, work, report)
    return sums.finish(n, plan.self_mode, plan.tile)


class _Workspace:
    """One worker's buffers, allocated once and reused by all its chunks (docs §6).

    The coefficient rows of both sets, the tile products G (padded to whole row groups),
    the sums of each row group and their float64 sum, per row and channel of both sets the
    row mean m(i) and the 0/1 flag u(i) of rows left uncentred, and rows of ones: sums
    over rows are (batched) GEMVs with them, since torch.sum over the leading dimension
    takes a slow (cascade) path on the CPU, up to 100x slower.
    """

    def __init__(
        self,
        a: ChannelSet,
        b: ChannelSet | None,
        plan: PairwisePlan,
        dev: torch.device,
        dtype: torch.dtype,
    ) -> None:
        rpc, groups, k = plan.rows_per_chunk, plan.row_groups, plan.row_group
        tile_elems = plan.tile * plan.n_b
        self.rows_a = CoefficientRows(a, rpc, dev, dtype)
        self.rows_b = None if b is None else CoefficientRows(b, rpc, dev, dtype)
        self.g = ReusedBuffer(groups * k * tile_elems, dev, dtype)
        self.sums = ReusedBuffer(groups * tile_elems, dev, dtype)
        self.wide = ReusedBuffer(tile_elems, dev, _F64)
        self.row_a = ReusedBuffer(2 * rpc * plan.n_a, dev, dtype)
        self.row_b = None if b is None else ReusedBuffer(2 * rpc * plan.n_b, dev, dtype)
        self.ones = torch.ones(groups, 1, k, device=dev, dtype=dtype)


def log_row_means(t: Tensor, sums: Tensor) -> Tensor:
    """Σ_rows ln m(i) ``[M]`` (float64) of coefficient rows ``t [B, M, N]``, m(i) their row
    means; the row sums N m(i) (≥ 1 since C_ii = 1) are written into ``sums [B, M]``."""
    torch.sum(t, -1, out=sums)
    return sums.to(_F64, copy=True).mul_(1.0 / t.shape[-1]).log_().sum(0)


def scaled_rows_(t: Tensor, stats: Tensor, shared: bool) -> tuple[Tensor, Tensor, Tensor | None]:
    """Turn coefficient rows ``t [B, M, N]`` into Q = (C − c(i)) / (√N m(i)) in place.

    c(i) = m(i) (centred) where m(i) > 1/2, else 0; the second is exact too and keeps
    rows of informative channels (few C_ij away from 0) free of N small terms. Returns the
    flags u(i) ``[B, M]`` (1 where uncentred: x_ab(i) = (Q_a · Q_b)(i) − u_a(i) u_b(i)),
    Σ_rows ln m(i) ``[M]`` and, when ``shared``, Σ_rows ln(1 + x_aa(i)) ``[M]`` (float64).
    ``stats [2, B, M]`` holds N m(i), then the flags.
    """
    n = t.shape[-1]
    s, u = stats[0], stats[1]
    log_part = log_row_means(t, s)
    torch.le(s, 0.5 * n, out=u)  # 1.0 where left uncentred
    if t.device.type != "cpu" or not bool(u.all()):  # (on the CPU, skip a pass of zeros)
        t.sub_(torch.addcmul(s, s, u, value=-1.0)[..., None], alpha=1.0 / n)
    t.mul_(s.reciprocal_().mul_(math.sqrt(n))[..., None])
    shared_part = None
    if shared:
        x = torch.linalg.vector_norm(t, dim=-1).to(_F64).square_().sub_(u)
        shared_part = x.log1p_().sum(0)
    return u, log_part, shared_part


def _scaled_rows_into(
    t: Tensor, stats: Tensor, log_mean: Tensor, shared: Tensor | None, lock: threading.Lock
) -> Tensor:
    """:func:`scaled_rows_`, its sums added to ``log_mean`` and (unless ``None``)
    ``shared`` under ``lock``; returns the flags."""
    u, log_part, shared_part = scaled_rows_(t, stats, shared is not None)
    with lock:
        log_mean.add_(log_part)
        if shared is not None and shared_part is not None:
            shared.add_(shared_part)
    return u


def _tile_log_sums(
    ws: _Workspace, plan: PairwisePlan, rows: slice, sums: _Sums
) -> Iterator[tuple[tuple[slice, int], Tensor]]:
    """For each channel tile of A: ``((a_tile, b_start), sums)``, ``sums [groups, w, wb]``
    the Σ_i ln(1 + x_ab(i)) of each row group of ``rows`` (scales the rows first).

    In self mode only tiles on or above the diagonal (``b_start = a_tile.start``). The sums
    live in the workspace: use each before taking the next.
    """
    nr = rows.stop - rows.start
    ta = ws.rows_a(rows)  # [B, M, N]
    cross = ws.rows_b is not None
    stats_a = ws.row_a.view(2, nr, plan.n_a)
    shared_a = sums.shared_a if cross else None
    ua = _scaled_rows_into(ta, stats_a, sums.log_mean_a, shared_a, sums.lock)
    if ws.rows_b is None or ws.row_b is None:
        tb, ub = ta, ua
    else:
        tb, stats_b = ws.rows_b(rows), ws.row_b.view(2, nr, plan.n_b)
        ub = _scaled_rows_into(tb, stats_b, sums.log_mean_b, sums.shared_b, sums.lock)
    tbt = tb.transpose(1, 2)  # [B, N, L]
    if ta.device.type == "cpu" and not (bool(ua.any()) and bool(ub.any())):
        ua = ub = None  # no pair of uncentred rows: nothing to correct
    for p0 in range(0, plan.n_a, plan.tile):
        a_tile = slice(p0, min(p0 + plan.tile, plan.n_a))
        b_start = p0 if plan.self_mode else 0
        flags = None if ua is None or ub is None else (ua[:, a_tile], ub[:, b_start:])
        part = _log_row_sums(ws, plan.row_group, ta[:, a_tile], tbt[..., b_start:], flags)
        yield (a_tile, b_start), part


def _log_row_sums(
    ws: _Workspace, k: int, qa: Tensor, qbt: Tensor, flags: tuple[Tensor, Tensor] | None
) -> Tensor:
    """``[groups, w, wb]``: per group of ``k`` rows Σ_i ln(1 + x(i)) with
    ``x(i) = qa[i] @ qbt[i] − ua[i]ᵀ ub[i]`` = N s_ab(i) / (s_a(i) s_b(i)) − 1 > −1, where
    ``flags = (ua, ub)`` (``None``: all 0). Padding rows are 0 (ln 1)."""
    nr, w, nb = qa.shape[0], qa.shape[1], qbt.shape[2]
    ng = -(-nr // k)
    g = ws.g.view(ng * k, w, nb)
    torch.bmm(qa, qbt, out=g[:nr])
    if flags is not None:
        g[:nr].addcmul_(flags[0][:, :, None], flags[1][:, None, :], value=-1.0)
    g[:nr].log1p_()
    if ng > 1 and ng * k > nr:
        g[nr:].zero_()
    sums = ws.sums.view(ng, 1, w * nb)
    if ng == 1:
        torch.mm(ws.ones[0, :, :nr], g[:nr].view(nr, w * nb), out=sums[0])
    else:
        torch.bmm(ws.ones[:ng], g.view(ng, k, w * nb), out=sums)
    return sums.view(ng, w, nb)


def _symmetrize_from_upper_(x: Tensor, block: int) -> None:
    """In place: copy the upper triangle (tiles on and above the diagonal) to the lower one,
    block by block, so that no second ``M × M`` tensor is needed."""
    m = x.shape[0]
    for p0 in range(0, m, block):
        p1 = min(p0 + block, m)
        d = x[p0:p1, p0:p1]
        d.copy_(torch.triu(d) + torch.triu(d, 1).T)  # block x block temporaries
        if p0 > 0:
            x[p0:p1, :p0].copy_(x[:p0, p0:p1].T)
