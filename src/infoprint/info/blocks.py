"""Run-pair blocks of the pairwise pass, each computed the same way whatever else is in it.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3, in the centred GEMM form
of docs/architecture.md §5 (:mod:`.pairwise`): I(U;V) = (1/N) Σ_i ln(1 + x_ab(i)) / ln 2.
:func:`run_pair_information` computes it for chosen pairs of channel sets (the runs of an
ensemble, the ground-truth factors) so that the bits of a pair's block depend on the two
sets and the probe set only, not on which other sets share the pass, how many workers run
it or how much memory it has. Then a block computed once can be stored and reused when the
ensemble grows (an incremental analysis, docs/architecture.md §6) and equals, bit for bit,
the block of a full analysis. What :mod:`.pairwise` does differently, and why this module
does not:

* its chunks of probe rows are sized from the memory budget and the channel count; here
  every chunk has :func:`block_rows` rows, a function of N alone;
* its GEMMs multiply tiles of all channels, and a BLAS library rounds by the shape it is
  given (MKL takes other kernels for small tiles); here every product is one pair's
  ``[rows, k_a, N+1] × [rows, N+1, k_b]``, on buffers of that set alone;
* its workers add their chunk sums in the order they finish; here the sums are added in
  chunk order (each worker waits for its turn), so the float64 totals are the same sums
  in the same order whatever the workers;
* its elementwise passes run over tensors whose length depends on every set; here each
  pair owns a slot of the chunk buffer whose length is a multiple of
  :data:`SLOT_ELEMS`, so every element takes the vectorised path of ``log1p`` (a scalar
  tail may round differently) and the row sums are elementwise adds in row order.

A set that needs only its information (in no pair) and can build blocks of columns is
summed by triangles in a pass of its own (:mod:`.triangles`: half the coefficients, bits
a function of the set and N alone).

The augmented rows carry the correction term: with Q as in :mod:`.pairwise` and the 0/1
flags u(i) of rows left uncentred, left rows ``[Q_a(i), u_a(i)]`` times right rows
``[Q_b(i), −u_b(i)]`` give x_ab(i) = Q_a(i)·Q_b(i) − u_a(i) u_b(i) in the one product.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    ChunkTurns,
    Progress,
    ProgressCallback,
    check_same_probe_set,
    checked_itemsize,
    default_workers,
    for_each_chunk,
    prepare,
    single_threaded_ops,
)
from .pairwise import log_row_means, scaled_rows_
from .triangles import by_triangles, triangle_sums, triangle_working

__all__ = ["SLOT_ELEMS", "RunPairBits", "block_rows", "run_pair_information", "run_pair_working"]

_F64 = torch.float64

SLOT_ELEMS = 64
"""A pair's slot in a chunk's buffer is a multiple of this many elements (two vectors of
the widest CPU kernels in float32 and in float64), so no element falls in a scalar tail."""

_ROWS_ELEMS = 2**15
"""Probe rows per chunk times N, at most (:func:`block_rows`)."""

_GROUP_ELEMS = 2**20
"""Elements of the products of one group of pairs (:class:`_Layout`), at most unless a
single pair needs more: the group's products, their ``log1p`` and row sums are made
before the next group's, so the buffers stay this size whatever the number of pairs."""

_MAX_ROWS = 32
"""Probe rows per chunk, at most: each product is one call, and larger chunks make fewer."""


