"""A study at the paper's scale: 6 ensembles × 50 runs × 10 channels at 1,000 probe points.

Synthetic fingerprints with known structure (each ensemble's runs encode some of two
factors in a few channels, with run-to-run noise; the other channels carry next to
nothing) are written to a temp folder and analysed with the default options as one
``python analyze.py`` would (a study: 6 ensembles), timing every stage and measuring its
peak memory (the process's peak RSS, reset before each stage). Target: the whole default
analysis under 5 minutes on a 2-core machine. With ``--load``, the same analysis runs again
with one busy process per core (started and stopped here) and each stage's loaded/quiet
ratio is printed (fair share: 2x).

    python bench/study.py [--ensembles 6] [--runs 50] [--channels 10] [--points 1000] [--load]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _common import competing_load
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.terminal import StepProgress
from infoprint.tasks.analyze import analyze

CONF = Path(__file__).resolve().parents[1] / "conf"


def _rss(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(key + r":\s+(\d+)", text).group(1)) * 1024


class TimedProgress(StepProgress):
    """StepProgress that records each stage's seconds and peak RSS (MiB)."""

    def __init__(self) -> None:
        super().__init__()
        self.stages: list[tuple[str, float, float]] = []

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (Linux)
        started = time.perf_counter()
        with super().step(title):
            yield
        self.stages.append((title, time.perf_counter() - started, _rss("VmHWM") / 2**20))


def write_study(root: Path, ensembles: int, runs: int, channels: int, points: int) -> None:
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 32, points), rng.integers(0, 32, points)], axis=1)
    for e in range(ensembles):
        beta = float(2**e)
        learned = 2 if e < ensembles // 2 else 1  # weaker regularisation learns both factors
        for r in range(runs):
            mu = rng.normal(0, 0.01, (points, channels))
            logvar = np.zeros((points, channels))
            slots = rng.choice(channels, size=learned, replace=False)
            for k, slot in enumerate(slots):
                mu[:, slot] = factors[:, k] / 8 + rng.normal(0, 0.1, points)
                logvar[:, slot] = -4.0
            Fingerprint(
                mu=mu.astype(np.float32),
                logvar=logvar.astype(np.float32),
                probe_index=np.arange(points),
                factors=factors,
                meta={
                    "run_id": f"e{e}r{r}",
                    "probe_digest": "b" * 64,
                    "model": "beta_vae",
                    "hyperparameters": {"beta": beta},
                    "seed": r,
                    "sweep": "bench",
                    "job_num": e * runs + r,
                    "factor_names": ["posX", "posY"],
                    "latent_dim": channels,
                    "dataset": "synthetic",
                },
            ).save(root / "runs" / f"{e * runs + r}")


def run_study(args: argparse.Namespace) -> tuple[dict[str, list[float]], float, int]:
    """Seconds, peak RSS and count per stage, the total seconds and the runs analysed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_study(root, args.ensembles, args.runs, args.channels, args.points)
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("analyze", [f"source.path={root / 'runs'}", "logger=none"])
        with open_dict(cfg):
            cfg.paths.output_dir = str(root / "out")
        progress = TimedProgress()
        started = time.perf_counter()
        found = analyze(cfg, progress)
        total = time.perf_counter() - started
    by_stage: dict[str, list[float]] = {}
    for title, seconds, peak in progress.stages:
        name = re.sub(r"\d+ runs|directory .*", "", title).strip()
        entry = by_stage.setdefault(name, [0.0, 0.0, 0])
        entry[0] += seconds
        entry[1] = max(entry[1], peak)
        entry[2] += 1
    return by_stage, total, found["n_runs"]


def print_stages(by_stage: dict[str, list[float]], total: float) -> None:
    print(f"{'stage':<45} {'times':>5} {'seconds':>9} {'peak RSS MiB':>13}")
    for name, (seconds, peak, times) in sorted(by_stage.items(), key=lambda kv: -kv[1][0]):
        print(f"{name[:45]:<45} {times:>5} {seconds:>9.1f} {peak:>13.0f}")
    print(f"{'total':<45} {'':>5} {total:>9.1f}   (target < 300 s); load {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ensembles", type=int, default=6)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument(
        "--load", action="store_true", help="run again with one busy process per core"
    )
    args = parser.parse_args()
    print(f"load average before {os.getloadavg()}")
    quiet, total, n_runs = run_study(args)
    print(
        f"\n{args.ensembles} ensembles x {args.runs} runs x {args.channels} channels, "
        f"{args.points} probe points: {n_runs} runs"
    )
    print_stages(quiet, total)
    if not args.load:
        return
    with competing_load() as busy:
        loaded, loaded_total, _ = run_study(args)
    print(f"\nwith {busy} busy processes (one per core)")
    print_stages(loaded, loaded_total)
    print(f"\n{'stage':<45} loaded/quiet (fair share 2x)")
    for name, (seconds, _, _) in sorted(quiet.items(), key=lambda kv: -kv[1][0]):
        if seconds >= 0.5:
            print(f"{name[:45]:<45} {loaded[name][0] / seconds:9.2f}")
    print(f"{'total':<45} {loaded_total / total:9.2f}")


if __name__ == "__main__":
    main()
