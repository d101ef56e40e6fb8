"""What the benchmarks share: clocks and the demo's model (``training.py``, ``packs.py``,
``levers.py``), competing load (``fusion.py``, ``study.py``), a baseline copy of the info
package (``nmi_precision.py``, ``fusion.py``).

Not a script, and it imports no bench script: the scripts import it (``python
bench/<script>.py`` puts bench/ on ``sys.path``), never each other in a circle.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from infoprint.models.vae import VAE
from infoprint.tasks.train import build

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
INFO = "src/infoprint/info"

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


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def competing_load(per_core: int = 1) -> Iterator[int]:
    """``per_core`` busy processes per core (``os.cpu_count()``), started here and stopped
    on exit: the machine an analysis shares with training jobs or a login node's users."""
    spinners = [
        multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
        for _ in range(per_core * (os.cpu_count() or 1))
    ]
    for p in spinners:
        p.start()
    try:
        time.sleep(0.5)  # let them reach their loop
        yield len(spinners)
    finally:
        for p in spinners:
            p.kill()
            p.join()


def load_baseline(spec: str) -> ModuleType:
    """The info package from a directory (a copy of src/infoprint/info) or a git revision,
    imported as a separate top-level package (it imports only relatively)."""
    tmp = Path(tempfile.mkdtemp(prefix="info_baseline_"))
    pkg = tmp / "baseline_info"
    if Path(spec).is_dir():
        shutil.copytree(spec, pkg)
    else:
        pkg.mkdir()
        names = _git("ls-tree", "--name-only", f"{spec}:{INFO}").split()
        for name in (n for n in names if n.endswith(".py")):
            (pkg / name).write_text(_git("show", f"{spec}:{INFO}/{name}"))
    sys.path.insert(0, str(tmp))
    return importlib.import_module("baseline_info")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
