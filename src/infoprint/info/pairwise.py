"""Pairwise joint information of channel sets by batched GEMM over probe rows.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 3 (Eq. for I(U;V) through the
Bhattacharyya coefficient matrices), in the GEMM form of docs/architecture.md §5:

    s_ab(i) = Σ_j C_a[i, j] C_b[i, j] = (T_i T_iᵀ)[a, b],     T[i, a, j] = C_a[i, j],
    I_ab    = −(1/N) Σ_i log2(s_ab(i) / N) = log2 N − (1/N) Σ_i log2 s_ab(i).

For a = b this is I(UU') (coefficients C∘C). The probe rows i are processed in chunks
whose size follows from ``memory_budget``; within a chunk the channel axis is cut into
tiles and, in self mode, only the tiles on or above the diagonal are multiplied
(``G = T[:, tile] @ T[:, tile_start:]ᵀ``), so about half of the M² products are skipped.
No Python loop runs over pairs; the only Python loops are over row chunks and channel
tiles. Since 1 ≤ s_ab(i) ≤ N, the values of up to k rows (N^k within the dtype's range,
k ≤ 16) are multiplied before a single log2, and row sums are GEMVs with a row of ones.

On the CPU the row chunks are processed by W worker threads (default: torch's thread
count) with single-threaded ops and their own buffers, which keeps the engine fast on a
machine shared with other processes. The plan (rows per chunk, tile, row groups), the
reused buffers, the workers and the memory accounting are the engine's:
:mod:`infoprint.info.engine`, docs/architecture.md §6.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from functools import partial

import torch
from torch import Tensor

from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    CoefficientRows,
    PairwisePlan,
    Progress,
    ProgressCallback,
    ReusedBuffer,
    check_same_probe_set,
    checked_itemsize,
    coefficient_buffers,
    cpu_chunk_cap,
    cpu_scratch,
    default_workers,
    for_each_chunk,
    plan_pairwise,
    prepare,
    single_threaded_ops,
)

__all__ = ["pairwise_joint_information"]


def pairwise_joint_information(
    a: ChannelSet,
    b: ChannelSet | None = None,
    *,
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: bool | ProgressCallback = False,
    tile: int | None = None,
    workers: int | None = None,
) -> Tensor:
    """Joint information I(U_a V_b) in bits for all pairs of channels, by batched GEMM.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; docs/architecture.md
    §5: ``I_ab = −(1/N) Σ_i log2((1/N) Σ_j C_a[i, j] C_b[i, j])``.

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
    a = as_channel_set(a)
    if b is not None:
        b = as_channel_set(b)
        check_same_probe_set(a, b)
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
        max_chunk_bytes=cpu_chunk_cap(dev),
        scratch_elems=cpu_scratch(dev),
        workers=default_workers(dev, workers),
    )
    return _run_pairwise(a, b, plan, dev, dtype, progress)


def _run_pairwise(
    a: ChannelSet,
    b: ChannelSet | None,
    plan: PairwisePlan,
    dev: torch.device,
    dtype: torch.dtype,
    progress: bool | ProgressCallback,
) -> Tensor:
    """Sum log2 s_ab(i) over all probe rows chunk by chunk, then I_ab (self mode: mirrored)."""
    n = plan.n_points
    acc = torch.zeros(plan.n_a, plan.n_b, device=dev, dtype=dtype)
    lock = threading.Lock()

    def work(ws: _Workspace, rows: slice) -> None:
        for (a_tile, b_start), sums in _tile_log_sums(ws, plan, rows):
            with lock:
                acc[a_tile, b_start:].add_(sums)

    with torch.no_grad(), single_threaded_ops(dev.type == "cpu"):
        for cs in (a, b):
            if cs is not None:
                prepare(cs, dev, dtype)
        make_workspace = partial(_Workspace, a, b, plan, dev, dtype)
        report = Progress(progress, n, "pairwise joint information")
        for_each_chunk(n, plan.rows_per_chunk, plan.workers, make_workspace, work, report)
        out = acc.div_(-n).add_(math.log2(n))
        if b is None:
            _symmetrize_from_upper_(out, plan.tile)
    return out.cpu()


class _Workspace:
    """One worker's buffers, allocated once and reused by all its chunks (docs §6).

    The coefficient rows of both sets, the tile products G (padded to whole row groups),
    the products of ``row_group`` rows, their sums over rows, and a row of ones: sums over
    rows are GEMVs with it, since torch.sum over the leading dimension takes a slow
    (cascade) path on the CPU, up to 100x slower.
    """

    def __init__(
        self,
        a: ChannelSet,
        b: ChannelSet | None,
        plan: PairwisePlan,
        dev: torch.device,
        dtype: torch.dtype,
    ) -> None:
        rpc, groups, tile_elems = plan.rows_per_chunk, plan.row_groups, plan.tile * plan.n_b
        self.rows_a = CoefficientRows(a, rpc, dev, dtype)
        self.rows_b = None if b is None else CoefficientRows(b, rpc, dev, dtype)
        self.g = ReusedBuffer(groups * plan.row_group * tile_elems, dev, dtype)
        self.products = ReusedBuffer(groups * tile_elems, dev, dtype)
        self.sums = ReusedBuffer(tile_elems, dev, dtype)
        self.ones = torch.ones(1, groups, device=dev, dtype=dtype)


def _tile_log_sums(
    ws: _Workspace, plan: PairwisePlan, rows: slice
) -> Iterator[tuple[tuple[slice, int], Tensor]]:
    """For each channel tile of A: ``((a_tile, b_start), Σ_i log2 s_ab(i))`` over ``rows``.

    In self mode only tiles on or above the diagonal (``b_start = a_tile.start``). The sums
    live in the workspace: use each before taking the next.
    """
    ta = ws.rows_a(rows)  # [B, M, N]
    tbt = (ta if ws.rows_b is None else ws.rows_b(rows)).transpose(1, 2)  # [B, N, L]
    for p0 in range(0, plan.n_a, plan.tile):
        a_tile = slice(p0, min(p0 + plan.tile, plan.n_a))
        b_start = p0 if plan.self_mode else 0
        yield (
            (a_tile, b_start),
            _log_row_sums(ws, plan.row_group, ta[:, a_tile], tbt[..., b_start:]),
        )


def _log_row_sums(ws: _Workspace, k: int, ta: Tensor, tbt: Tensor) -> Tensor:
    """``[w, wb]`` Σ_i log2 G_i with ``G_i = ta[i] @ tbt[i]``, one log2 per ``k`` rows.

    G >= C_a[i,i] C_b[i,i] = 1 and G <= N, so a product of k rows stays in range; padding
    rows are 1 (log2 1 = 0).
    """
    nr, w, wb = ta.shape[0], ta.shape[1], tbt.shape[2]
    ng = -(-nr // k)
    g = ws.g.view(ng * k, w, wb)
    torch.bmm(ta, tbt, out=g[:nr])
    if ng * k > nr:
        g[nr:].fill_(1.0)
    prod = ws.products.view(ng, w * wb)
    torch.prod(g.view(ng, k, w * wb), 1, out=prod)
    prod.log2_()
    sums = ws.sums.view(1, w * wb)
    torch.mm(ws.ones[:, :ng], prod, out=sums)
    return sums.view(w, wb)


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
