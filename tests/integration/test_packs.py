"""Packs: member k of a pack is the run ``seed=k`` trained alone (docs/architecture.md §9)."""

from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from infoprint.fingerprint.capture import fingerprint_model
from infoprint.fingerprint.probe import select_probe_set
from infoprint.fingerprint.record import Fingerprint
from infoprint.models.builder import load_model
from infoprint.models.pack import PackError
from infoprint.tasks.pack import member_config, prepare_member, train_members
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config

STEPS = 100
SEEDS = (0, 1, 2)


@pytest.mark.parametrize("model", ["beta_vae", "beta_tcvae", "dip_vae_ii"])
def test_pack_members_equal_lone_runs_in_float64(model, tmp_path: Path):
    cfg = compose_config(
        "train",
        [
            *TINY_TRAIN,
            f"model={model}",
            "sweep_name=unit",
            f"trainer.max_steps={STEPS}",
            "+trainer.precision=64-true",
            "callbacks=checkpoint",
            "logger=none",
        ],
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "pack")
    members = [prepare_member(member_config(cfg, seed)) for seed in SEEDS]
    train_members(members, STEPS)
    probe = select_probe_set(members[0].datamodule.dataset, cfg.fingerprint.size, 0)
    for seed, member in zip(SEEDS, members, strict=True):
        lone = member_config(cfg, seed)
        with open_dict(lone):
            lone.paths.output_dir = str(tmp_path / f"lone{seed}")
        train(lone)
        expected = load_model(tmp_path / f"lone{seed}" / "last.ckpt").double().state_dict()
        for name, value in member.model.state_dict().items():
            diff = (value - expected[name]).abs().max().item()
            assert diff <= 1e-5, (seed, name, diff)
        fingerprint = fingerprint_model(member.model, probe, {"run_id": "pack"}, 500)
        reference = Fingerprint.load(tmp_path / f"lone{seed}")
        np.testing.assert_allclose(fingerprint.mu, reference.mu, atol=1e-5)
        np.testing.assert_allclose(fingerprint.logvar, reference.logvar, atol=1e-5)


def test_pack_refuses_factor_vae_naming_the_adversary(tmp_path: Path):
    cfg = compose_config("train", [*TINY_TRAIN, "model=factor_vae", "sweep_name=unit"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    member = prepare_member(cfg)
    with pytest.raises(PackError, match="optimiser.*adversary"):
        train_members([member], 1)
