"""The info engine: plans, reused buffers, CPU workers and progress of the chunked passes.

docs/architecture.md §6. Every measure of :mod:`infoprint.info` (Murphy, Dillavou &
Bassett, TMLR 2025, arXiv 2405.21042, Sec. 3, 4.3 and 4.4) is a pass over chunks of probe
rows (or Monte Carlo samples) whose size follows from one ``memory_budget`` in bytes. This
module owns, for all of them:

* the planners: :func:`plan_pairwise` (pairwise joint information), :func:`plan_information`
  (information of single channels), :func:`plan_fusion` (the members of a fusion) and
  :func:`plan_samples` (Monte Carlo samples), all sizing their chunks with one search,
  :func:`largest_fitting`;
* reused buffers: :class:`ReusedBuffer` (one flat allocation viewed in any shape that fits)
  and :class:`CoefficientRows` (a channel set's rows built into one reused buffer);
* CPU worker scheduling: :func:`for_each_chunk`, :func:`default_workers`,
  :func:`single_threaded_ops`;
* progress reporting: :class:`Progress`.

Memory accounting. ``memory_budget`` bounds everything a pass allocates that grows with
its inputs:

* pairwise joint information (:func:`plan_pairwise`): the float64 ``M × L`` and
  per-channel sums and, for each of the W workers, the reused coefficient buffers of both
  sets for a chunk of probe rows (``rows × M × N`` and ``rows × L × N``), the scratch used
  to build them (:func:`build_elems`: on the CPU one cache-sized block, at most 512 KiB in
  float32, kept per thread by the channel set between calls; on a GPU a second full
  buffer; a set without ``supports_out`` counts ``coefficient_buffers`` full buffers
  instead), the reused GEMM output (``rows × tile × L``, padded to whole row groups), the
  row groups' sums (``groups × tile × L``) and their float64 sum (``tile × L``), the row
  statistics of both sets and their temporaries (``6 × rows × (M + L)``); for float32
  chunks of fewer than 16 rows an ``M × L`` float32 stage (see
  :attr:`PairwisePlan.staged`); after the workers, the ``M × L`` result in the
  computation dtype;
* information (:func:`plan_information`): one accumulator per power and, per worker, the
  coefficient rows of a chunk and their ``rows × M`` row sums;
* fusion (:func:`plan_fusion`): the members' dense ``N × M × N`` coefficients when they fit
  (else rows are rebuilt per chunk in float64 and rounded) and two float64
  ``rows × M × N`` temporaries per chunk;
* Monte Carlo (:func:`plan_samples`): per sample, the log densities of both reads against
  a chunk of points, the ``R × R`` joint terms and the noise.

Not counted: the channel sets' own cached parameters (4·M·N elements for
:class:`~infoprint.info.channels.GaussianChannels`), the CPU copy of a result computed on
a GPU, the fused embedding's own ``N × N`` matrices and autograd graph, and the engine's
fixed overhead, paid once per process by its first call and kept for the process: loaded
code and the BLAS library's GEMM packing workspace (MKL, measured on an AVX-512 CPU:
3.2–3.8 MiB of workspace, 17–22 MiB with code on the first call; the size depends on the
CPU's kernels). From the second call on, measured peaks of the pairwise pass stay within
its plan (``PairwisePlan.working_bytes``): ``tests/unit/info/test_info_pairwise_memory.py``
measures them with glibc's mmap threshold fixed, since its default dynamic threshold keeps
freed buffers in the heap and hides them.

CPU workers. The inner loop of a pass is a handful of elementwise ops and GEMMs per chunk.
With torch's intra-op (OpenMP) threads, every op is a parallel region whose end waits for
all threads; on a machine shared with other processes a descheduled thread makes each
region wait a scheduler time slice (milliseconds), and thousands of regions then cost far
more than the arithmetic. So on the CPU the engine instead runs W Python threads (torch
releases the GIL inside ops), each with single-threaded ops on its own chunks and its own
buffers: no barriers at all, and the same speed on an idle machine. torch's intra-op
thread count is set to 1 for the duration of the call and restored after (a process-wide
setting, so other threads of the process see it meanwhile).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypedDict, TypeVar

import torch
from torch import Tensor

from .channels import CPU_BLOCK_ELEMS, ChannelSet, as_channel_set

__all__ = [
    "CPU_CHUNK_BYTES",
    "DEFAULT_MEMORY_BUDGET",
    "ROW_GROUP_FLOAT32",
    "ChunkTurns",
    "CoefficientRows",
    "FusionPlan",
    "PairwisePlan",
    "PassLimits",
    "Progress",
    "ProgressCallback",
    "ReusedBuffer",
    "build_elems",
    "check_same_probe_set",
    "checked_itemsize",
    "checked_sets",
    "coefficient_buffers",
    "cpu_chunk_cap",
    "cpu_scratch",
    "default_workers",
    "for_each_chunk",
    "largest_fitting",
    "pass_limits",
    "plan_fusion",
    "plan_information",
    "plan_pairwise",
    "plan_samples",
    "prepare",
    "row_cap",
    "run_pass",
    "single_threaded_ops",
]

log = logging.getLogger(__name__)

S = TypeVar("S")

DEFAULT_MEMORY_BUDGET = 512 * 2**20
"""Default working-memory budget of every pass: 512 MiB."""

CPU_CHUNK_BYTES = 4 * 2**20
"""On the CPU, row chunks are capped so that one coefficient buffer stays below this size:
more rows per chunk are no faster there (each row's GEMM is already large), they only
take memory."""

_F64_BYTES = 8

ProgressCallback = Callable[[int, int], None]
"""Called as ``callback(done, total)`` after every chunk."""


# ---------------------------------------------------------------- checks of the inputs


def checked_itemsize(dtype: torch.dtype) -> int:
    """Bytes per element of a computation dtype; only float32 and float64 are allowed."""
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64; got {dtype}")
    return torch.empty((), dtype=dtype).element_size()


def check_same_probe_set(a: ChannelSet, b: ChannelSet) -> None:
    """Raise :class:`ValueError` unless both channel sets are on the same N probe points."""
    if a.n_points != b.n_points:
        raise ValueError(
            f"channel sets are on different probe sets: {a.n_points} vs {b.n_points} points"
        )


def checked_sets(a: object, b: object | None) -> tuple[ChannelSet, ChannelSet | None]:
    """``a`` and ``b`` (``None``: self mode) as channel sets on the same probe points."""
    a = as_channel_set(a)
    if b is None:
        return a, None
    b = as_channel_set(b)
    check_same_probe_set(a, b)
    return a, b


# ---------------------------------------------------------------- the row-chunk search


def largest_fitting(
    working: Callable[[int], int], memory_budget: int, upper: int, what: str
) -> int:
    """Largest count in ``[1, upper]`` whose ``working(count)`` bytes fit ``memory_budget``.

    ``working`` must be increasing (binary search). Raises :class:`ValueError` when even a
    count of 1 does not fit, naming the smallest budget that would; ``what`` names the
    problem in that message (e.g. ``"300 x 300 channels on 200 probe points"``).
    """
    if working(1) > memory_budget:
        raise ValueError(
            f"memory_budget={memory_budget} bytes is too small for {what}; at least "
            f"{working(1)} bytes are needed"
        )
    lo, hi = 1, max(1, upper)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if working(mid) <= memory_budget else (lo, mid - 1)
    return lo


def row_cap(n_points: int, row_bytes: int, max_chunk_bytes: int | None) -> int:
    """Rows per chunk allowed by ``max_chunk_bytes`` (all N when ``None``), at least 1."""
    if max_chunk_bytes is None:
        return n_points
    return min(n_points, max(1, max_chunk_bytes // row_bytes))


def cpu_chunk_cap(device: torch.device) -> int | None:
    """``max_chunk_bytes`` of a pass on ``device``: :data:`CPU_CHUNK_BYTES` on the CPU."""
    return CPU_CHUNK_BYTES if device.type == "cpu" else None


def cpu_scratch(device: torch.device) -> int | None:
    """``scratch_elems`` of a pass on ``device``: the channel sets' CPU block size on the
    CPU, ``None`` (a full second buffer) elsewhere."""
    return CPU_BLOCK_ELEMS if device.type == "cpu" else None


class PassLimits(TypedDict):
    """What the device of a pass sets in its plan: the planners' keyword arguments."""

    max_chunk_bytes: int | None
    scratch_elems: int | None
    workers: int


def pass_limits(device: torch.device, workers: int | None) -> PassLimits:
    """:func:`cpu_chunk_cap`, :func:`cpu_scratch` and :func:`default_workers` of a pass on
    ``device``, to pass to :func:`plan_pairwise` or :func:`plan_information`."""
    return PassLimits(
        max_chunk_bytes=cpu_chunk_cap(device),
        scratch_elems=cpu_scratch(device),
        workers=default_workers(device, workers),
    )


# ---------------------------------------------------------------- what building rows costs


def coefficient_buffers(cs: ChannelSet) -> int:
    """``[rows, channels, N]`` buffers a set needs to build rows: 1 when it writes into the
    engine's reused buffer (``supports_out``), else its ``coefficient_buffers`` (default 2)."""
    if getattr(cs, "supports_out", False):
        return 1
    return int(getattr(cs, "coefficient_buffers", 2))


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


# ---------------------------------------------------------------- planners


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
    """Rows summed in the computation dtype before their sum joins the float64 one."""
    workers: int
    """CPU worker threads, each with its own chunk buffers (1 on a GPU)."""
    working_bytes: int
    """Planned peak of everything the pass allocates (see the module docstring)."""

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_points / self.rows_per_chunk)

    @property
    def row_groups(self) -> int:
        """Groups of ``row_group`` rows in a full chunk (the last one padded)."""
        return -(-self.rows_per_chunk // self.row_group)

    @property
    def staged(self) -> bool:
        """float32 chunks of fewer rows than a row group: their sums are staged in an
        ``M × L`` float32 tensor and moved into the float64 sums once per row group."""
        return _staged(self.rows_per_chunk, self.itemsize)


ROW_GROUP_FLOAT32 = 16
"""Probe rows whose float32 terms are summed in float32 before joining a float64 sum:
the relative rounding of a sum of k terms grows with k (at most ~k/2 ulp)."""


def _row_group(rows: int, itemsize: int) -> int:
    return min(rows, ROW_GROUP_FLOAT32) if itemsize <= 4 else rows


def _staged(rows: int, itemsize: int) -> bool:
    return itemsize <= 4 and rows < ROW_GROUP_FLOAT32


def _default_tile(n_a: int) -> int:
    # About 8 row blocks: self mode then multiplies ~56 % of the M² products while every
    # GEMM stays large enough to run near peak speed.
    return max(1, min(n_a, max(64, min(1024, math.ceil(n_a / 8)))))


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
    nb = n_a if n_b is None else n_b
    t = _default_tile(n_a) if tile is None else max(1, min(int(tile), n_a))

    def working(rows: int) -> int:
        # float64 sums (M x L, and per channel), then per worker: reused GEMM output padded
        # to whole row groups, the groups' sums (and their float64 sum), the row statistics
        # of both sets and their temporaries, coefficient rows; after the workers, the
        # result in the computation dtype (the blockwise symmetrising step needs 3 tile x
        # tile temporaries, less than the freed buffers)
        k = _row_group(rows, itemsize)
        groups = -(-rows // k)
        per_worker = (groups * k + groups) * t * nb + 6 * rows * (n_a + nb)
        per_worker += build_elems(rows, n_a, n_points, buffers_a, scratch_elems)
        if n_b is not None:
            per_worker += build_elems(rows, nb, n_points, buffers_b, scratch_elems)
        per_worker_bytes = per_worker * itemsize + t * nb * _F64_BYTES  # + float64 tile sum
        wide = (n_a * nb + 2 * (n_a + nb)) * _F64_BYTES
        stage = n_a * nb * itemsize if _staged(rows, itemsize) else 0
        result = n_a * nb * itemsize if itemsize < _F64_BYTES else 0
        return wide + max(stage + workers * per_worker_bytes, stage + t * nb * _F64_BYTES, result)

    upper = row_cap(n_points, max(n_a, nb) * n_points * itemsize, max_chunk_bytes)
    what = f"{n_a} x {nb} channels on {n_points} probe points"
    rows = largest_fitting(working, memory_budget, upper, what)
    return PairwisePlan(
        n_points=n_points,
        n_a=n_a,
        n_b=nb,
        self_mode=n_b is None,
        itemsize=itemsize,
        rows_per_chunk=rows,
        tile=t,
        row_group=_row_group(rows, itemsize),
        workers=workers,
        working_bytes=working(rows),
    )


def plan_information(
    n_points: int,
    n_channels: int,
    n_powers: int,
    *,
    itemsize: int,
    memory_budget: int,
    buffers: int,
    max_chunk_bytes: int | None,
    scratch_elems: int | None,
    workers: int,
) -> int:
    """Rows per chunk of the information pass (``n_powers`` powers of C in one pass).

    Counts one ``[M]`` accumulator per power and, per worker, the coefficient rows of a
    chunk (:func:`build_elems`) and their ``rows × M`` row sums.
    """
    m, n = n_channels, n_points

    def working(rows: int) -> int:
        per_worker = build_elems(rows, m, n, buffers, scratch_elems) + rows * m
        return (n_powers * m + workers * per_worker) * itemsize

    upper = row_cap(n, m * n * itemsize, max_chunk_bytes)
    return largest_fitting(working, memory_budget, upper, f"{m} channels on {n} probe points")


@dataclass(frozen=True)
class FusionPlan:
    """How the members' coefficients of a fusion are held within the memory budget."""

    store_dense: bool
    """Keep the dense ``[N, M, N]`` coefficients (else rebuild rows for every chunk)."""
    rows_per_chunk: int
    working_bytes: int


def plan_fusion(
    n_points: int,
    n_members: int,
    *,
    itemsize: int,
    memory_budget: int,
    buffers: int,
    max_chunk_bytes: int | None,
    scratch_elems: int | None,
) -> FusionPlan:
    """Whether the members' ``[N, M, N]`` coefficients can be kept, and rows per chunk.

    Per chunk of rows: two float64 ``[rows, M, N]`` temporaries (the widest step, the
    spectral start's normalised rows; the objective's product with the fused channel needs
    one in the fusion dtype). Kept dense when those coefficients and a chunk of one row fit
    ``memory_budget``; otherwise every chunk rebuilds its rows in float64
    (:func:`build_elems`) and rounds them to the fusion dtype, as the dense copy is.
    ``max_chunk_bytes`` caps the rows so that one float64 ``[rows, M, N]`` temporary stays
    below it (:func:`cpu_chunk_cap`: larger chunks are no faster on the CPU).
    """
    m, n = n_members, n_points
    dense = n * m * n * itemsize

    def temporaries(rows: int) -> int:
        return 2 * rows * m * n * _F64_BYTES

    def rebuilt(rows: int) -> int:
        build = build_elems(rows, m, n, buffers, scratch_elems) * _F64_BYTES
        return build + rows * m * n * itemsize + temporaries(rows)

    def stored(rows: int) -> int:
        return dense + temporaries(rows)

    store_dense = stored(1) <= memory_budget
    working = stored if store_dense else rebuilt
    upper = row_cap(n, m * n * _F64_BYTES, max_chunk_bytes)
    rows = largest_fitting(working, memory_budget, upper, f"{m} members on {n} probe points")
    return FusionPlan(store_dense, rows, working(rows))


def plan_samples(
    n_spaces: int, n_dims: int, point_chunk: int, *, memory_budget: int, max_samples: int
) -> int:
    """Monte Carlo samples per chunk, at most ``max_samples``, all in float64.

    Per sample: the log densities of u and u' against ``point_chunk`` points (``R ×
    point_chunk`` each, built per space then stacked, so twice, and their joint), the
    ``R × R`` joint terms with their products, and the noise.
    """
    r, nc = n_spaces, point_chunk

    def working(samples: int) -> int:
        return samples * _F64_BYTES * (5 * r * nc + 6 * r * r + 8 * r * n_dims + 16 * r)

    what = f"{r} spaces with {n_dims} dimensions, {nc} points per chunk"
    return largest_fitting(working, memory_budget, max_samples, what)


# ---------------------------------------------------------------- reused buffers


class ReusedBuffer:
    """One flat allocation reused by every chunk of a worker, viewed in any shape that fits."""

    def __init__(self, numel: int, device: torch.device, dtype: torch.dtype) -> None:
        self.flat = torch.empty(numel, device=device, dtype=dtype)

    def view(self, *shape: int) -> Tensor:
        """The first ``prod(shape)`` elements as a contiguous tensor of that shape."""
        return self.flat[: math.prod(shape)].view(shape)


class CoefficientRows:
    """A channel set's coefficient rows ``[B, M, N]`` for chunks of at most ``rows`` rows.

    When the set writes into a given tensor (``supports_out``), every chunk is built into
    one reused buffer; otherwise the set allocates its own (see :func:`coefficient_buffers`).
    """

    def __init__(self, cs: ChannelSet, rows: int, device: torch.device, dtype: torch.dtype) -> None:
        self.cs, self.device, self.dtype = cs, device, dtype
        self.buffer = (
            ReusedBuffer(rows * cs.n_channels * cs.n_points, device, dtype)
            if getattr(cs, "supports_out", False)
            else None
        )

    def __call__(self, rows: slice) -> Tensor:
        """``cs.coefficient_rows(rows)``, written into the reused buffer when possible."""
        if self.buffer is None:
            return self.cs.coefficient_rows(rows, self.device, self.dtype)
        out = self.buffer.view(rows.stop - rows.start, self.cs.n_channels, self.cs.n_points)
        return self.cs.coefficient_rows(rows, self.device, self.dtype, out=out)  # type: ignore[call-arg]


def prepare(cs: ChannelSet, device: torch.device, dtype: torch.dtype) -> None:
    """Let a channel set fill its converted-parameter cache (its optional ``prepare``)
    before workers share it."""
    hook = getattr(cs, "prepare", None)
    if callable(hook):
        hook(device, dtype)


def run_pass(
    sets: Sequence[ChannelSet | None],
    device: torch.device,
    dtype: torch.dtype,
    chunks: tuple[int, int, int],
    make_state: Callable[[], S],
    work: Callable[[S, slice], None],
    report: Callable[[int], None] | None = None,
) -> None:
    """One pass over the probe rows of ``sets`` (``None`` entries skipped) on ``device``.

    ``chunks`` is ``(n_points, rows_per_chunk, workers)``. Runs without autograd and, on the
    CPU, with single-threaded torch ops (module docstring); every set fills its cache first
    (:func:`prepare`), then :func:`for_each_chunk` calls ``work`` on every chunk of rows.
    """
    n, rows_per_chunk, workers = chunks
    with torch.no_grad(), single_threaded_ops(device.type == "cpu"):
        for cs in sets:
            if cs is not None:
                prepare(cs, device, dtype)
        for_each_chunk(n, rows_per_chunk, workers, make_state, work, report)


# ---------------------------------------------------------------- CPU workers


def default_workers(device: torch.device, workers: int | None) -> int:
    """Workers to use: 1 off the CPU; on the CPU ``workers`` or torch's thread count."""
    if device.type != "cpu":
        return 1
    if workers is None:
        return max(1, torch.get_num_threads())
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    return int(workers)


@contextmanager
def single_threaded_ops(active: bool) -> Iterator[None]:
    """Set torch's intra-op threads to 1 while active; restore the previous value after."""
    if not active:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def for_each_chunk(
    n: int,
    rows_per_chunk: int,
    workers: int,
    make_state: Callable[[], S],
    work: Callable[[S, slice], None],
    report: Callable[[int], None] | None = None,
) -> None:
    """Call ``work(state, rows)`` for every chunk ``rows`` of ``range(n)``.

    ``workers`` threads take chunks in turn (dynamic scheduling), each with its own
    ``state = make_state()`` (its buffers): the calling thread and ``workers − 1`` threads of
    a pool kept for the process (:func:`_worker_pool`; starting threads costs milliseconds,
    and a fusion makes two passes per gradient step). ``report(rows_done)``, if given, is
    called after each chunk, serialised. The first exception stops the other workers and
    is re-raised.
    """
    starts = iter(range(0, n, rows_per_chunk))
    lock = threading.Lock()
    done = 0
    failed = threading.Event()

    def loop() -> None:
        nonlocal done
        state = make_state()
        while not failed.is_set():
            with lock:
                r0 = next(starts, None)
            if r0 is None:
                return
            rows = slice(r0, min(r0 + rows_per_chunk, n))
            try:
                work(state, rows)
            except BaseException:
                failed.set()
                raise
            with lock:
                done += rows.stop - rows.start
                if report is not None:
                    report(done)

    workers = min(workers, -(-n // rows_per_chunk))
    if workers <= 1:
        loop()
        return
    futures = [_worker_pool(workers - 1).submit(_no_grad(loop)) for _ in range(workers - 1)]
    try:
        with torch.no_grad():
            loop()
    finally:
        for f in futures:
            f.exception()  # wait for every worker before anything is raised
    for f in futures:
        f.result()


class ChunkTurns:
    """Lets the workers of a pass add their chunks' sums in chunk order, whoever finishes
    first: float additions do not associate, so sums added in completion order differ in
    their last bits from run to run; in chunk order they are the same sums every time.

    ``turns.add(chunk, fn)`` waits until every earlier chunk's ``fn`` has run, then runs
    ``fn``. Chunks are numbered from 0 by their first row (``rows.start // rows_per_chunk``
    in :func:`for_each_chunk`, which hands them out in that order, so the wait is short).
    """

    def __init__(self) -> None:
        self.turn = 0
        self.changed = threading.Condition()

    def add(self, chunk: int, fn: Callable[[], None]) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.turn == chunk)
            try:
                fn()
            finally:
                self.turn += 1
                self.changed.notify_all()


@functools.cache
def _worker_pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of ``threads`` chunk workers (one pool per size, made once)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="infoprint")


def _no_grad(fn: Callable[[], None]) -> Callable[[], None]:
    """Grad mode is thread-local in torch: disable it inside the worker thread too."""

    def run() -> None:
        with torch.no_grad():
            fn()

    return run


# ---------------------------------------------------------------- progress


class Progress:
    """Reports rows done via a callback, or via logging (INFO) at most every 5 s.

    ``progress=True`` logs on this module's logger (``infoprint.info.engine``); a callable
    is called as ``progress(done, total)``; ``False`` reports nothing.
    """

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
                self._log(done, now - self.t0)

    def _log(self, done: int, elapsed: float) -> None:
        eta = elapsed / done * (self.total - done) if done else float("nan")
        log.info(
            "%s: %d/%d probe rows (%.0f%%), %.1f s elapsed, ~%.1f s left",
            self.what,
            done,
            self.total,
            100.0 * done / self.total,
            elapsed,
            eta,
        )