def block_rows(n_points: int) -> int:
    """Probe rows per chunk: ``min(32, 2**15 // N)``, at least 1; N alone decides it."""
    return max(1, min(_MAX_ROWS, _ROWS_ELEMS // max(1, n_points)))


@dataclass(frozen=True)
class RunPairBits:
    """What :func:`run_pair_information` yields, in bits, float64 on the CPU.

    Attributes:
        information: per set, ``[k]`` I(U) of its channels.
        mutual: per requested pair ``(a, b)``, ``[k_a, k_b]`` I(U;V); the diagonal of a
            pair ``(a, a)`` is I(U;U') (two reads of each channel).
    """

    information: list[Tensor]
    mutual: dict[tuple[int, int], Tensor]


def run_pair_working(
    n_points: int, widths: Sequence[int], multiplied: Sequence[int], pairs: int, itemsize: int
) -> int:
    """Bytes one worker of :func:`run_pair_information` holds for sets of ``widths``
    channels, of which the sets of ``multiplied`` widths enter ``pairs`` products: for each
    of those, the left and right augmented rows of a chunk and the scratch its build keeps
    per thread (at most a chunk's rows); one chunk of coefficient rows of the widest set;
    the products of one group of pairs, their float64 copy and index; the float64 sums.
    (Sets summed by triangles are counted by :func:`~.triangles.triangle_working`.)"""
    rows, widest = block_rows(n_points), max(widths, default=0)
    per_sets = 3 * rows * sum(multiplied) * (n_points + 1) + rows * widest * (n_points + 2)
    group = min(_GROUP_ELEMS, pairs * _slot(rows * widest * widest))
    sums = pairs * widest * widest + sum(widths)
    return per_sets * itemsize + group * (itemsize + 16) + sums * 8


def run_pair_information(
    sets: Sequence[ChannelSet],
    pairs: Sequence[tuple[int, int]],
    *,
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    workers: int | None = None,
    progress: bool | ProgressCallback = False,
) -> RunPairBits:
    """I(U) of every channel of every set and I(U;V) of every channel pair of each pair of
    sets in ``pairs``, each block exact whatever else the pass holds (module docstring).

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; docs/architecture.md
    §5 and §6. ``sets`` share the probe points; ``pairs`` are ``(a, b)`` indices into them
    (``(a, a)`` for the pairs within one set). ``workers`` as in
    :func:`~infoprint.info.pairwise.pairwise_information`; the result does not depend on
    it. Raises :class:`ValueError` when the workers' buffers (:func:`run_pair_working`)
    do not fit ``memory_budget``.
    """
    sets = [as_channel_set(s) for s in sets]
    if not sets:
        return RunPairBits([], {})
    for s in sets[1:]:
        check_same_probe_set(sets[0], s)
    pairs = [(int(a), int(b)) for a, b in pairs]
    for a, b in pairs:
        if not (0 <= a < len(sets) and 0 <= b < len(sets)):
            raise ValueError(f"pair ({a}, {b}) names a set outside 0..{len(sets) - 1}")
    itemsize = checked_itemsize(dtype)
    dev = resolve_device(device)
    n_workers = default_workers(dev, workers)
    layout = _Layout(sets, pairs, sets[0].n_points)
    need = _working(layout, itemsize, n_workers)
    if need > memory_budget:
        raise ValueError(
            f"memory_budget={memory_budget} bytes is too small for {len(sets)} sets of "
            f"{layout.offsets[-1]} channels in {len(pairs)} pairs on {layout.n} probe points "
            f"with {n_workers} workers; {need} bytes are needed"
        )
    return _run(layout, dev, dtype, n_workers, progress)


def _working(layout: _Layout, itemsize: int, workers: int) -> int:
    """Bytes the pass holds: the triangles' pass (:mod:`.triangles`), then the rest."""
    n, need = layout.n, 0
    if layout.triangles:
        per_worker, shared = triangle_working(
            n, [layout.widths[i] for i in layout.triangles], itemsize
        )
        need = per_worker * workers + shared
    if layout.has_rest:
        widths = [w for i, w in enumerate(layout.widths) if i not in layout.triangles]
        multiplied = [layout.widths[i] for i in layout.multiplied]
        rest = run_pair_working(n, widths, multiplied, len(layout.pairs), itemsize) * workers
        need = max(need, rest)  # one pass after the other
    return need


def _slot(elems: int) -> int:
    return -(-elems // SLOT_ELEMS) * SLOT_ELEMS


@dataclass(frozen=True)
class _Group:
    """Pairs whose products of one chunk are made, logged and summed together: each pair's
    region ``[rows, k_a·k_b]`` starts at a multiple of :data:`SLOT_ELEMS`."""

    pairs: list[int]
    regions_at: list[int]

    @property
    def elems(self) -> int:
        return self.regions_at[-1]


class _Layout:
    """Where everything of a pass lives: each set's span of the flat per-channel vectors,
    each pair's span of the flat per-pair sums, and the groups of pairs (by left set, in
    the order of the pairs)."""

    def __init__(self, sets: list[ChannelSet], pairs: list[tuple[int, int]], n: int) -> None:
        self.sets, self.pairs, self.n = sets, pairs, n
        self.rows = block_rows(n)
        self.widths = [s.n_channels for s in sets]
        self.offsets = [0, *itertools.accumulate(self.widths)]
        self.sizes = [self.widths[a] * self.widths[b] for a, b in pairs]
        self.sums_at = [0, *itertools.accumulate(self.sizes)]
        self.multiplied = sorted({i for p in pairs for i in p})
        self.triangles = [
            i for i, cs in enumerate(sets) if i not in self.multiplied and by_triangles(cs)
        ]
        """Sets whose information is summed by triangles (:mod:`.triangles`)."""
        self.has_rest = bool(pairs) or len(self.triangles) < len(sets)
        """Whether the run-pair pass has anything left to do after the triangles'."""
        self.groups: list[_Group] = []
        members: list[int] = []
        end = 0
        for p in sorted(range(len(pairs)), key=lambda p: pairs[p]):
            slot = _slot(self.rows * self.sizes[p])
            if members and end + slot > _GROUP_ELEMS:
                self.groups.append(self._group(members))
                members, end = [], 0
            members.append(p)
            end += slot
        if members:
            self.groups.append(self._group(members))

    def _group(self, members: list[int]) -> _Group:
        ends = itertools.accumulate(_slot(self.rows * self.sizes[p]) for p in members)
        return _Group(members, [0, *ends])

    def targets(self, group: _Group, nr: int) -> Tensor:
        """For every element of a group's regions, where its row sum goes when a chunk has
        ``nr`` rows: its pair's span of the sums, or the last (discarded) place."""
        sizes = np.array([self.sizes[p] for p in group.pairs], dtype=np.int64)
        spans = np.array([self.sums_at[p] for p in group.pairs], dtype=np.int64)
        lengths = nr * sizes  # each pair's elements: nr rows of its k_a k_b sums
        pair = np.repeat(np.arange(len(sizes)), lengths)
        local = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out = np.full(group.elems, self.sums_at[-1], dtype=np.int64)
        out[np.asarray(group.regions_at[:-1], dtype=np.int64)[pair] + local] = (
            spans[pair] + local % sizes[pair]
        )
        return torch.from_numpy(out)


class _Totals:
    """The float64 sums, added to in chunk order (:class:`~.engine.ChunkTurns`)."""

    def __init__(self, layout: _Layout, dev: torch.device) -> None:
        self.log_means = torch.zeros(layout.offsets[-1], device=dev, dtype=_F64)
        self.logs = torch.zeros(layout.sums_at[-1], device=dev, dtype=_F64)
        self.turns = ChunkTurns()

    def commit(self, chunk: int, log_means: Tensor, logs: Tensor) -> None:
        """Add chunk ``chunk``'s sums once every earlier chunk's are in."""

        def add() -> None:
            self.log_means.add_(log_means)
            self.logs.add_(logs)

        self.turns.add(chunk, add)


class _Worker:
    """One worker's buffers, reused by all its chunks: the coefficient rows of a chunk
    (every set's built from the buffer's start), the augmented left and right rows of the
    sets that enter products, one group's products and their float64 copy, the sums.

    The operands, outputs and sum targets of a group are made once per chunk size
    (:meth:`group_views`): a pass makes thousands of products per chunk."""

    def __init__(self, layout: _Layout, dev: torch.device, dtype: torch.dtype) -> None:
        b, n, widths = layout.rows, layout.n, layout.widths
        self.dev, self.dtype = dev, dtype
        # the sets this pass builds (those summed by triangles have had their own pass)
        widest = max(w for i, w in enumerate(widths) if i not in layout.triangles)
        self.build = torch.empty(b * widest * n, device=dev, dtype=dtype)
        self.left, self.right = ({i: torch.empty(b, widths[i], n + 1, device=dev, dtype=dtype)
                                  for i in layout.multiplied} for _ in range(2))  # fmt: skip
        self.stats = torch.empty(2 * b * widest, device=dev, dtype=dtype)
        elems = max((g.elems for g in layout.groups), default=0)
        self.regions = torch.zeros(elems, device=dev, dtype=dtype)
        self.wide = torch.empty(elems, device=dev, dtype=_F64)
        self.sums = torch.zeros(layout.sums_at[-1] + 1, device=dev, dtype=_F64)
        self.log_means = torch.empty(layout.offsets[-1], device=dev, dtype=_F64)
        self._views: dict[int, list[tuple[list[tuple[Tensor, Tensor, Tensor]], Tensor]]] = {}

    def coefficient_rows(self, cs: ChannelSet, rows: slice, into: Tensor | None) -> Tensor:
        """``cs``'s coefficient rows of a chunk, written into ``into`` (else :attr:`build`)
        when the set allows it."""
        if not getattr(cs, "supports_out", False):
            return cs.coefficient_rows(rows, self.dev, self.dtype)
        shape = (rows.stop - rows.start, cs.n_channels, cs.n_points)
        out = self.build[: math.prod(shape)].view(shape) if into is None else into
        return cs.coefficient_rows(rows, self.dev, self.dtype, out=out)  # type: ignore[call-arg]

    def group_views(
        self, layout: _Layout, nr: int
    ) -> list[tuple[list[tuple[Tensor, Tensor, Tensor]], Tensor]]:
        """Per group: the ``(left rows, right rows transposed, output region)`` of each of
        its pairs and the sums' targets (:meth:`_Layout.targets`), for chunks of ``nr``
        rows."""
        if nr not in self._views:
            views = []
            for g in layout.groups:
                products = []
                for p, start in zip(g.pairs, g.regions_at, strict=False):
                    a, b = layout.pairs[p]
                    out = self.regions[start : start + nr * layout.sizes[p]]
                    out = out.view(nr, layout.widths[a], layout.widths[b])
                    products.append((self.left[a][:nr], self.right[b][:nr].transpose(1, 2), out))
                views.append((products, layout.targets(g, nr).to(self.dev)))
            self._views[nr] = views
        return self._views[nr]


def _run(
    layout: _Layout,
    dev: torch.device,
    dtype: torch.dtype,
    workers: int,
    progress: bool | ProgressCallback,
) -> RunPairBits:
    """The pass over chunks of :func:`block_rows` rows, then the totals in bits."""
    n, rows = layout.n, layout.rows
    totals = _Totals(layout, dev)

    def work(w: _Worker, chunk: slice) -> None:
        _chunk_sums(w, layout, chunk)
        totals.commit(chunk.start // rows, w.log_means, w.sums[:-1])

    report = Progress(progress, n, "run-pair information")
    rest = layout.has_rest
    with torch.no_grad(), single_threaded_ops(dev.type == "cpu"):
        for s in layout.sets:
            prepare(s, dev, dtype)
        if layout.triangles:
            alone = [layout.sets[i] for i in layout.triangles]
            sums = triangle_sums(alone, dev, dtype, workers, None if rest else report)
            for i, logs in zip(layout.triangles, sums, strict=True):
                totals.log_means[layout.offsets[i] : layout.offsets[i + 1]] = logs
        if rest:
            for_each_chunk(n, rows, workers, lambda: _Worker(layout, dev, dtype), work, report)
    to_bits = 1.0 / (n * math.log(2.0))
    log_means = totals.log_means.mul_(-to_bits).cpu()
    logs = totals.logs.mul_(to_bits).cpu()
    information = [log_means[a:b] for a, b in itertools.pairwise(layout.offsets)]
    mutual = {}
    for p, (a, b) in enumerate(layout.pairs):
        span = logs[layout.sums_at[p] : layout.sums_at[p + 1]]
        mutual[(a, b)] = span.view(layout.widths[a], layout.widths[b])
    return RunPairBits(information, mutual)


def _chunk_sums(w: _Worker, layout: _Layout, chunk: slice) -> None:
    """A chunk's Σ_rows ln m(i) per channel into ``w.log_means`` and, per pair, the
    Σ_rows ln(1 + x_ab(i)) into its span of ``w.sums`` (added in row order)."""
    nr, n = chunk.stop - chunk.start, layout.n
    for i, s in enumerate(layout.sets):
        k = s.n_channels
        if i in layout.triangles:
            w.log_means[layout.offsets[i] : layout.offsets[i + 1]].zero_()
            continue
        # a set that enters products is built and scaled in place in its left rows
        into = w.left[i][:nr, :, :n] if i in w.left else None
        t = w.coefficient_rows(s, chunk, into)  # [nr, k, N]
        stats = w.stats[: 2 * nr * k].view(2, nr, k)
        log_means = w.log_means[layout.offsets[i] : layout.offsets[i + 1]]
        if into is None:  # only its information: the row sums, not the scaled rows
            log_means.copy_(log_row_means(t, stats[0]))
            continue
        if t is not into:
            into.copy_(t)
        u, log_part, _ = scaled_rows_(into, stats, shared=False)
        log_means.copy_(log_part)
        right = w.right[i][:nr]
        right[..., :n].copy_(into)
        w.left[i][:nr, :, n].copy_(u)
        torch.neg(u, out=right[..., n])
    w.sums.zero_()
    for products, targets in w.group_views(layout, nr):
        for left, right, out in products:
            torch.bmm(left, right, out=out)
        regions = w.regions[: targets.numel()].log1p_()
        w.sums.index_add_(0, targets, w.wide[: targets.numel()].copy_(regions))
