"""Time the fingerprint callback adds to a run: the demo's training with and without it.

The demo's model and data (β-VAE, conv net, 32 px procedural dSprites, its batch size and
precision, one thread: ``experiment=demo``) trained by a bare
Lightning Trainer for ``--steps`` steps, with ``FingerprintCallback(size=--probe)`` and
without any callback, interleaved over ``--repeats`` rounds in this process. The callback's
work is fixed per run (probe set and encoder check at setup, encoding the probe set and
information per channel at fit end), so it is also projected to the demo's run length
(``--demo-steps``, default the demo's ``trainer.max_steps``). Run on a quiet machine: the
load is printed.

    python bench/callback.py [--steps 300] [--probe 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir

from infoprint.callbacks import FingerprintCallback
from infoprint.tasks.train import build

CONF = Path(__file__).resolve().parents[1] / "conf"


def demo_config(steps: int | None = None):
    """The demo's training config; with ``steps``, that many steps."""
    overrides = ["sweep_name=bench", "paths.output_dir=-"]
    if steps is not None:
        overrides.append(f"trainer.max_steps={steps}")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", ["experiment=demo", *overrides])


def fit(cfg, out: Path, probe: int | None) -> float:
    """Seconds of ``Trainer.fit`` of the demo model, with the callback when ``probe``."""
    pl.seed_everything(0, verbose=False)
    datamodule, model, _ = build(cfg, job_num=0)
    callbacks = [FingerprintCallback(size=probe, output_dir=out)] if probe else []
    quiet = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer = pl.Trainer(
        max_steps=cfg.trainer.max_steps,
        precision=cfg.trainer.precision,
        enable_model_summary=False,
        callbacks=callbacks,
        default_root_dir=str(out),
        **quiet,
    )
    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--probe", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--demo-steps", type=int, default=None)
    args = parser.parse_args()
    args.demo_steps = args.demo_steps or demo_config().trainer.max_steps
    logging.disable(logging.INFO)
    torch.set_num_threads(1)
    cfg = demo_config(args.steps)
    load = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    print(f"{load}; precision {cfg.trainer.precision}; {args.steps} steps, probe {args.probe}")
    with tempfile.TemporaryDirectory() as tmp:
        fit(cfg, Path(tmp) / "warm-up", args.probe)
        bare, with_callback = [], []
        for k in range(args.repeats):
            bare.append(fit(cfg, Path(tmp) / f"bare-{k}", None))
            with_callback.append(fit(cfg, Path(tmp) / f"callback-{k}", args.probe))
    t0, t1 = statistics.median(bare), statistics.median(with_callback)
    fixed = t1 - t0
    per_step = t0 / args.steps
    print(f"without the callback {t0:.2f} s, with it {t1:.2f} s (medians of {args.repeats})")
    print(f"overhead at {args.steps} steps: {100 * fixed / t0:.2f} %  ({fixed:.2f} s per run)")
    demo = per_step * args.demo_steps
    projected = f"{100 * fixed / demo:.2f} %"
    print(
        f"projected to the demo's {args.demo_steps} steps ({demo:.0f} s of training): {projected}"
    )


if __name__ == "__main__":
    main()
