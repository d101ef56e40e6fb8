"""Training throughput: Lightning's overhead over a bare PyTorch loop, and data headroom.

For every model in conf/model/ (at its yaml defaults) with the conv net at 64 px and
batch 64 (disentanglement_lib's setting):

- steps/s of ``Trainer.fit`` (the VAE module, its ``self.log`` calls, a CSV logger that
  writes every 50 steps) and of a bare PyTorch loop that runs the same module's loss, the
  same backward passes and the same optimisers on the same batch. Both are measured in
  this process, interleaved round by round, so load from other processes hits both;
  overhead = bare steps/s ÷ Lightning steps/s (target <= 1.10), medians over rounds.
- samples/s of the data pipeline (``GroundTruthDataModule`` over procedural dSprites at
  64 px, as configured: num_workers 0) against the model's consumption, Lightning steps/s
  × batch (target >= 10×).

Rates are given per wall-clock second and, on the CPU, per second of this process's CPU
time: on a machine shared with other jobs the wall clock measures the load as much as
the code, while CPU time (one thread by default) measures the work done.

``--packs``: members' steps/s of packs of 1, 2, 4, 8, 16 (and 50 on a GPU) members at 32
and 64 px against as many separate models, and the paper's ensemble projected
(``bench/packs.py``). ``--levers``: channels-last, fused Adam, ``torch.compile`` and mixed
precision, each against the plain step (``bench/levers.py``).

    python bench/training.py [--quick] [--threads 1] [--device cuda] [--models beta_vae,...]
    python bench/training.py --packs [--quick] [--device cuda] [--profile]
    python bench/training.py --levers [--quick] [--device cuda]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import warnings
from collections.abc import Callable, Iterator

import levers
import packs
import pytorch_lightning as pl
import torch
from _common import Clock, make_model, now, per_step, synchronizer
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, IterableDataset

from infoprint.data.module import GroundTruthDataModule
from infoprint.data.sprites import ProceduralSprites
from infoprint.models.vae import VAE

MODELS = (
    "beta_vae",
    "annealed_vae",
    "factor_vae",
    "beta_tcvae",
    "dip_vae_i",
    "dip_vae_ii",
    "decomp_vae",
)
BATCH = 64
TARGET_OVERHEAD = 1.10
TARGET_DATA = 10.0


class SameBatch(IterableDataset):
    """One fixed batch, forever: both loops see identical data at no cost."""

    def __init__(self, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        super().__init__()
        self.batch = batch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield self.batch


class StepClock(pl.Callback):
    """Both clocks at the end of every training batch."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.times: list[Clock] = []

    def on_train_batch_end(self, *args) -> None:
        self.times.append(now(self.sync))


def lightning_step_seconds(
    model: VAE, loader: DataLoader, warmup: int, steps: int, device: str, log_dir: str
) -> Clock:
    clock = StepClock(synchronizer(device))
    trainer = pl.Trainer(
        accelerator=device,
        devices=1,
        max_steps=warmup + steps,
        logger=CSVLogger(log_dir, name="bench"),
        log_every_n_steps=50,
        callbacks=[clock],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, loader)
    return per_step(clock.times[warmup - 1], clock.times[-1], steps)


def bare_step_seconds(
    model: VAE, loader: DataLoader, warmup: int, steps: int, device: str
) -> Clock:
    """The module's own loss and optimisers in a plain loop (what Trainer.fit automates)."""
    model.to(device).train()
    optimizers = model.configure_optimizers()
    vae, *adversary = optimizers if isinstance(optimizers, list) else [optimizers]
    sync = synchronizer(device)
    batches = iter(loader)
    start = now(sync)
    for step in range(warmup + steps):
        if step == warmup:
            start = now(sync)
        x = next(batches)[0].to(device)
        result = model.step_loss(x, step)
        if adversary:
            adversary_loss, _ = model.objective.adversary_loss(result.posterior)
        vae.zero_grad()
        result.loss.backward()
        vae.step()
        if adversary:
            adversary[0].zero_grad()
            adversary_loss.backward()
            adversary[0].step()
    return per_step(start, now(sync), steps)


