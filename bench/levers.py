"""Speed levers of one training step, each against the plain step in this process.

Run through ``python bench/training.py --levers``. A β-VAE (conv net, batch 64, Adam
1e-4) at 32 and 64 px, a plain PyTorch loop of the module's own loss, backward and
optimiser step; the levers, one at a time, interleaved round by round with the baseline
so that load from other processes hits all of them:

- channels-last: the conv net's weights in channels-last layout (``net.channels_last``,
  on by default since this bench measured it);
- fused Adam: ``optim.fused=true`` (one kernel over all parameters);
- compile: ``torch.compile`` of the net (compile time excluded: it is paid once per run,
  reported separately);
- autocast: bfloat16 on the CPU, float16 on a GPU (mixed precision, Lightning's
  ``trainer.precision=bf16-mixed`` / ``16-mixed``).

Reported: steps/s of the baseline and each lever's gain (baseline time ÷ lever time,
median over rounds).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from _common import make_model

from infoprint.data.sprites import ProceduralSprites
from infoprint.models.vae import VAE

BATCH = 64


def _baseline(model: VAE) -> tuple[VAE, torch.optim.Optimizer]:
    model.net.to(memory_format=torch.contiguous_format)
    return model, torch.optim.Adam(model.net.parameters(), lr=1e-4)


def _channels_last(model: VAE) -> tuple[VAE, torch.optim.Optimizer]:
    model.net.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.net.parameters(), lr=1e-4)


def _fused_adam(model: VAE) -> tuple[VAE, torch.optim.Optimizer]:
    model, _ = _baseline(model)
    return model, torch.optim.Adam(model.net.parameters(), lr=1e-4, fused=True)


def _compiled(model: VAE) -> tuple[VAE, torch.optim.Optimizer]:
    model, optimizer = _baseline(model)
    model.net.compile()
    return model, optimizer


LEVERS: dict[str, Callable[[VAE], tuple[VAE, torch.optim.Optimizer]]] = {
    "baseline": _baseline,
    "channels-last": _channels_last,
    "fused Adam": _fused_adam,
    "compile": _compiled,
    "autocast": _baseline,
}


def step_seconds(lever: str, model: VAE, x: torch.Tensor, warmup: int, steps: int) -> float:
    """Seconds per step (wall) of ``steps`` steps after ``warmup`` with ``lever`` on."""
    model, optimizer = LEVERS[lever](model.to(x.device).train())
    device = x.device.type
    dtype = torch.float16 if device == "cuda" else torch.bfloat16
    autocast = torch.autocast(device, dtype) if lever == "autocast" else contextlib.nullcontext()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for step in range(warmup + steps):
        if step == warmup:
            sync()
            start = time.perf_counter()
        with autocast:
            loss = model.step_loss(x, step).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    sync()
    return (time.perf_counter() - start) / steps


def run(quick: bool, device: str) -> None:
    warmup, steps, rounds = (3, 10, 2) if quick else (5, 30, 3)
    print(
        f"levers: β-VAE conv, batch {BATCH}, {steps} timed steps after {warmup} warm-up, "
        f"{rounds} rounds; load average before {os.getloadavg()}"
    )
    print(f"{'px':>4}{'baseline/s':>12}" + "".join(f"{n:>15}" for n in list(LEVERS)[1:]))
    for side in (32, 64):
        dataset = ProceduralSprites(resolution=side)
        x = torch.from_numpy(dataset.images(np.arange(BATCH))).to(device)
        times: dict[str, list[float]] = {lever: [] for lever in LEVERS}
        compile_seconds = time.perf_counter()
        step_seconds("compile", make_model("beta_vae", side), x, 1, 1)
        compile_seconds = time.perf_counter() - compile_seconds
        for _ in range(rounds):
            for lever in LEVERS:
                torch.manual_seed(0)
                times[lever].append(
                    step_seconds(lever, make_model("beta_vae", side), x, warmup, steps)
                )
        base = statistics.median(times["baseline"])
        gains = [
            statistics.median(b / t for b, t in zip(times["baseline"], times[lever], strict=True))
            for lever in list(LEVERS)[1:]
        ]
        print(f"{side:>4}{1 / base:>12.2f}" + "".join(f"{g:>14.2f}×" for g in gains))
        print(f"     (first compile and step: {compile_seconds:.1f} s)")
    print(f"load average after {os.getloadavg()}")
