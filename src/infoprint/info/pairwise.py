"""Pairwise joint information of channel sets by batched GEMM over probe rows.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 3 (Eq. for I(U;V) through the
Bhattacharyya coefficient matrices), in the GEMM form of DESIGN §3:

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
machine shared with other processes (see :mod:`infoprint.info._workers`).

Memory accounting (``memory_budget``, bytes): everything the engine allocates — the
``M × L`` accumulator (which becomes the result) and, for each of the W workers, one
row-summed tile (``tile × L``), the reused coefficient buffers of both sets for a chunk of
probe rows (``rows × M × N`` and ``rows × L × N``), the scratch used to build them (on
the CPU one cache-sized block, at most 4 MiB in float32, kept per thread by the channel
set between calls; on a GPU a second full buffer; a set without ``supports_out`` counts
``coefficient_buffers`` full buffers instead) and the reused GEMM output and row-product
buffers (about ``2 × rows × tile × L``). Not counted: the channel sets' own cached
parameters (4·M·N elements for :class:`~infoprint.info.channels.GaussianChannels`), the
CPU copy of the result when computing on a GPU, and the engine's fixed overhead, paid once
per process by its first call and kept for the process: loaded code and the BLAS library's
GEMM packing workspace (MKL, measured on an AVX-512 CPU: 3.2–3.8 MiB of workspace, 17–22
MiB with code on the first call; the size depends on the CPU's kernels). From the second
call on, measured peaks stay within the plan (``PairwisePlan.working_bytes``):
``tests/unit/info/test_info_pairwise_memory.py`` measures them with glibc's mmap threshold
fixed, since its default dynamic threshold keeps freed buffers in the heap and hides them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ._workers import default_workers, for_each_chunk, single_threaded_ops
from .channels import CPU_BLOCK_ELEMS as _SCRATCH_ELEMS
from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device

__all__ = [
    "CPU_CHUNK_BYTES",
    "DEFAULT_MEMORY_BUDGET",
    "PairwisePlan",
    "ProgressCallback",
    "pairwise_joint_information",
    "plan_pairwise",
]

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET = 512 * 2**20
"""Default working-memory budget: 512 MiB."""

CPU_CHUNK_BYTES = 4 * 2**20
"""On the CPU, row chunks are capped so that one coefficient buffer stays below this size:
more rows per chunk are no faster there (each row's GEMM is already large), they only
take memory."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``callback(rows_done, rows_total)`` after every chunk of probe rows."""


@dataclass(frozen=True)
class PairwisePlan:
    """How a pairwise computation is cut up to stay within its memory budget."""

    n_points: int
    n_a: int
    n_b: int
    self_mode: bool
    itemsize: int
    rows_per_chunk: int
    tile: int
    row_group: int
    """Rows whose G values are multiplied before one log2 (exact bound: G <= N)."""
    workers: int
    """CPU worker threads, each with its own chunk buffers (1 on a GPU)."""
    working_bytes: int
    """Planned peak of everything the engine allocates (see the module docstring)."""

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_points / self.rows_per_chunk)


def _default_tile(n_a: int) -> int:
    # About 8 row blocks: self mode then multiplies ~56 % of the M² products while every
    # GEMM stays large enough to run near peak speed.
    return max(1, min(n_a, max(64, min(1024, math.ceil(n_a / 8)))))


def _row_group(n_points: int, itemsize: int) -> int:
    """How many probe rows' G values can be multiplied before the log without overflow.

    1 <= G_i[a, b] <= N, so a product of k rows is at most N^k; k is kept below the
    dtype's range (float32: N^k < 3e38) and at most 16. One log2 per k rows replaces k.
    """
    log_max = math.log(3.0e38 if itemsize <= 4 else 1.0e307)
    return max(1, min(16, int(log_max / math.log(max(n_points, 2))) - 1))


def build_elems(rows: int, channels: int, n: int, buffers: int, scratch: int | None) -> int:
    """Elements alive while ``rows`` coefficient rows of a set are built and held.

    ``buffers == 1``: the set writes into the engine's reused ``[rows, channels, N]`` buffer
    and needs scratch: on the CPU at most ``scratch`` elements (a cache-sized block, at
    least one channel), on a GPU (``scratch=None``) a second full buffer.
    ``buffers > 1``: the set allocates that many full buffers at its peak.
    """
    full = rows * channels * n
    if buffers > 1:
        return buffers * full
    extra = full if scratch is None else min(full, max(scratch, rows * n))
    return full + extra


