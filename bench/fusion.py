"""Fusion per gradient step against the bare kernel it is built on, quiet and under load.

Murphy, Dillavou & Bassett, TMLR 2025 (arXiv 2405.21042), Sec. 4.4. A hotspot of M
members on N probe points (each member a noisy, differently warped copy of a 32-valued
factor, as posX in a β-VAE ensemble) is fused as the analysis's hotspot fusion does it
(``infoprint.info.fuse`` with ``hotspot_fusion``'s defaults: 1-D, exp(−VI), Adam). For
every N, M and torch thread count the script prints

* ``kernel``: the bare joint-row-sum kernel of one step, forward and backward (Σ_j C_U[i, j]
  C_m[i, j] as a batched matrix product, and its transpose), the floor of any step;
* ``step``: one gradient step of ``fuse`` (the difference of a 25-step and a 5-step fusion
  over 20), and ``step/kernel``;
* ``base``: the same step of a baseline info package (``--baseline``: a git revision or a
  copy of src/infoprint/info), and ``base/step``;
* ``nmi``: the fused channel's NMI with the factor after the analysis's default steps;

first on the machine as it is, then with one busy process per core that the script starts
and stops itself (``_common.competing_load``), and the ratio loaded/quiet per row.

    python bench/fusion.py                                  # N = 500, 1000, 2000; M = 10, 50
    python bench/fusion.py --points 1000 --members 10 --baseline HEAD~1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from types import ModuleType

import numpy as np
import torch
from _common import competing_load, load_baseline

import infoprint.info as current
from infoprint.analysis.options import HotspotFusionOptions
from infoprint.info import DiscreteChannels, GaussianChannels, GaussianSpaces, compare

HOTSPOT = HotspotFusionOptions()
FUSE = {"dim": HOTSPOT.dim, "objective": HOTSPOT.objective, "lr": HOTSPOT.lr, "device": "cpu"}
STEPS = (5, 25)


def hotspot(n: int, m: int, seed: int = 0) -> tuple[GaussianChannels, np.ndarray]:
    """``m`` members encoding a 32-valued factor on ``n`` points, and the factor ``[n]``."""
    rng = np.random.default_rng(seed)
    factor = rng.integers(0, 32, n)
    x = factor / 31.0
    powers = rng.uniform(0.5, 2.0, m)
    mu = x[:, None] ** powers + rng.normal(0.0, 0.05, (n, m))
    logvar = np.full((n, m), 2 * np.log(0.03)) + rng.normal(0.0, 0.2, (n, m))
    return GaussianChannels(mu * 3.0, logvar + 2 * np.log(3.0)), factor


def kernel_ms(target: current.FusionTarget, repeats: int = 9) -> float:
    """Median ms of the joint row sums forward + backward on the dense coefficients."""
    c = target.coefficients
    n, m = target.n_points, target.n_members
    kernel = torch.rand(n, n, dtype=c.dtype)
    grad = torch.rand(n, 1, m, dtype=c.dtype)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.bmm(kernel[:, None, :], c.transpose(1, 2))  # 3x faster than c @ kernel here
        torch.bmm(grad, c)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


BUDGET = 2**31
"""Memory budget of the bench's targets: dense coefficients up to N = 2000, M = 50 (800 MB;
beyond the analysis's default 512 MiB their rows would be rebuilt every step)."""


def step_ms(info: ModuleType, members: GaussianChannels, repeats: int = 3) -> float:
    """Median ms per gradient step of ``info.fuse`` (difference of two step counts)."""
    target = info.FusionTarget.from_channels(members, device="cpu", memory_budget=BUDGET)
    per_step = []
    for _ in range(repeats):
        spans = []
        for steps in STEPS:
            start = time.perf_counter()
            info.fuse(target, steps=steps, **FUSE)
            spans.append(time.perf_counter() - start)
        per_step.append((spans[1] - spans[0]) / (STEPS[1] - STEPS[0]))
    return 1e3 * statistics.median(per_step)


def fused_nmi(members: GaussianChannels, factor: np.ndarray) -> float:
    target = current.FusionTarget.from_channels(members, device="cpu", memory_budget=BUDGET)
    space = current.fuse(target, steps=HOTSPOT.steps, **FUSE)
    spaces = GaussianSpaces(space.mu[None], space.logvar[None])
    return float(compare(spaces, DiscreteChannels(factor[:, None]), dtype=torch.float64).nmi[0, 0])


def measure(args: argparse.Namespace, baseline: ModuleType | None) -> dict[tuple, list[float]]:
    rows = {}
    for n in args.points:
        for m in args.members:
            members, factor = hotspot(n, m)
            target = current.FusionTarget.from_channels(members, device="cpu", memory_budget=BUDGET)
            for threads in args.threads:
                torch.set_num_threads(threads)
                kernel, step = kernel_ms(target), step_ms(current, members)
                row = [kernel, step, step / kernel]
                if baseline is not None:
                    base = step_ms(baseline, members)
                    row += [base, base / step]
                row.append(fused_nmi(members, factor))
                rows[(n, m, threads)] = row
                print(_line(n, m, threads, row), flush=True)
    return rows


def _line(n: int, m: int, threads: int, row: list[float]) -> str:
    cells = [f"{v:9.1f}" if i < 2 or i == 3 else f"{v:9.2f}" for i, v in enumerate(row[:-1])]
    return f"{n:>6} {m:>4} {threads:>4} " + " ".join(cells) + f" {row[-1]:9.4f}"


def header(baseline: bool) -> str:
    cols = ["kernel ms", "step ms", "step/kern"] + (["base ms", "base/step"] if baseline else [])
    return f"{'N':>6} {'M':>4} {'thr':>4} " + " ".join(f"{c:>9}" for c in [*cols, "nmi"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--members", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, torch.get_num_threads()])
    parser.add_argument("--baseline", help="git revision or directory of an info package")
    parser.add_argument("--quiet-only", action="store_true", help="skip the loaded pass")
    args = parser.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline else None
    print(f"load average {os.getloadavg()}; torch {torch.__version__}, {os.cpu_count()} cores")
    print("quiet\n" + header(baseline is not None))
    quiet = measure(args, baseline)
    if args.quiet_only:
        return
    with competing_load() as busy:
        print(f"\nwith {busy} busy processes (one per core)\n" + header(baseline is not None))
        loaded = measure(args, baseline)
    print("\nloaded / quiet, per gradient step (fair share: 2x)")
    for key, row in quiet.items():
        n, m, threads = key
        print(f"{n:>6} {m:>4} {threads:>4} {loaded[key][1] / row[1]:9.2f}")


if __name__ == "__main__":
    main()
