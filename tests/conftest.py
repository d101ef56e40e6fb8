"""Shared fixtures: W&B isolated in the test's tmp dir, configs composed like Hydra does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from support import TINY_TRAIN, compose_config


@pytest.fixture(autouse=True)
def isolated_wandb(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point every W&B directory at a temp dir; offline, silent, no account."""
    base = tmp_path_factory.mktemp("wandb-env")
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        path = base / var.lower()
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    yield
    import wandb

    if wandb.run is not None:
        wandb.run.finish()


@pytest.fixture
def train_cfg(tmp_path: Path) -> Iterator[DictConfig]:
    cfg = compose_config("train", [*TINY_TRAIN, "sweep_name=unit"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    yield cfg
    GlobalHydra.instance().clear()
