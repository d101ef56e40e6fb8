"""NMI precision of the pairwise engine at float32, and what it costs (issue: NMI exact where
it is fragile).

Murphy, Dillavou & Bassett, TMLR 2025 (arXiv 2405.21042), Sec. 3. For channels just above
the analysis's 0.01-bit threshold the NMI denominator I(U;U') = 2 I_U − I_UU' is ~1e-4
bits; formed from float32 informations near log2 N it loses ~1e-2 of the NMI. The engine
(``infoprint.info.pairwise.pairwise_information``) computes I(U;V) and I(U;U') from
centred coefficient rows instead. This script prints

1. precision: max |NMI − NMI(float64)| at float32 over near-threshold channels (0.0105 to
   0.0125 bits) and over a mix of weak and informative ones, and max |VI − VI(float64)|;
2. cost: ``pairwise_joint_information`` and ``compare`` on M channels (default 50 runs x
   10) and N probe points (default 1000), interleaved with a baseline copy of the info
   package when ``--baseline`` is given, repeats in alternating order, median of the
   per-repeat ratios of process CPU time (robust to other processes on the machine) and
   of wall time.

    python bench/nmi_precision.py                          # precision, and timing alone
    python bench/nmi_precision.py --baseline HEAD~1        # the info package at a revision
    python bench/nmi_precision.py --baseline /tmp/old_info # or a copy of src/infoprint/info
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import ModuleType

import numpy as np
import torch
from _common import load_baseline

import infoprint.info as current


def near_threshold(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` correlated blurred channels of 0.0105–0.0125 bits each on ``n`` points."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(n, 3)) @ rng.normal(size=(3, m)) + 0.5 * rng.normal(size=(n, m))
    mu /= mu.std(0)
    logvar = 0.1 * rng.normal(size=(n, m))
    target, scale = rng.uniform(0.0105, 0.0125, size=m), np.full(m, 0.2)
    for _ in range(4):
        bits = current.information(
            current.GaussianChannels(mu * scale, logvar), dtype=torch.float64, device="cpu"
        )
        scale *= np.sqrt(target / bits.numpy())
    return mu * scale, logvar


def runs_like(runs: int, per_run: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` x ``per_run`` channels: per run 60 % informative, 40 % near the threshold."""
    rng = np.random.default_rng(seed)
    weak = max(1, (2 * per_run) // 5)
    mus, lvs = [], []
    for r in range(runs):
        mu = rng.normal(size=(n, per_run - weak)) * rng.uniform(0.3, 3.0, per_run - weak)
        lv = rng.uniform(-3.0, 0.0, size=(n, per_run - weak))
        w_mu, w_lv = near_threshold(n, weak, seed=seed + r + 1)
        mus += [mu, w_mu]
        lvs += [lv, w_lv]
    return np.concatenate(mus, 1).astype(np.float32), np.concatenate(lvs, 1).astype(np.float32)


def literal_float64(mu: np.ndarray, logvar: np.ndarray) -> dict[str, np.ndarray]:
    """The paper's formulas as written (docs/architecture.md §5), in float64 NumPy: each
    channel's N x N coefficients from the log-determinant form of D_B, I = −mean log2 of
    the row means, NMI = (I_U + I_V − I_UV) / sqrt((2 I_U − I_UU')(2 I_V − I_VV'))."""
    mu, logvar = np.asarray(mu, np.float64).T, np.asarray(logvar, np.float64).T  # [M, N]
    sbar = (np.exp(logvar)[:, :, None] + np.exp(logvar)[:, None, :]) / 2.0
    d = (mu[:, :, None] - mu[:, None, :]) ** 2 / (8.0 * sbar)
    d += 0.5 * (np.log(sbar) - 0.5 * (logvar[:, :, None] + logvar[:, None, :]))
    c = np.exp(-d)  # [M, N, N]
    info = -np.log2(c.mean(-1)).mean(-1)
    joint = np.stack([-np.log2((ca[None] * c).mean(-1)).mean(-1) for ca in c])
    shared = 2 * info - np.diag(joint)
    nmi = (info[:, None] + info[None, :] - joint) / np.sqrt(np.outer(shared, shared))
    return {"information": info, "nmi": nmi, "vi": 2 * joint - np.add.outer(*[np.diag(joint)] * 2)}


def precision(mod: ModuleType, mu: np.ndarray, logvar: np.ndarray) -> dict[str, float]:
    """Max |NMI − NMI(float64)| (all pairs, and pairs of channels above 0.1 bits) and max
    |VI − VI(float64)| at float32 against :func:`literal_float64`."""
    ref = literal_float64(mu, logvar)
    got = mod.compare(mod.GaussianChannels(mu, logvar), dtype=torch.float32, device="cpu")
    d_nmi = np.abs(got.nmi.numpy() - ref["nmi"])
    big = ref["information"] > 0.1
    return {
        "nmi": d_nmi.max(),
        "nmi>0.1bit": d_nmi[np.ix_(big, big)].max() if big.any() else float("nan"),
        "vi": np.abs(got.vi.numpy() - ref["vi"]).max(),
        "min bits": ref["information"].min(),
    }


def print_precision(mods: dict[str, ModuleType]) -> None:
    cases = {
        "40 near-threshold, N=600": near_threshold(600, 40, seed=0),
        "10 runs x 10 mixed, N=600": runs_like(10, 10, 600, seed=5),
    }
    for label, (mu, lv) in cases.items():
        for name, mod in mods.items():
            p = precision(mod, mu, lv)
            print(
                f"  {label:27s} {name:9s} max|dNMI| {p['nmi']:.2e}  (>0.1 bit: "
                f"{p['nmi>0.1bit']:.2e})  max|dVI| {p['vi']:.2e}  min I {p['min bits']:.4f}"
            )


def one_timing(mod: ModuleType, what: str, mu: np.ndarray, lv: np.ndarray) -> tuple[float, float]:
    """(process CPU s, wall s) of one call, on a fresh channel set."""
    ch = mod.GaussianChannels(mu, lv)
    fn = mod.pairwise_joint_information if what == "pairwise" else mod.compare
    t0, c0 = time.perf_counter(), time.process_time()
    fn(ch, device="cpu")
    return time.process_time() - c0, time.perf_counter() - t0


def print_timing(mods: dict[str, ModuleType], mu: np.ndarray, lv: np.ndarray, repeats: int) -> None:
    """Interleaved repeats (order alternating), medians and the median per-repeat ratio."""
    for what in ("pairwise", "compare"):
        for mod in mods.values():
            one_timing(mod, what, mu[:64, :32], lv[:64, :32])  # load code paths first
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in mods}
        for r in range(repeats):
            for name in list(mods)[:: 1 if r % 2 == 0 else -1]:
                times[name].append(one_timing(mods[name], what, mu, lv))
        line = f"  {what:9s}"
        for name, ts in times.items():
            cpu, wall = statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts)
            line += f"  {name}: cpu {cpu:.3f} s wall {wall:.3f} s"
        if "baseline" in times:
            pairs = list(zip(times["current"], times["baseline"], strict=True))
            cpu_ratio = statistics.median(c[0] / b[0] for c, b in pairs)
            wall_ratio = statistics.median(c[1] / b[1] for c, b in pairs)
            line += f"  current/baseline: cpu {cpu_ratio:.3f} wall {wall_ratio:.3f}"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="git revision or directory of an info package")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--per-run", type=int, default=10)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-precision", action="store_true")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    mods = {"current": current}
    if args.baseline:
        mods["baseline"] = load_baseline(args.baseline)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not args.no_precision:
        print("precision at float32 against the formulas in float64 (NumPy):")
        print_precision(mods)
    if not args.no_timing:
        mu, lv = runs_like(args.runs, args.per_run, args.points)
        print(f"time, {mu.shape[1]} channels on {args.points} points, {args.repeats} repeats:")
        print_timing(mods, mu, lv, args.repeats)


if __name__ == "__main__":
    main()