def plan_pairwise(
    n_points: int,
    n_a: int,
    n_b: int | None = None,
    *,
    itemsize: int = 4,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    buffers_a: int = 1,
    buffers_b: int = 1,
    tile: int | None = None,
    max_chunk_bytes: int | None = None,
    scratch_elems: int | None = None,
    workers: int = 1,
) -> PairwisePlan:
    """Choose rows per chunk and channel tile so the working set fits ``memory_budget``.

    ``n_b=None`` means self mode (a against a). ``buffers_*`` and ``scratch_elems`` as in
    :func:`build_elems` (the engine passes the CPU block size on the CPU, ``None`` on a
    GPU). ``max_chunk_bytes`` additionally caps the rows per chunk so that one
    ``[rows, max(M, L), N]`` buffer stays below it. ``workers`` chunks are in flight at
    once, each with its own buffers. Raises :class:`ValueError` when even
    a single probe row does not fit, naming the smallest budget that would.
    """
    self_mode = n_b is None
    nb = n_a if n_b is None else n_b
    t = _default_tile(n_a) if tile is None else max(1, min(int(tile), n_a))
    n = n_points
    k = _row_group(n, itemsize)

    def working(rows: int) -> int:
        # the accumulator, then per worker: row-summed tile, reused GEMM output and product
        # buffers, coefficient rows (the blockwise symmetrising step at the end needs 3
        # tile x tile temporaries, less than the freed buffers)
        kk = min(k, rows)
        groups = -(-rows // kk)
        per_worker = t * nb + (groups * kk + groups) * t * nb
        per_worker += build_elems(rows, n_a, n, buffers_a, scratch_elems)
        if not self_mode:
            per_worker += build_elems(rows, nb, n, buffers_b, scratch_elems)
        return (n_a * nb + workers * per_worker) * itemsize

    if working(1) > memory_budget:
        raise ValueError(
            f"memory_budget={memory_budget} bytes is too small for {n_a} x {nb} channels on "
            f"{n} probe points; at least {working(1)} bytes are needed"
        )
    hi = n
    if max_chunk_bytes is not None:
        hi = min(hi, max(1, max_chunk_bytes // (max(n_a, nb) * n * itemsize)))
    lo = 1  # working() is increasing in rows: largest rows in [1, hi] that fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if working(mid) <= memory_budget else (lo, mid - 1)
    return PairwisePlan(
        n_points=n,
        n_a=n_a,
        n_b=nb,
        self_mode=self_mode,
        itemsize=itemsize,
        rows_per_chunk=lo,
        tile=t,
        row_group=min(k, lo),
        workers=workers,
        working_bytes=working(lo),
    )


class _Progress:
    """Reports rows done via a callback, or via logging (INFO) at most every 5 s."""

    def __init__(self, progress: bool | ProgressCallback, total: int, what: str) -> None:
        self.callback = progress if callable(progress) else None
        self.use_log = progress is True
        self.total, self.what = total, what
        self.t0 = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        if self.callback is not None:
            self.callback(done, self.total)
        if self.use_log:
            now = time.perf_counter()
            if now - self.last >= 5.0 or done == self.total:
                self.last = now
                el = now - self.t0
                eta = el / done * (self.total - done) if done else float("nan")
                log.info(
                    "%s: %d/%d probe rows (%.0f%%), %.1f s elapsed, ~%.1f s left",
                    self.what,
                    done,
                    self.total,
                    100.0 * done / self.total,
                    el,
                    eta,
                )


def _build_buffers(cs: ChannelSet) -> int:
    """``[rows, channels, N]`` buffers a set needs to build rows: 1 when it writes into the
    engine's reused buffer (``supports_out``), else its ``coefficient_buffers`` (default 2)."""
    if getattr(cs, "supports_out", False):
        return 1
    return int(getattr(cs, "coefficient_buffers", 2))


def _check_pair(a: ChannelSet, b: ChannelSet) -> None:
    if a.n_points != b.n_points:
        raise ValueError(
            f"channel sets are on different probe sets: {a.n_points} vs {b.n_points} points"
        )


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

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; DESIGN §3:
    ``I_ab = −(1/N) Σ_i log2((1/N) Σ_j C_a[i, j] C_b[i, j])``.

    Args:
        a: channel set with M channels.
        b: channel set with L channels on the same probe points, or ``None`` for self mode.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda[:k]"`` or a device.
        dtype: computation dtype, ``torch.float32`` (default) or ``torch.float64``.
        memory_budget: bytes of working memory (see module docstring for what counts).
        progress: ``True`` logs progress at INFO level on the ``infoprint.info.pairwise``
            logger; a callable is called as ``progress(rows_done, rows_total)``.
        tile: channel tile size (default: about M/8, within [64, 1024]).
        workers: CPU worker threads (default ``torch.get_num_threads()``); see
            :mod:`infoprint.info._workers`. With more than one, float rounding of the sums
            may differ between runs (the order of additions varies).

    Returns:
        Self mode: symmetric ``[M, M]`` tensor whose diagonal is I(UU') (i.e. C∘C).
        Cross mode: ``[M, L]`` tensor. On the CPU, in ``dtype``.
    """
    a = as_channel_set(a)
    if b is not None:
        b = as_channel_set(b)
        _check_pair(a, b)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype}")
    dev = resolve_device(device)
    n, m = a.n_points, a.n_channels
    plan = plan_pairwise(
        n,
        m,
        None if b is None else b.n_channels,
        itemsize=torch.empty((), dtype=dtype).element_size(),
        memory_budget=memory_budget,
        buffers_a=_build_buffers(a),
        buffers_b=1 if b is None else _build_buffers(b),
        tile=tile,
        max_chunk_bytes=CPU_CHUNK_BYTES if dev.type == "cpu" else None,
        scratch_elems=_SCRATCH_ELEMS if dev.type == "cpu" else None,
        workers=default_workers(dev, workers),
    )
    return _run_pairwise(a, b, plan, dev, dtype, progress)


def _out_buffer(cs: ChannelSet, rows: int, dev: torch.device, dtype: torch.dtype) -> Tensor | None:
    """A flat reusable buffer for ``rows`` coefficient rows if the set can write into it."""
    if not getattr(cs, "supports_out", False):
        return None
    return torch.empty(rows * cs.n_channels * cs.n_points, device=dev, dtype=dtype)


def _coefficient_rows(
    cs: ChannelSet, rows: slice, dev: torch.device, dtype: torch.dtype, buf: Tensor | None
) -> Tensor:
    """``cs.coefficient_rows``, written into the flat buffer ``buf`` when the set allows."""
    if buf is not None and getattr(cs, "supports_out", False):
        shape = (rows.stop - rows.start, cs.n_channels, cs.n_points)
        out = buf[: math.prod(shape)].view(shape)
        return cs.coefficient_rows(rows, dev, dtype, out=out)  # type: ignore[call-arg]
    return cs.coefficient_rows(rows, dev, dtype)


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


def _run_pairwise(
    a: ChannelSet,
    b: ChannelSet | None,
    plan: PairwisePlan,
    dev: torch.device,
    dtype: torch.dtype,
    progress: bool | ProgressCallback,
) -> Tensor:
    n, m, nb, t, rpc = plan.n_points, plan.n_a, plan.n_b, plan.tile, plan.rows_per_chunk
    k = plan.row_group
    n_groups = -(-rpc // k)
    acc = torch.zeros(m, nb, device=dev, dtype=dtype)
    acc_lock = threading.Lock()

    def make_state() -> dict[str, Tensor | None]:
        # Work buffers of one worker, allocated once and reused by all its chunks.
        return {
            "a": _out_buffer(a, rpc, dev, dtype),
            "b": None if b is None else _out_buffer(b, rpc, dev, dtype),
            "g": torch.empty(n_groups * k * t * nb, device=dev, dtype=dtype),  # G, padded
            "p": torch.empty(n_groups * t * nb, device=dev, dtype=dtype),  # products of k rows
            "s": torch.empty(1, t * nb, device=dev, dtype=dtype),
            # sums over rows as a GEMV with a row of ones: torch.sum over the leading
            # dimension takes a slow (cascade) path on the CPU, up to 100x slower
            "ones": torch.ones(1, n_groups, device=dev, dtype=dtype),
        }

    def work(st: dict[str, Tensor | None], rows: slice) -> None:
        buf_g, buf_p, buf_s, ones = st["g"], st["p"], st["s"], st["ones"]
        assert buf_g is not None and buf_p is not None and buf_s is not None
        assert ones is not None
        nr = rows.stop - rows.start
        ta = _coefficient_rows(a, rows, dev, dtype, st["a"])  # [B, M, N]
        if b is None:
            tb, c0 = ta, True
        else:
            tb, c0 = _coefficient_rows(b, rows, dev, dtype, st["b"]), False
        tbt = tb.transpose(1, 2)
        ng = -(-nr // k)
        for p0 in range(0, m, t):
            p1 = min(p0 + t, m)
            q0 = p0 if c0 else 0  # self mode: only tiles on or above the diagonal
            w, wb = p1 - p0, nb - q0
            g = buf_g[: ng * k * w * wb].view(ng * k, w, wb)
            torch.bmm(ta[:, p0:p1], tbt[:, :, q0:], out=g[:nr])
            if ng * k > nr:
                g[nr:].fill_(1.0)  # padding rows: log2(1) = 0
            # Π over k rows, then one log2: G >= C_a[i,i] C_b[i,i] = 1, product <= N^k
            prod = buf_p[: ng * w * wb].view(ng, w * wb)
            torch.prod(g.view(ng, k, w * wb), 1, out=prod)
            prod.log2_()
            s = buf_s[:, : w * wb]
            torch.mm(ones[:, :ng], prod, out=s)
            with acc_lock:
                acc[p0:p1, q0:].add_(s.view(w, wb))

    report = _Progress(progress, n, "pairwise joint information")
    with torch.no_grad(), single_threaded_ops(dev.type == "cpu"):
        _warm(a, dev, dtype)
        if b is not None:
            _warm(b, dev, dtype)
        for_each_chunk(n, rpc, plan.workers, make_state, work, report)
        out = acc.div_(-n).add_(math.log2(n))
        if b is None:
            _symmetrize_from_upper_(out, t)
    return out.cpu()


def _warm(cs: ChannelSet, dev: torch.device, dtype: torch.dtype) -> None:
    """Fill a channel set's converted-parameter cache before workers share it."""
    prepare = getattr(cs, "prepare", None)
    if callable(prepare):
        prepare(dev, dtype)
