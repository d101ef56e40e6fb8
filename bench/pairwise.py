"""Benchmark of the pairwise joint-information engine (issue 3, item 4).

Times ``infoprint.info.pairwise_joint_information`` (float32, default options) on random
1-D Gaussian channels against, in the same run:

(a) a per-pair NumPy loop following the reference algorithm of Murphy, Dillavou & Bassett
    (TMLR 2025, arXiv 2405.21042; their ``compute_pairwise_similarities``): one N x N
    Bhattacharyya distance matrix per channel, then for every pair a ≤ b
    I_ab = −mean_i log2 mean_j exp(−(D_a + D_b)), in float64. It is timed on a random
    sample of pairs (and of channels, for the per-channel part) and extrapolated to all
    M(M+1)/2 pairs and M channels;
(b) bare ``torch.bmm`` over the same shapes ([B, M, N] x [B, N, M] for all N probe rows,
    on random data already in memory): the GEMM-throughput bound of the machine, for all
    M² ordered pairs.

Prints times, the ratios and the peak memory (measured in a fresh process as the rise
of the peak resident set size on the CPU, or ``torch.cuda.max_memory_allocated`` on a GPU).

    python bench/pairwise.py            # (200, 300) and (500, 1000), best of 3
    python bench/pairwise.py --quick    # (200, 300) only, best of 1, fewer loop pairs
    python bench/pairwise.py --sizes 5000x1000 --no-loop --no-bare --repeats 1
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

from infoprint.info import GaussianChannels, pairwise_joint_information, resolve_device
from infoprint.info.engine import (
    DEFAULT_MEMORY_BUDGET,
    cpu_chunk_cap,
    cpu_scratch,
    default_workers,
    plan_pairwise,
)

MIB = 2**20


def make_channels(m: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(n, m)).astype(np.float32)
    logvar = rng.uniform(-3.0, 0.0, size=(n, m)).astype(np.float32)
    return mu, logvar


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


# ----------------------------------------------------------------- (a) per-pair NumPy loop


def reference_distance_matrix(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """[N, N] Bhattacharyya distances of one 1-D channel, float64 (docs/architecture.md §5)."""
    mu = mu.astype(np.float64)
    lv = logvar.astype(np.float64)
    var = np.exp(lv)
    sbar = 0.5 * (var[:, None] + var[None, :])
    dmu = mu[:, None] - mu[None, :]
    return 0.125 * dmu**2 / sbar + 0.5 * (np.log(sbar) - 0.5 * (lv[:, None] + lv[None, :]))


def reference_channel_terms(d: np.ndarray) -> tuple[float, float]:
    """I(U) and I(UU') of one channel from its distance matrix (reference algorithm)."""
    info = -np.mean(np.log2(np.mean(np.exp(-d), axis=-1)))
    info2 = -np.mean(np.log2(np.mean(np.exp(-2 * d), axis=-1)))
    return float(info), float(info2)


def reference_pair(d_a: np.ndarray, d_b: np.ndarray) -> float:
    """I(U_a U_b) for one pair (reference algorithm)."""
    return float(-np.mean(np.log2(np.mean(np.exp(-(d_a + d_b)), axis=-1))))


def time_loop(mu: np.ndarray, lv: np.ndarray, n_pairs: int, seed: int = 1) -> dict:
    m = mu.shape[1]
    rng = np.random.default_rng(seed)
    n_chan = min(m, max(4, n_pairs // 4))
    chans = rng.choice(m, size=n_chan, replace=False)
    t0 = time.perf_counter()
    dmats = {int(c): reference_distance_matrix(mu[:, c], lv[:, c]) for c in chans}
    for c in chans:
        reference_channel_terms(dmats[int(c)])
    per_channel = (time.perf_counter() - t0) / n_chan
    # random pairs a <= b among the channels whose matrices we have
    a = rng.choice(chans, size=n_pairs)
    b = rng.choice(chans, size=n_pairs)
    pairs = [(int(min(x, y)), int(max(x, y))) for x, y in zip(a, b, strict=True)]
    t0 = time.perf_counter()
    for x, y in pairs:
        reference_pair(dmats[x], dmats[y])
    per_pair = (time.perf_counter() - t0) / n_pairs
    total_pairs = m * (m + 1) // 2
    return {
        "per_pair_s": per_pair,
        "per_channel_s": per_channel,
        "sampled_pairs": n_pairs,
        "sampled_channels": n_chan,
        "total_pairs": total_pairs,
        "extrapolated_s": per_pair * total_pairs + per_channel * m,
    }


# ----------------------------------------------------------------- (b) bare torch.bmm


def time_bare_bmm(m: int, n: int, dev: torch.device, rows: int) -> float:
    """Bare bmm over all N probe rows, ``rows`` at a time, on pre-made random data."""
    g = torch.Generator(device="cpu").manual_seed(0)
    t = torch.rand(rows, m, n, generator=g).to(dev)
    torch.bmm(t[:1], t[:1].transpose(1, 2))  # warm-up
    _sync(dev)
    t0 = time.perf_counter()
    for r0 in range(0, n, rows):
        b = min(rows, n - r0)
        torch.bmm(t[:b], t[:b].transpose(1, 2))
    _sync(dev)
    return time.perf_counter() - t0


# ----------------------------------------------------------------- ours


def time_ours(mu: np.ndarray, lv: np.ndarray, dev: torch.device, budget: int) -> float:
    ch = GaussianChannels(mu, lv)
    _sync(dev)
    t0 = time.perf_counter()
    pairwise_joint_information(ch, device=dev, memory_budget=budget)
    _sync(dev)
    return time.perf_counter() - t0


def _status_bytes(key: str) -> int:
    text = open("/proc/self/status").read()
    return int(re.search(key + r":\s+(\d+)", text).group(1)) * 1024


def child_peak(m: int, n: int, device: str, budget: int, progress: bool = False) -> None:
    """Run once in this (fresh) process and print the peak memory rise as JSON."""
    dev = resolve_device(device)
    mu, lv = make_channels(m, n)
    ch = GaussianChannels(mu, lv)
    ch.coefficient_rows(slice(0, 1), dev, torch.float32)  # the channel set's own cache
    small = GaussianChannels(mu[:32, :16], lv[:32, :16])
    pairwise_joint_information(small, device=dev)  # load code paths (BLAS, OpenMP) first
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
    else:
        base = _status_bytes("VmRSS")
    t0 = time.perf_counter()
    pairwise_joint_information(ch, device=dev, memory_budget=budget, progress=progress)
    _sync(dev)
    elapsed = time.perf_counter() - t0
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) - base
    else:
        peak = _status_bytes("VmHWM") - base
    print(json.dumps({"peak_bytes": peak, "seconds": elapsed}))


def measure_peak(m: int, n: int, device: str, budget: int, progress: bool) -> dict:
    cmd = [sys.executable, __file__, "--child-peak", f"{m}x{n}", "--device", device]
    cmd += ["--memory-budget", str(budget)] + (["--progress"] if progress else [])
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------- main


def parse_sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        m, n = part.lower().split("x")
        out.append((int(m), int(n)))
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="(200, 300) only, one repeat")
    p.add_argument("--sizes", default=None, help="comma list of MxN, e.g. 200x300,500x1000")
    p.add_argument("--device", default="auto")
    p.add_argument("--repeats", type=int, default=None, help="best of this many timings")
    p.add_argument("--loop-pairs", type=int, default=None, help="pairs sampled for the loop")
    p.add_argument("--memory-budget", type=int, default=DEFAULT_MEMORY_BUDGET)
    p.add_argument("--no-loop", action="store_true")
    p.add_argument("--no-bare", action="store_true")
    p.add_argument("--no-peak", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    p.add_argument("--progress", action="store_true", help="log progress of long runs")
    p.add_argument("--child-peak", default=None, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.progress:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child_peak:
        m, n = parse_sizes(args.child_peak)[0]
        child_peak(m, n, args.device, args.memory_budget, args.progress)
        return 0
    sizes = (
        parse_sizes(args.sizes)
        if args.sizes
        else ([(200, 300)] if args.quick else [(200, 300), (500, 1000)])
    )
    # the defaults that depend on --quick, settled here for bench_size
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.loop_pairs = args.loop_pairs or (40 if args.quick else 200)
    dev = resolve_device(args.device)
    print(
        f"device={dev} torch={torch.__version__} threads={torch.get_num_threads()} "
        f"dtype=float32 memory_budget={args.memory_budget / MIB:.0f} MiB repeats={args.repeats}"
    )
    _print_load("start")
    for m, n in sizes:
        bench_size(m, n, dev, args)
        sys.stdout.flush()
    _print_load("end")
    return 0


def bench_size(m: int, n: int, dev: torch.device, args: argparse.Namespace) -> None:
    """Print every measurement for M channels on N probe points."""
    mu, lv = make_channels(m, n)
    plan = plan_pairwise(
        n,
        m,
        memory_budget=args.memory_budget,
        max_chunk_bytes=cpu_chunk_cap(dev),
        scratch_elems=cpu_scratch(dev),
        workers=default_workers(dev, None),
    )
    time_ours(mu[:16, :8], lv[:16, :8], dev, args.memory_budget)  # warm-up
    ours, bare = [], []
    for _ in range(args.repeats):  # interleaved, best of `repeats`
        ours.append(time_ours(mu, lv, dev, args.memory_budget))
        if not args.no_bare:
            bare.append(time_bare_bmm(m, n, dev, plan.rows_per_chunk))
    t_ours = min(ours)
    print(f"\n(M={m} channels, N={n} probe points): {m * (m + 1) // 2} pairs")
    print(
        f"  ours  pairwise_joint_information : {t_ours:9.3f} s   "
        f"(rows/chunk {plan.rows_per_chunk}, tile {plan.tile}, {plan.n_chunks} chunks, "
        f"{plan.workers} workers; "
        f"all: {', '.join(f'{t:.3f}' for t in ours)})"
    )
    if not args.no_bare:
        _print_bare(t_ours, bare, plan.rows_per_chunk)
    if not args.no_loop:
        _print_loop(t_ours, time_loop(mu, lv, args.loop_pairs), m)
    bare_bytes = 4 * plan.rows_per_chunk * (m * n + m * m)
    print(
        f"  memory: budget {args.memory_budget / MIB:.0f} MiB, planned working set "
        f"{plan.working_bytes / MIB:.1f} MiB; bare bmm chunk {bare_bytes / MIB:.1f} MiB"
    )
    if not args.no_peak:
        pk = measure_peak(m, n, str(dev), args.memory_budget, args.progress)
        kind = "max_memory_allocated" if dev.type == "cuda" else "peak RSS rise"
        print(
            f"  memory: measured peak ({kind}, fresh process) {pk['peak_bytes'] / MIB:.1f} "
            f"MiB  (that run took {pk['seconds']:.2f} s)"
        )


def _print_bare(t_ours: float, bare: list[float], rows: int) -> None:
    t_bare = min(bare)
    print(
        f"  bare  torch.bmm, all M^2 entries : {t_bare:9.3f} s   "
        f"({rows} rows per call; all: "
        f"{', '.join(f'{t:.3f}' for t in bare)})"
    )
    print(f"  ratio ours / bare bmm           : {t_ours / t_bare:9.2f} x  (target <= 1.5)")


def _print_loop(t_ours: float, lp: dict, m: int) -> None:
    print(
        f"  loop  per-pair NumPy reference  : {lp['extrapolated_s']:9.1f} s   "
        f"(extrapolated: {lp['per_pair_s'] * 1e3:.2f} ms/pair x {lp['total_pairs']} "
        f"pairs from {lp['sampled_pairs']} sampled, + {lp['per_channel_s'] * 1e3:.1f} "
        f"ms/channel x {m})"
    )
    print(
        f"  ratio loop / ours               : {lp['extrapolated_s'] / t_ours:9.1f} x  "
        f"(target >= 100 at M=500, N=1000)"
    )


def _print_load(when: str) -> None:
    """Other processes on the machine distort every timing (each OpenMP parallel region
    waits for a descheduled thread), so the load is printed with the results."""
    if hasattr(os, "getloadavg"):
        one, five, _ = os.getloadavg()
        cores = os.cpu_count() or 1
        note = "  (busy machine: timings unreliable)" if one > 0.75 * cores else ""
        print(f"load average at {when}: {one:.2f} (1 min), {five:.2f} (5 min), {cores} cores{note}")


if __name__ == "__main__":
    raise SystemExit(main())
