"""Helpers shared by the tests: config composition and running the entry points."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from infoprint.fingerprint.record import Fingerprint

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"

# A tiny but real run: 32 px sprites, small MLP, a few hundred fast steps.
TINY_TRAIN = [
    "data.dataset.resolution=32",
    "data.batch_size=32",
    "net=mlp",
    "net.hidden=[64]",
    "net.latent_dim=4",
    "optim.lr=3e-3",
    "trainer.max_steps=60",
    "trainer.log_every_n_steps=10",
    "fingerprint.size=64",
    "callbacks=none",
    "torch_threads=1",
]


def compose_config(name: str, overrides: list[str], hydra: bool = False) -> DictConfig:
    """The config ``name`` with ``overrides``; with ``hydra``, its ``hydra`` node too."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name=name, overrides=overrides, return_hydra_config=hydra)


def run_script(
    script: str, args: list[str], cwd: Path, timeout: int = 600, env: dict[str, str] | None = None
):
    """Run train.py / analyze.py from the repo as a user would, with cwd=``cwd`` and the
    environment plus ``env``."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_fingerprint(n=20, d=3, k=2, seed=0, **meta):
    rng = np.random.default_rng(seed)
    return Fingerprint(
        mu=rng.normal(size=(n, d)).astype(np.float32),
        logvar=rng.normal(size=(n, d)).astype(np.float32),
        probe_index=np.arange(n, dtype=np.int64),
        factors=rng.integers(0, 4, size=(n, k)),
        meta={
            "run_id": "abc",
            "probe_digest": "d" * 64,
            "factor_names": [f"f{i}" for i in range(k)],
            **meta,
        },
    )


def factor_fingerprint(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, noise: float = 0.3, **meta
) -> Fingerprint:
    """A run whose channel 0 is factor ``a`` plus the run's own noise (sd ``noise``) and
    whose channel 1 is factor ``b``, sharp; posterior sd 0.25 on both."""
    n = len(a)
    mu = np.stack([a + noise * rng.normal(size=n), 4.0 * b + 0.05 * rng.normal(size=n)], 1)
    return Fingerprint(
        mu=mu.astype(np.float32),
        logvar=np.full((n, 2), 2 * math.log(0.25), np.float32),
        probe_index=np.arange(n, dtype=np.int64),
        factors=np.stack([a, b], axis=1),
        meta={"probe_digest": "d" * 64, "factor_names": ["a", "b"], **meta},
    )
