"""What the training benchmarks share (``training.py``, ``packs.py``, ``levers.py``).

Not a script, and it imports no bench script: the scripts import it (``python
bench/<script>.py`` puts bench/ on ``sys.path``), never each other in a circle.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from infoprint.models.vae import VAE
from infoprint.tasks.train import build

CONF = Path(__file__).resolve().parents[1] / "conf"

Clock = tuple[float, float]  # (wall, process CPU) seconds


def now(sync: Callable[[], None] = lambda: None) -> Clock:
    """Both clocks, after ``sync`` (a GPU's pending kernels)."""
    sync()
    return time.perf_counter(), time.process_time()


def per_step(start: Clock, end: Clock, steps: int) -> Clock:
    return (end[0] - start[0]) / steps, (end[1] - start[1]) / steps


def synchronizer(device: str) -> Callable[[], None]:
    return torch.cuda.synchronize if device == "cuda" else lambda: None


@functools.cache
def _train_config(model: str, resolution: int) -> DictConfig:
    """``conf/train.yaml`` with ``model``, the conv net and procedural dSprites at
    ``resolution`` px, as ``python train.py`` composes it (no W&B, no extra callbacks)."""
    overrides = [
        f"model={model}",
        "net=conv",
        f"data.dataset.resolution={resolution}",
        "logger=none",
        "callbacks=none",
        "sweep_name=bench",
        "paths.output_dir=-",
    ]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides)


def make_model(model: str, resolution: int) -> VAE:
    """A freshly initialised ``model`` (a conf/model/ option at its yaml defaults), built by
    ``infoprint.tasks.train.build`` as for a run; its weights draw from torch's global RNG."""
    _, vae, _ = build(_train_config(model, resolution), job_num=0)
    return vae
