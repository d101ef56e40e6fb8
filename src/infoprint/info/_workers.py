"""Row-chunk scheduling for the CPU: independent single-threaded workers.

The engine's inner loop is a handful of elementwise ops and GEMMs per chunk of probe
rows. With torch's intra-op (OpenMP) threads, every op is a parallel region whose end
waits for all threads; on a machine shared with other processes a descheduled thread
makes each region wait a scheduler time slice (milliseconds), and thousands of regions
then cost far more than the arithmetic. So on the CPU the engine instead runs W Python
threads (torch releases the GIL inside ops), each with single-threaded ops on its own
chunks and its own buffers: no barriers at all, and the same speed on an idle machine.
torch's intra-op thread count is set to 1 for the duration of the call and restored
after (a process-wide setting, so other threads of the process see it meanwhile).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

S = TypeVar("S")

__all__ = ["default_workers", "for_each_chunk", "single_threaded_ops"]


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
    report: Callable[[int], None],
) -> None:
    """Call ``work(state, rows)`` for every chunk ``rows`` of ``range(n)``.

    ``workers`` threads take chunks in turn (dynamic scheduling), each with its own
    ``state = make_state()`` (its buffers). ``report(rows_done)`` is called after each
    chunk, serialised. The first exception stops the other workers and is re-raised.
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
                report(done)

    if workers == 1:
        loop()
        return
    with torch.no_grad(), ThreadPoolExecutor(workers, thread_name_prefix="infoprint") as ex:
        futures = [ex.submit(_no_grad(loop)) for _ in range(workers)]
        for f in futures:
            f.result()


def _no_grad(fn: Callable[[], None]) -> Callable[[], None]:
    """Grad mode is thread-local in torch: disable it inside the worker thread too."""

    def run() -> None:
        with torch.no_grad():
            fn()

    return run
