"""Cost of snapshots during training: the demo model with and without them.

Trains the demo's model (β-VAE, conv net, 32 px procedural dSprites, batch 64, probe set
of ``--probe`` points) for ``--steps`` steps, once with ``fingerprint.every_n_steps=--every``
(snapshots at step 0, every k steps and at the end) and once without, interleaved over
``--repeats`` rounds in this process; prints the wall and CPU time of each and the
overhead ratio. Run on a quiet machine (the load is printed).

    python bench/snapshots.py [--steps 2000] [--every 1000] [--probe 500] [--repeats 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from infoprint.tasks.train import train

CONF = Path(__file__).resolve().parents[1] / "conf"


def run(out: Path, steps: int, every: int, probe: int) -> tuple[float, float]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            [
                "experiment=demo",
                "logger=none",
                "callbacks=none",
                f"trainer.max_steps={steps}",
                f"fingerprint.size={probe}",
                f"fingerprint.every_n_steps={every}",
                "sweep_name=bench",
                "torch_threads=1",
            ],
        )
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    wall, cpu = time.perf_counter(), time.process_time()
    train(cfg)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--probe", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"load average before {os.getloadavg()}")
    times: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            for name, every in (("without", 0), ("with", args.every)):
                times[name].append(run(Path(tmp) / f"{name}{k}", args.steps, every, args.probe))
    n_snapshots = len(range(0, args.steps + 1, args.every))
    print(
        f"{args.steps} steps, probe {args.probe}, snapshots every {args.every} "
        f"({n_snapshots} snapshots incl. step 0 and the end); load after {os.getloadavg()}"
    )
    base = {i: statistics.median(t[i] for t in times["without"]) for i in (0, 1)}
    for name, measured in times.items():
        wall = statistics.median(t[0] for t in measured)
        cpu = statistics.median(t[1] for t in measured)
        print(
            f"{name:>8} snapshots: wall {wall:7.1f} s ({wall / base[0]:.3f}x), "
            f"cpu {cpu:7.1f} s ({cpu / base[1]:.3f}x)"
        )


if __name__ == "__main__":
    main()
