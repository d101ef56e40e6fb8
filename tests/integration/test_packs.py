"""Packs: member k of a pack is the run ``seed=k`` trained alone (docs/architecture.md §9)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig, open_dict

from infoprint.errors import ConfigError
from infoprint.fingerprint.capture import fingerprint_model
from infoprint.fingerprint.probe import select_probe_set
from infoprint.fingerprint.record import Fingerprint
from infoprint.models.builder import load_model
from infoprint.models.pack import PackError
from infoprint.run.directory import RunDirectory, RunState
from infoprint.sources.directory import find_job_dirs
from infoprint.store.checkpoint import read_checkpoint
from infoprint.tasks import pack as pack_tasks
from infoprint.tasks.config import check_train_config
from infoprint.tasks.pack import (
    PackMembersFailed,
    member_config,
    prepare_member,
    train_members,
    train_pack,
)
from infoprint.tasks.sweeper import pack_jobs
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config, run_script

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
            "trainer.precision=64-true",
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


# -- pack jobs: python train.py -m seed=... pack=K ------------------------------------------

PACK_RUN = [*TINY_TRAIN, "callbacks=checkpoint", "trainer.max_steps=40"]


def sweep_dirs(cwd: Path, name: str) -> list[Path]:
    return [cwd / "multirun" / name / str(job) for job in range(4)]


@pytest.fixture(scope="module")
def lone_sweep(tmp_path_factory) -> Path:
    """The reference: the same four seeds as four ordinary jobs."""
    cwd = tmp_path_factory.mktemp("lone")
    result = run_script("train.py", ["-m", *PACK_RUN, "seed=range(0,4)", "sweep_name=s"], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_a_packed_sweep_writes_the_runs_of_the_unpacked_one(launcher, lone_sweep, tmp_path):
    args = ["-m", *PACK_RUN, "seed=range(0,4)", "pack=2", "sweep_name=s"]
    if launcher != "basic":
        args.append(f"+launcher={launcher}")
    result = run_script("train.py", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "multirun" / "s"
    assert sorted(p.name for p in sweep.glob("pack-*")) == ["pack-0", "pack-2"]
    packs = [json.loads((sweep / p / "pack.json").read_text()) for p in ("pack-0", "pack-2")]
    assert [[m["seed"] for m in p["members"]] for p in packs] == [[0, 1], [2, 3]]
    assert all(m["status"] == "trained" for p in packs for m in p["members"])
    for packed, lone in zip(sweep_dirs(tmp_path, "s"), sweep_dirs(lone_sweep, "s"), strict=True):
        fp, ref = Fingerprint.load(packed), Fingerprint.load(lone)
        assert fp.run_id != ref.run_id and fp.meta["job_num"] == ref.meta["job_num"]
        assert (fp.meta["seed"], fp.meta["sweep"], fp.meta["steps"]) == (ref.meta["seed"], "s", 40)
        np.testing.assert_allclose(fp.mu, ref.mu, atol=1e-5)
        np.testing.assert_allclose(fp.logvar, ref.logvar, atol=1e-5)
        ckpt, ref_ckpt = (read_checkpoint(d / "last.ckpt") for d in (packed, lone))
        assert ckpt["loops"] == ref_ckpt["loops"] and ckpt["global_step"] == 40
        assert set(ckpt) == set(ref_ckpt)
        with (
            (packed / "csv" / "metrics.csv").open() as f,
            (lone / "csv" / "metrics.csv").open() as g,
        ):
            rows, ref_rows = list(csv.DictReader(f)), list(csv.DictReader(g))
        assert [r["step"] for r in rows] == [r["step"] for r in ref_rows]
        assert rows[0].keys() == ref_rows[0].keys()
        (wandb_run,) = (packed / "wandb").glob("offline-run-*")
        assert wandb_run.name.endswith(fp.run_id)


@pytest.mark.slow
def test_analysis_of_a_packed_sweep_finds_the_structure_of_the_unpacked_one(lone_sweep, tmp_path):
    result = run_script(
        "train.py",
        ["-m", *PACK_RUN, "seed=range(0,4)", "pack=4", "sweep_name=s", "logger=none"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = []
    for cwd in (tmp_path, lone_sweep):
        analysis = run_script(
            "analyze.py",
            [
                "source.path=multirun/s",
                "hydra.run.dir=out",
                "logger=none",
                "hotspot_fusion.enabled=false",
            ],
            cwd,
        )
        assert analysis.returncode == 0, analysis.stderr[-3000:]
        summary = json.loads((cwd / "out" / "summary.json").read_text())
        results = np.load(cwd / "out" / "results.npz", allow_pickle=False)
        outputs.append((summary, results))
    (summary, results), (ref_summary, ref_results) = outputs
    assert summary["n_runs"] == ref_summary["n_runs"] == 4 and not summary["skipped"]
    np.testing.assert_array_equal(results["channels"], ref_results["channels"])
    for key in ("information", "nmi", "vi"):  # float32 rounding, amplified in weak channels
        np.testing.assert_allclose(results[key], ref_results[key], atol=2e-3)
    hotspots, ref_hotspots = (hotspot_rows(cwd / "out") for cwd in (tmp_path, lone_sweep))
    assert [h[:-1] for h in hotspots] == [h[:-1] for h in ref_hotspots]
    for row, ref_row in zip(hotspots, ref_hotspots, strict=True):
        np.testing.assert_allclose(row[-1], ref_row[-1], atol=2e-3)


def csv_rows(run: Path) -> list[dict[str, str]]:
    with (run / "csv" / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


def hotspot_rows(out: Path) -> list[tuple]:
    """hotspots.csv without run ids (members as run index:channel) and its numbers apart."""
    with (out / "hotspots.csv").open() as f:
        rows = list(csv.DictReader(f))
    numbers = ("mean_information_bits", "cohesion_nmi", "best_factor_nmi")
    return [
        (
            r["measure"],
            r["size"],
            r["n_runs"],
            r["best_factor"],
            [m.split("@")[0] for m in r["members"].split(";")],
            [float(r[k]) for k in numbers],
        )
        for r in rows
    ]


def pack_job(tmp_path: Path, seeds: list[int], *extra: str) -> DictConfig:
    cfg = compose_config(
        "train",
        [
            *PACK_RUN,
            "logger=none",
            "sweep_name=p",
            f"pack={len(seeds)}",
            f"pack_seeds={seeds}",
            f"pack_jobs={seeds}",
            *extra,
        ],
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "p" / f"pack-{seeds[0]}")
    return cfg


def test_a_failing_member_leaves_the_pack_and_the_others_finish(tmp_path, monkeypatch):
    prepare = pack_tasks.prepare_member

    def poisoned(cfg, checkpoint=None, job_num=None):
        member = prepare(cfg, checkpoint, job_num)
        if cfg.seed == 1:
            with torch.no_grad():
                next(member.model.parameters()).fill_(float("nan"))
        return member

    monkeypatch.setattr(pack_tasks, "prepare_member", poisoned)
    with pytest.raises(PackMembersFailed, match=r"1 of 3 pack members failed.*p/1: NonFiniteLoss"):
        train_pack(pack_job(tmp_path, [0, 1, 2]))
    assert RunDirectory(tmp_path / "p" / "1").failure_reason().startswith("job failed: ")
    assert "non-finite loss" in (tmp_path / "p" / "1" / "error.txt").read_text()
    for seed in (0, 2):
        assert RunDirectory(tmp_path / "p" / str(seed)).state is RunState.FINISHED
    outcome = json.loads((tmp_path / "p" / "pack-0" / "pack.json").read_text())
    assert [m["status"] for m in outcome["members"]] == ["trained", "failed", "trained"]
    assert [d.name for d in find_job_dirs(tmp_path / "p")] == ["0", "1", "2"]


def test_packs_rerun_skip_resume_and_continue_as_lone_jobs(tmp_path):
    first = train_pack(pack_job(tmp_path, [0, 1], "trainer.max_steps=20"))
    assert [m["status"] for m in first["members"]] == ["trained", "trained"]
    again = train_pack(pack_job(tmp_path, [0, 1], "trainer.max_steps=20"))
    assert [m["status"] for m in again["members"]] == ["skipped", "skipped"]
    resumed = train_pack(pack_job(tmp_path, [0, 1], "trainer.max_steps=30", "rerun=resume"))
    assert [m["status"] for m in resumed["members"]] == ["resumed", "resumed"]
    assert read_checkpoint(tmp_path / "p" / "1" / "last.ckpt")["global_step"] == 30
    lone = member_config(
        pack_job(tmp_path, [0, 1], "trainer.max_steps=40", "rerun=resume"), 1, tmp_path / "p" / "1"
    )
    assert train(lone)["status"] == "resumed"
    assert read_checkpoint(tmp_path / "p" / "1" / "last.ckpt")["global_step"] == 40
    steps = [int(r["step"]) for r in csv_rows(tmp_path / "p" / "1") if r["train/loss"]]
    assert steps == [9, 19, 29, 39]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=factor_vae"], "FactorVAE trains a network of its own"),
        (["fingerprint.every_n_steps=10"], "snapshots during training"),
        (["trainer.precision=bf16-mixed"], "packs train in 32-true or 64-true"),
        (["pack_jobs=[0]"], "pack_seeds .2. and pack_jobs .1. differ"),
        (["pack_seeds=[3,3]"], "pack_seeds must not repeat"),
    ],
)
def test_a_pack_job_refuses_what_it_cannot_train_before_any_member_starts(
    overrides, message, tmp_path
):
    with pytest.raises(ConfigError, match=message):
        train_pack(pack_job(tmp_path, [0, 1], *overrides))
    assert not (tmp_path / "p" / "0").exists()


def test_pack_without_a_multirun_says_how_to_run_it():
    cfg = compose_config("train", [*TINY_TRAIN, "pack=4"])
    with pytest.raises(ConfigError, match=r"pack=4 trains the seeds of a sweep.*-m seed="):
        check_train_config(cfg)


def test_the_pack_sweeper_groups_seeds_of_the_same_settings():
    jobs = [[f"model.beta={b}", f"seed={s}"] for s in range(3) for b in (1, 4)]
    packed = pack_jobs(jobs, 2, default_seed=0)
    assert packed == [
        [
            "model.beta=1",
            "seed=0",
            "pack_seeds=[0,1]",
            "pack_jobs=[0,2]",
            "hydra.sweep.subdir=pack-0",
        ],
        ["model.beta=1", "seed=2", "pack_seeds=[2]", "pack_jobs=[4]", "hydra.sweep.subdir=pack-4"],
        [
            "model.beta=4",
            "seed=0",
            "pack_seeds=[0,1]",
            "pack_jobs=[1,3]",
            "hydra.sweep.subdir=pack-1",
        ],
        ["model.beta=4", "seed=2", "pack_seeds=[2]", "pack_jobs=[5]", "hydra.sweep.subdir=pack-5"],
    ]
    assert pack_jobs([["model.beta=1"]], 3, default_seed=7)[0][1:3] == ["seed=7", "pack_seeds=[7]"]
