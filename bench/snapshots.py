"""Cost of snapshots during training: the demo model with and without them.

Trains the demo's model (β-VAE, conv net, 32 px procedural dSprites, batch 64, probe set
of ``--probe`` points) for ``--steps`` steps, once with ``fingerprint.every_n_steps=--every``
(snapshots at step 0, every k steps and at the end) and once without, interleaved over
``--repeats`` rounds in this process; prints the wall and CPU time of each and the
overhead ratio. Run on a quiet machine (the load is printed).

It first times the two parts directly, interleaved (a training step of the demo model,
one snapshot: encode the probe set, information per channel, append and save the series),
which on a shared machine is steadier than two whole runs; ``--repeats 0`` stops there.

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


def component_costs(probe_size: int, every: int, rounds: int = 5) -> None:
    """Median time of a training step and of one snapshot, interleaved, one thread."""
    import numpy as np
    import torch

    from infoprint.data.sprites import ProceduralSprites
    from infoprint.fingerprint.capture import channel_information, model_encoder
    from infoprint.fingerprint.probe import select_probe_set
    from infoprint.fingerprint.snapshots import SnapshotSeries
    from infoprint.models.builder import build_model, model_spec
    from infoprint.models.inference import encode_in_batches, evaluating

    torch.set_num_threads(1)
    data = ProceduralSprites(resolution=32)
    model = build_model(
        model_spec(
            {"_target_": "infoprint.models.objectives.BetaVAE", "beta": 4.0},
            {"_target_": "infoprint.models.nets.ConvNet", "latent_dim": 10},
            {"_target_": "infoprint.models.likelihoods.Bernoulli"},
            {"_target_": "torch.optim.Adam", "lr": 1e-3},
            (1, 32, 32),
            len(data),
        )
    )
    probe = select_probe_set(data, probe_size, 0)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    batch = torch.from_numpy(np.stack([data[i][0] for i in range(64)]))
    series = SnapshotSeries.empty(probe.digest, probe_size, 10)
    out = Path(tempfile.mkdtemp())
    steps, snapshots = [], []
    for k in range(rounds):
        started = time.perf_counter()
        for _ in range(50):
            optimizer.zero_grad()
            model.step_loss(batch, 0).loss.backward()
            optimizer.step()
        steps.append((time.perf_counter() - started) / 50)
        started = time.perf_counter()
        encode, device = model_encoder(model)
        with evaluating(model):
            mu, logvar = encode_in_batches(encode, probe.images, device, 500)
        channel_information(mu, logvar)
        series.append(k, mu, logvar)
        series.save(out)
        snapshots.append(time.perf_counter() - started)
    step, snapshot = statistics.median(steps), statistics.median(snapshots)
    print(
        f"training step {step * 1e3:.1f} ms, snapshot {snapshot * 1e3:.0f} ms: a snapshot "
        f"every {every} steps costs {snapshot / (every * step) * 100:.2f} % of training"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--probe", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"load average before {os.getloadavg()}")
    component_costs(args.probe, args.every)
    if args.repeats == 0:
        return
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