def data_batch_seconds(dataset: ProceduralSprites, batches: int) -> Clock:
    loader = GroundTruthDataModule(dataset, batch_size=BATCH, seed=0).train_dataloader()
    stream = iter(loader)
    next(stream)
    start = now()
    for _ in range(batches):
        next(stream)
    return per_step(start, now(), batches)


def report(
    name: str, lightning: list[Clock], bare: list[Clock], data: list[Clock], clock: int
) -> tuple[float, float]:
    """Print one row for clock 0 (wall) or 1 (CPU); returns (overhead, data headroom)."""
    step = statistics.median(li[clock] for li in lightning)
    overhead = statistics.median(
        li[clock] / b[clock] for li, b in zip(lightning, bare, strict=True)
    )
    headroom = step / statistics.median(d[clock] for d in data)
    bare_rate = 1 / statistics.median(b[clock] for b in bare)
    label = ("wall", "cpu")[clock]
    print(
        f"{name:<14}{label:>6}{1 / step:>13.2f}{bare_rate:>9.2f}{overhead:>10.3f}{headroom:>9.1f}"
    )
    return overhead, headroom


def overhead_table(args: argparse.Namespace) -> None:
    """Lightning against the bare loop and the data pipeline, one row per model and clock."""
    warmup, steps, rounds = (3, 10, 3) if args.quick else (5, 30, 5)
    torch.manual_seed(0)
    dataset = ProceduralSprites(resolution=64)
    batch = next(iter(GroundTruthDataModule(dataset, BATCH, seed=0).train_dataloader()))
    loader = DataLoader(SameBatch(batch), batch_size=None)
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    clocks = (0, 1) if args.device == "cpu" else (0,)
    print(
        f"device {device_name}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()},"
        f" batch {BATCH} at 64 px, {steps} timed steps after {warmup} warm-up, {rounds} rounds"
    )
    print(f"load average (1, 5, 15 min) before: {os.getloadavg()}")
    print(f"{'model':<14}{'clock':>6}{'lightning/s':>13}{'bare/s':>9}{'overhead':>10}{'data ×':>9}")
    worst_overhead, worst_data = {c: 0.0 for c in clocks}, {c: float("inf") for c in clocks}
    with tempfile.TemporaryDirectory() as log_dir:
        for name in args.models.split(","):
            model = make_model(name, dataset.resolution)
            lightning, bare, data = [], [], []
            for _ in range(rounds):
                lightning.append(
                    lightning_step_seconds(model, loader, warmup, steps, args.device, log_dir)
                )
                bare.append(bare_step_seconds(model, loader, warmup, steps, args.device))
                data.append(data_batch_seconds(dataset, steps))
            for clock in clocks:
                overhead, headroom = report(name, lightning, bare, data, clock)
                worst_overhead[clock] = max(worst_overhead[clock], overhead)
                worst_data[clock] = min(worst_data[clock], headroom)
    print(f"load average (1, 5, 15 min) after: {os.getloadavg()}")
    for clock in clocks:
        print(
            f"{('wall', 'cpu')[clock]}: worst Lightning overhead {worst_overhead[clock]:.3f} "
            f"(target <= {TARGET_OVERHEAD}); worst data headroom {worst_data[clock]:.1f}× "
            f"(target >= {TARGET_DATA:.0f}×)"
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: on a shared machine more threads than idle "
        "cores make every step wait for the slowest thread)",
    )
    parser.add_argument("--packs", action="store_true", help="packs against separate runs")
    parser.add_argument("--levers", action="store_true", help="speed levers of one step")
    parser.add_argument("--profile", action="store_true", help="with --packs: CPU profiles")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    torch.set_num_threads(args.threads)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    if not (args.packs or args.levers):
        overhead_table(args)
        return
    print(f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}, {args.device}")
    if args.packs and args.profile:
        packs.profile()
    (packs if args.packs else levers).run(args.quick, args.device)


if __name__ == "__main__":
    main()
