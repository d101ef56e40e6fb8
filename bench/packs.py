"""Packs against separate runs: steps per second per member (docs/architecture.md §9).

Run through ``python bench/training.py --packs``. For pack sizes K (1, 2, 4, 8, 16; and
50 on a GPU) and image sides (32 and 64 px), a β-VAE (conv net, batch 64, Adam 1e-4) is
trained two ways in this process, interleaved round by round so that load from other
processes hits both:

- separate: K models, K Adam optimisers, one plain PyTorch step after the other (what K
  jobs do, without Lightning and without process start-up);
- pack: one :class:`~infoprint.models.pack.Pack` of K members (stacked parameters, one
  ``vmap`` over the loss, one backward, one Adam over the stacked tensors).

Both see the same precomputed batches (the data pipeline is the same per member either
way, see bench/training.py for its headroom). Reported per member: steps/s by wall clock
and by this process's CPU time, and the pack's gain (separate time ÷ pack time, medians
over rounds of the per-round ratio). The last line projects the paper's ensemble (50
models × 300k steps at 64 px) on this machine from the best rate measured at 64 px.
"""

from __future__ import annotations

import os
import statistics
from itertools import islice

import torch
from _common import Clock, make_model, now, per_step, synchronizer

from infoprint.data.module import UniformBatches
from infoprint.data.sprites import ProceduralSprites
from infoprint.models.pack import Pack
from infoprint.models.vae import VAE

BATCH = 64
ENSEMBLE, STEPS = 50, 300_000
TARGET_GAIN = 1.5


def batches(dataset: ProceduralSprites, members: int, count: int, device: str) -> torch.Tensor:
    """[count, members, B, C, S, S]: each member's own stream (seed = member)."""
    streams = [
        [x for x, _ in islice(iter(UniformBatches(dataset, BATCH, seed)), count)]
        for seed in range(members)
    ]
    return torch.stack([torch.stack(step) for step in zip(*streams, strict=True)]).to(device)


def models(dataset: ProceduralSprites, members: int, device: str) -> list[VAE]:
    built = []
    for seed in range(members):
        torch.manual_seed(seed)
        built.append(make_model("beta_vae", dataset.resolution).to(device).train())
    return built


def separate_seconds(members: list[VAE], data: torch.Tensor, warmup: int, steps: int) -> Clock:
    optimizers = [m.configure_optimizers() for m in members]
    sync = synchronizer(data.device.type)
    start = now(sync)
    for step in range(warmup + steps):
        if step == warmup:
            start = now(sync)
        for k, (model, optimizer) in enumerate(zip(members, optimizers, strict=True)):
            loss = model.step_loss(data[step % len(data), k], step).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return per_step(start, now(sync), steps)


def pack_seconds(members: list[VAE], data: torch.Tensor, warmup: int, steps: int) -> Clock:
    device = data.device.type
    pack = Pack([m.cpu() for m in members], device)
    latent = members[0].latent_dim
    generators = [torch.Generator().manual_seed(k) for k in range(pack.size)]
    sync = synchronizer(device)
    start = now(sync)
    for step in range(warmup + steps):
        if step == warmup:
            start = now(sync)
        noise = torch.stack([torch.randn(BATCH, latent, generator=g) for g in generators])
        pack.step(data[step % len(data)], noise.to(device), step)
    return per_step(start, now(sync), steps)


def measure(
    side: int, size: int, warmup: int, steps: int, rounds: int, device: str
) -> tuple[list[Clock], list[Clock]]:
    dataset = ProceduralSprites(resolution=side)
    data = batches(dataset, size, 8, device)
    separate, pack = [], []
    for _ in range(rounds):
        separate.append(separate_seconds(models(dataset, size, device), data, warmup, steps))
        pack.append(pack_seconds(models(dataset, size, "cpu"), data, warmup, steps))
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


def profile(side: int = 32, size: int = 8, steps: int = 5) -> None:
    """Where a step's CPU time goes, separate and packed (torch.profiler, top operators)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    dataset = ProceduralSprites(resolution=side)
    data = batches(dataset, size, 8, "cpu")
    for name, seconds in (("separate", separate_seconds), ("pack", pack_seconds)):
        members = models(dataset, size, "cpu")
        seconds(members, data, 2, 2)  # warm up outside the profile
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            seconds(members, data, 0, steps)
        print(f"-- {name}: K={size}, {side} px, {steps} steps")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


def run(quick: bool, device: str) -> None:
    """The table: per side and pack size, separate and pack member steps/s and the gain."""
    warmup, steps, rounds = (2, 5, 3) if quick else (3, 10, 3)
    sizes = (1, 2, 4, 8, 16) + ((50,) if device == "cuda" else ())
    print(
        f"packs: β-VAE conv, batch {BATCH}, {steps} timed steps after {warmup} warm-up, "
        f"{rounds} rounds; load average before {os.getloadavg()}"
    )
    print(f"{'px':>4}{'K':>5}{'clock':>6}{'separate/s':>12}{'pack/s':>10}{'gain':>8}")
    best = 0.0
    for side in (32, 64):
        for size in sizes:
            separate, pack = measure(side, size, warmup, steps, rounds, device)
            for clock in (0, 1) if device == "cpu" else (0,):
                row(side, size, separate, pack, clock)
            if side == 64:
                best = max(best, rate(size, separate, 0), rate(size, pack, 0))
    print(f"load average after {os.getloadavg()}")
    print(
        f"best member steps/s at 64 px (wall): {best:.2f}; the paper's ensemble "
        f"({ENSEMBLE} × {STEPS:,} steps at 64 px) would take "
        f"{ENSEMBLE * STEPS / best / 3600:.1f} h here (target gain at K=8, 32 px on a CPU: "
        f">= {TARGET_GAIN}; on a GPU: the ensemble in < 2 h)"
    )
