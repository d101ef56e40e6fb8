"""The information of channel sets from one triangle of each coefficient matrix.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3: I(U) = −(1/N) Σ_i
log2((1/N) Σ_j C_ij). C is symmetric, so its row sums need only one triangle: a chunk of
probe rows r0..r1 builds the columns r0..N−1 of its rows (half the coefficients of full
rows), adds its row sums to its own rows and its column sums past r1 to the later rows.
The sums meet in float64 in chunk order (:class:`~.engine.ChunkTurns`) whatever worker
finishes first, and the chunks have :func:`triangle_rows` rows, a function of N alone: a
set's bits depend on the set and N only, as :mod:`.blocks` requires of its information.

Chunks here are larger than the run-pair pass's (which holds every multiplied set's rows
per chunk): each worker holds one set's block at a time, and larger torch operations
spend less of their time waiting for the Python interpreter lock, so two workers run
~1.5x faster than one instead of not at all (``bench/study.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .channels import ChannelSet
from .engine import ChunkTurns, for_each_chunk

__all__ = ["by_triangles", "triangle_rows", "triangle_sums", "triangle_working"]

_F64 = torch.float64

_ROWS_ELEMS = 2**16
"""Probe rows per chunk times N, at most (:func:`triangle_rows`)."""

_MAX_ROWS = 64
"""Probe rows per chunk, at most."""


def triangle_rows(n_points: int) -> int:
    """Probe rows per chunk: ``min(64, 2**16 // N)``, at least 1; N alone decides it."""
    return max(1, min(_MAX_ROWS, _ROWS_ELEMS // max(1, n_points)))


def by_triangles(cs: ChannelSet) -> bool:
    """Whether the set can build blocks of columns into a given buffer (``supports_out``
    and ``supports_columns``, :class:`~.channels.ChannelSet`)."""
    return bool(getattr(cs, "supports_out", False) and getattr(cs, "supports_columns", False))


def triangle_working(n_points: int, widths: Sequence[int], itemsize: int) -> tuple[int, int]:
    """Bytes ``(per worker, shared)`` of :func:`triangle_sums` for sets of ``widths``
    channels: a worker's block of the widest set and its float64 row and column sums; the
    float64 row sums of every channel, shared."""
    rows, channels = triangle_rows(n_points), sum(widths)
    block = rows * max(widths, default=0) * (n_points + 1)
    return block * itemsize + channels * (n_points + rows) * 8, channels * n_points * 8


class _Totals:
    """The float64 row sums of every channel, added to in chunk order: before a chunk's
    turn they hold the column sums of every earlier chunk, after it its own rows are
    complete and their ln m(i) join ``logs``."""

    def __init__(self, channels: int, n: int, dev: torch.device) -> None:
        self.row_sums = torch.zeros(channels, n, device=dev, dtype=_F64)
        self.logs = torch.zeros(channels, device=dev, dtype=_F64)
        self.turns = ChunkTurns()

    def commit(self, chunk: slice, rows: int, row_part: Tensor, column_part: Tensor) -> None:
        r0, r1, n = chunk.start, chunk.stop, self.row_sums.shape[1]

        def add() -> None:
            own = self.row_sums[:, r0:r1].add_(row_part[:, : r1 - r0])
            self.logs.add_(own.mul(1.0 / n).log_().sum(1))
            self.row_sums[:, r1:].add_(column_part[:, r1:])

        self.turns.add(r0 // rows, add)


def triangle_sums(
    sets: Sequence[ChannelSet],
    dev: torch.device,
    dtype: torch.dtype,
    workers: int,
    report: Callable[[int], None] | None = None,
) -> list[Tensor]:
    """Per set, ``[k]`` float64 Σ_i ln m_a(i) (m the row means of C_a) of its channels;
    every set must pass :func:`by_triangles` and share the probe set. Runs under the
    caller's ``torch.no_grad`` and single-threaded ops (:mod:`.blocks`); ``report`` as in
    :func:`~.engine.for_each_chunk`."""
    n, rows = sets[0].n_points, triangle_rows(sets[0].n_points)
    widths = [s.n_channels for s in sets]
    offsets = [0, *itertools.accumulate(widths)]
    totals = _Totals(offsets[-1], n, dev)

    def buffers() -> tuple[Tensor, Tensor, Tensor, Tensor]:
        build = torch.empty(rows * max(widths) * n, device=dev, dtype=dtype)
        stats = torch.empty(rows * max(widths), device=dev, dtype=dtype)
        row_part = torch.empty(offsets[-1], rows, device=dev, dtype=_F64)
        return build, stats, row_part, torch.zeros(offsets[-1], n, device=dev, dtype=_F64)

    def work(own: tuple[Tensor, Tensor, Tensor, Tensor], chunk: slice) -> None:
        build, stats, row_part, column_part = own
        nr, width = chunk.stop - chunk.start, n - chunk.start
        for cs, at in zip(sets, offsets, strict=False):
            k = cs.n_channels
            block = build[: nr * k * width].view(nr, k, width)
            cs.coefficient_rows(chunk, dev, dtype, out=block, columns=slice(chunk.start, n))  # type: ignore[call-arg]
            sums = torch.sum(block, -1, out=stats[: nr * k].view(nr, k))
            row_part[at : at + k, :nr].copy_(sums.T)
            column_part[at : at + k, chunk.stop :].copy_(block[:, :, nr:].sum(0))
        totals.commit(chunk, rows, row_part, column_part)

    for_each_chunk(n, rows, workers, buffers, work, report)
    return [totals.logs[a:b] for a, b in itertools.pairwise(offsets)]
