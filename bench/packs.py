"""Packs against separate runs: steps per second per member (docs/architecture.md §9).

For pack sizes K (default 1, 2, 4, 8) and image sides (default 32 px), a β-VAE (conv net,
batch 64, Adam 1e-4) is trained two ways in this process, interleaved round by round so
that load from other processes hits both:

- separate: K models, K Adam optimisers, one plain PyTorch step after the other (what K
  jobs do, without Lightning and without process start-up);
- pack: one :class:`~infoprint.models.pack.Pack` of K members (stacked parameters, one
  ``vmap`` over the loss, one backward, one Adam over the stacked tensors).

Both see the same precomputed batches (the data pipeline is the same per member either
way, see bench/training.py for its headroom). Reported per member: steps/s by wall clock
and by this process's CPU time, and the pack's gain (separate time ÷ pack time, medians
over rounds of the per-round ratio). The last line projects the paper's ensemble (50
models × 300k steps) on this machine from the best rate measured.

    python bench/packs.py [--quick] [--threads 1] [--sizes 1,2,4,8] [--sides 32,64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from itertools import islice

import torch

from bench.training import make_model
from infoprint.data.module import UniformBatches
from infoprint.data.sprites import ProceduralSprites
from infoprint.models.pack import Pack
from infoprint.models.vae import VAE

BATCH = 64
ENSEMBLE, STEPS = 50, 300_000
TARGET_GAIN = 1.5
Clock = tuple[float, float]  # (wall, process CPU) seconds


def now() -> Clock:
    return time.perf_counter(), time.process_time()


def batches(dataset: ProceduralSprites, members: int, count: int) -> torch.Tensor:
    """[count, members, B, C, S, S]: each member's own stream (seed = member)."""
    streams = [
        [x for x, _ in islice(iter(UniformBatches(dataset, BATCH, seed)), count)]
        for seed in range(members)
    ]
    return torch.stack([torch.stack(step) for step in zip(*streams, strict=True)])


def models(dataset: ProceduralSprites, members: int) -> list[VAE]:
    built = []
    for seed in range(members):
        torch.manual_seed(seed)
        built.append(make_model("beta_vae", dataset).train())
    return built


def separate_seconds(members: list[VAE], data: torch.Tensor, warmup: int, steps: int) -> Clock:
    optimizers = [m.configure_optimizers() for m in members]
    start = now()
    for step in range(warmup + steps):
        if step == warmup:
            start = now()
        for k, (model, optimizer) in enumerate(zip(members, optimizers, strict=True)):
            loss = model.step_loss(data[step % len(data), k], step).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    end = now()
    return (end[0] - start[0]) / steps, (end[1] - start[1]) / steps


def pack_seconds(members: list[VAE], data: torch.Tensor, warmup: int, steps: int) -> Clock:
    pack = Pack(members)
    latent = members[0].latent_dim
    generators = [torch.Generator().manual_seed(k) for k in range(pack.size)]
    start = now()
    for step in range(warmup + steps):
        if step == warmup:
            start = now()
        noise = torch.stack([torch.randn(BATCH, latent, generator=g) for g in generators])
        pack.step(data[step % len(data)], noise, step)
    end = now()
    return (end[0] - start[0]) / steps, (end[1] - start[1]) / steps


def measure(
    side: int, size: int, warmup: int, steps: int, rounds: int
) -> tuple[list[Clock], list[Clock]]:
    dataset = ProceduralSprites(resolution=side)
    data = batches(dataset, size, 8)
    separate, pack = [], []
    for _ in range(rounds):
        separate.append(separate_seconds(models(dataset, size), data, warmup, steps))
        pack.append(pack_seconds(models(dataset, size), data, warmup, steps))
    return separate, pack


def rate(size: int, times: list[Clock], clock: int) -> float:
    """Member steps per second from the median step time."""
    return size / statistics.median(t[clock] for t in times)


def row(side: int, size: int, separate: list[Clock], pack: list[Clock], clock: int) -> None:
    gain = statistics.median(s[clock] / p[clock] for s, p in zip(separate, pack, strict=True))
    label = ("wall", "cpu")[clock]
    print(
        f"{side:>4}{size:>5}{label:>6}{rate(size, separate, clock):>12.2f}"
        f"{rate(size, pack, clock):>10.2f}{gain:>8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--sizes", default="1,2,4,8")
    parser.add_argument("--sides", default="32")
    args = parser.parse_args()
    warmup, steps, rounds = (2, 5, 3) if args.quick else (3, 15, 5)
    torch.set_num_threads(args.threads)
    print(
        f"CPU, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, β-VAE conv, "
        f"batch {BATCH}, {steps} timed steps after {warmup} warm-up, {rounds} rounds"
    )
    print(f"load average (1, 5, 15 min) before: {os.getloadavg()}")
    print(f"{'px':>4}{'K':>5}{'clock':>6}{'separate/s':>12}{'pack/s':>10}{'gain':>8}")
    best = 0.0
    for side in (int(s) for s in args.sides.split(",")):
        for size in (int(k) for k in args.sizes.split(",")):
            separate, pack = measure(side, size, warmup, steps, rounds)
            row(side, size, separate, pack, 0)
            row(side, size, separate, pack, 1)
            best = max(best, rate(size, separate, 0), rate(size, pack, 0))
    print(f"load average (1, 5, 15 min) after: {os.getloadavg()}")
    print(
        f"member steps/s (wall, best of both): {best:.2f}; the paper's ensemble "
        f"({ENSEMBLE} × {STEPS} steps) would take {ENSEMBLE * STEPS / best / 3600:.0f} h "
        f"here (target gain at K=8, 32 px: >= {TARGET_GAIN})"
    )


if __name__ == "__main__":
    main()
