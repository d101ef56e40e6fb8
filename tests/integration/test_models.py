"""Every model through train(cfg) on tiny real data; reruns, resume and checkpoints;
the experiment and launcher presets, one of them launched as a real multirun."""

import csv
import json
import time
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

import infoprint.tasks.train as train_module
from infoprint.fingerprint.record import Fingerprint
from infoprint.run.directory import RunDirectory
from infoprint.tasks.config import ConfigError
from infoprint.tasks.train import train
from support import CONF, TINY_TRAIN, compose_config, run_script

# FactorVAE's 6 × 1000 discriminator costs ~0.1 s a step on one CPU thread; tests shrink it.
SMALL_DISCRIMINATOR = ["model.discriminator_hidden=64", "model.discriminator_layers=2"]

MODELS = {  # case: (overrides, model name in run.json, logged columns)
    "beta_vae": (["model=beta_vae", "model.beta=4"], "beta_vae", []),
    "annealed_vae": (["model=annealed_vae", "model.c_max=5"], "annealed_vae", ["train/capacity"]),
    "factor_vae": (
        ["model=factor_vae", *SMALL_DISCRIMINATOR],
        "factor_vae",
        ["train/tc", "train/discriminator/loss", "train/discriminator/accuracy"],
    ),
    "beta_tcvae": (["model=beta_tcvae", "model.beta=6"], "beta_tcvae", ["train/tc"]),
    "dip_vae_i": (["model=dip_vae_i", "model.lambda_od=5"], "dip_vae_i", ["train/dip"]),
    "dip_vae_ii": (["model=dip_vae_ii", "model.lambda_od=5"], "dip_vae_ii", ["train/dip"]),
    "decomp_student_t_mmd": (
        ["model=decomp_vae", "model/prior=student_t", "model.alpha=10"],
        "decomp_vae",
        ["train/kl_prior", "train/divergence"],
    ),
    "decomp_spike_slab_mmd_dim": (
        [
            "model=decomp_vae",
            "model/prior=spike_slab",
            "model.alpha=10",
            "model.divergence=mmd_dim",
        ],
        "decomp_vae",
        ["train/kl_prior", "train/divergence"],
    ),
    "decomp_mixture_inclusive_kl": (
        [
            "model=decomp_vae",
            "model/prior=mixture",
            "model.alpha=1",
            "model.divergence=inclusive_kl",
        ],
        "decomp_vae",
        ["train/kl_prior", "train/divergence"],
    ),
}

STUDY_GRIDS = {
    "beta_vae": ("beta", "1,2,4,6,8,16"),
    "annealed_vae": ("c_max", "5,10,25,50,75,100"),
    "factor_vae": ("gamma", "10,20,30,40,50,100"),
    "beta_tcvae": ("beta", "1,2,4,6,8,10"),
    "dip_vae_i": ("lambda_od", "1,2,5,10,20,50"),
    "dip_vae_ii": ("lambda_od", "1,2,5,10,20,50"),
}


def tiny_cfg(tmp_path: Path, overrides: list[str], name: str = "run"):
    cfg = compose_config("train", [*TINY_TRAIN, "sweep_name=unit", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / name)
    return cfg


def metrics(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def wandb_records_contain(run_dir: Path, expected: bytes, timeout: float = 30.0) -> bool:
    """Whether the offline run's record file holds ``expected`` once W&B's writer flushed."""
    (path,) = run_dir.glob("run-*.wandb")
    deadline = time.monotonic() + timeout
    while expected not in path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.2)
    return expected in path.read_bytes()


def column(rows: list[dict[str, str]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]


@pytest.mark.parametrize("case", sorted(MODELS))
def test_every_model_trains_is_fingerprinted_and_lowers_its_loss(case, tmp_path):
    overrides, name, logged = MODELS[case]
    cfg = tiny_cfg(tmp_path, [*overrides, "logger=none"])
    result = train(cfg)
    job = Path(result["output_dir"])
    fp = Fingerprint.load(job)
    assert fp.mu.shape == (64, 4) and fp.meta["model"] == name
    assert fp.meta["steps"] == 60  # the step counter advances once per step
    rows = metrics(job / "csv" / "metrics.csv")
    assert all(column(rows, key) for key in logged), rows[0].keys()
    loss = [value for _, value in column(rows, "train/loss")]
    assert sum(loss[-2:]) < 0.8 * sum(loss[:2]), loss


def test_beta_tcvae_gets_the_dataset_size_from_the_dataset(tmp_path):
    cfg = tiny_cfg(tmp_path, ["model=beta_tcvae", "logger=none", "trainer.max_steps=2"])
    train(cfg)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["hyperparameters"] == {"beta": 1.0, "dataset_size": 3 * 6 * 40 * 32 * 32}


def test_annealed_capacity_follows_its_schedule_in_training(tmp_path):
    overrides = ["model=annealed_vae", "model.c_max=5", "model.iteration_threshold=40"]
    cfg = tiny_cfg(tmp_path, [*overrides, "logger=none", "trainer.log_every_n_steps=1"])
    train(cfg)
    capacity = column(metrics(tmp_path / "run" / "csv" / "metrics.csv"), "train/capacity")
    assert [step for step, _ in capacity] == list(range(60))
    for step, value in capacity:
        assert value == pytest.approx(min(5.0, 5.0 * step / 40))


class JobDied(RuntimeError):
    pass


class Interrupt(pl.Callback):
    """Fails the run after ``step`` steps, as a job that dies or is pre-empted."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            raise JobDied(f"died at step {self.step}")


def test_interrupted_job_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    overrides = [
        "model=factor_vae",
        *SMALL_DISCRIMINATOR,
        "callbacks=checkpoint",
        "callbacks.checkpoint.every_n_train_steps=10",
        "trainer.max_steps=40",
    ]
    cfg = tiny_cfg(tmp_path, overrides)
    with open_dict(cfg):
        cfg.callbacks.checkpoint.log_artifact = True
    job = Path(cfg.paths.output_dir)
    callbacks = train_module._callbacks
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "_callbacks", lambda c: [*callbacks(c), Interrupt(25)])
        with pytest.raises(JobDied):
            train(cfg)
    assert (job / "last.ckpt").is_file() and (job / "error.txt").is_file()
    assert not (job / "fingerprint.npz").exists()

    result = train(cfg)  # the same command again: resumes from step 20
    assert result["status"] == "resumed"
    fp = Fingerprint.load(job)
    assert fp.run_id == result["run_id"] and fp.meta["steps"] == 40
    # one metrics log: the killed attempt's rows up to step 20, then the resumed attempt's
    logged = column(metrics(job / "csv" / "metrics.csv"), "train/loss")
    steps = [step for step, _ in logged]
    assert steps == sorted(set(steps)) and steps[0] < 20 and steps[-1] >= 39
    assert not (job / "csv" / "resumed-20").exists()
    assert not (job / "error.txt").exists() and (job / "error.1.txt").is_file()
    assert sorted(p.name for p in job.glob("*.ckpt")) == ["last.ckpt"]
    assert not any(job.glob("last-v*.ckpt"))
    # wandb sync <job>/wandb/offline-run-* uploads one run: the killed one is superseded
    runs = sorted((job / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and runs[-1].name.endswith(fp.run_id)
    assert len(list((job / "wandb").glob("superseded-offline-run-*"))) == 1
    # last.ckpt logged as the W&B model artifact of the resumed run
    assert wandb_records_contain(runs[-1], f"model-{fp.run_id}".encode())

    mtime = (job / "fingerprint.npz").stat().st_mtime_ns
    again = train(cfg)  # finished: skipped, fingerprint untouched
    assert again == {"run_id": fp.run_id, "output_dir": str(job), "status": "skipped"}
    assert (job / "fingerprint.npz").stat().st_mtime_ns == mtime


FINISHED = ["fingerprint.npz", "run.json"]


@pytest.mark.parametrize(
    ("files", "mode", "skip", "resume"),
    [
        ([], "skip", False, False),
        (["last.ckpt"], "skip", False, True),
        (["fingerprint.npz", "last.ckpt"], "skip", False, True),  # fingerprint half-written
        ([*FINISHED, "last.ckpt"], "skip", True, False),
        ([*FINISHED, "last.ckpt"], "resume", False, True),
        (FINISHED, "resume", True, False),
        ([*FINISHED, "last.ckpt"], "overwrite", False, False),
    ],
)
def test_plan_attempt(tmp_path, files, mode, skip, resume):
    for name in files:
        (tmp_path / name).touch()
    if "last.ckpt" in files:  # a readable checkpoint (an empty file is set aside)
        torch.save({"state_dict": {}, "global_step": 5}, tmp_path / "last.ckpt")
    attempt = RunDirectory(tmp_path).plan(mode)
    assert attempt.skip == skip and (attempt.checkpoint is not None) == resume


def test_rerun_modes(tmp_path):
    overrides = ["logger=none", "callbacks=checkpoint", "trainer.max_steps=20"]
    cfg = tiny_cfg(tmp_path, overrides)
    first = train(cfg)
    with open_dict(cfg):
        cfg.rerun = "resume"
        cfg.trainer.max_steps = 30
    longer = train(cfg)  # a finished job trained further
    assert longer["status"] == "resumed" and longer["run_id"] != first["run_id"]
    assert Fingerprint.load(cfg.paths.output_dir).meta["steps"] == 30
    with open_dict(cfg):
        cfg.rerun = "overwrite"
        cfg.trainer.max_steps = 10
    fresh = train(cfg)
    assert fresh["status"] == "trained"
    assert Fingerprint.load(cfg.paths.output_dir).meta["steps"] == 10
    job = Path(cfg.paths.output_dir)
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in job.rglob("*") if p.is_file()}
    for mode in ("skip", "resume"):
        with open_dict(cfg):
            cfg.rerun = mode
            cfg.seed = 3  # another run in the same job dir: a reused sweep_name
        with pytest.raises(ConfigError, match="belongs to another run.*seed"):
            train(cfg)
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in job.rglob("*") if p.is_file()}
    assert after == before  # a refused rerun changes nothing (no config tree, no error.txt)
    with open_dict(cfg):
        cfg.rerun = "again"
    with pytest.raises(ConfigError, match="rerun must be one of skip, resume, overwrite"):
        train(cfg)


def compose_with_hydra(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize("method", sorted(STUDY_GRIDS))
def test_study_presets_compose_with_their_grid(method):
    cfg = compose_with_hydra([f"experiment=dsprites_{method}", "sweep_name=s"])
    key, grid = STUDY_GRIDS[method]
    assert dict(cfg.hydra.sweeper.params) == {"seed": "range(0,50)", f"model.{key}": grid}
    assert cfg.hydra.runtime.choices.model == method
    assert cfg.data.dataset.resolution == 64 and cfg.data.batch_size == 64
    assert cfg.net._target_.endswith("ConvNet") and cfg.net.latent_dim == 10
    assert cfg.optim.lr == 1e-4 and list(cfg.optim.betas) == [0.9, 0.999]
    assert cfg.trainer.max_steps == 300_000 and cfg.likelihood._target_.endswith("Bernoulli")
    smoke = compose_with_hydra([f"experiment=dsprites_{method}", "trainer=smoke", "seed=0"])
    assert smoke.trainer.max_steps == 200
    # the same shrink through the sweeper's own params (quoted: not a sweep of hydra keys)
    smoke = compose_with_hydra(
        [f"experiment=dsprites_{method}", "trainer=smoke", 'hydra.sweeper.params.seed="range(0,2)"']
    )
    assert smoke.hydra.sweeper.params.seed == "range(0,2)" and smoke.trainer.max_steps == 200


@pytest.mark.parametrize("launcher", ["joblib", "submitit_slurm", "submitit_local"])
def test_launcher_presets_set_the_hydra_launcher(launcher):
    cfg = compose_with_hydra(["experiment=dsprites_beta_vae", f"+launcher={launcher}"])
    assert cfg.hydra.runtime.choices["hydra/launcher"] == launcher
    assert launcher.split("_")[-1] in cfg.hydra.launcher._target_.lower()


def sweep_args(launcher: str) -> list[str]:
    """A study preset shrunk to a CPU smoke sweep: 2 jobs of 5 steps."""
    return [
        "-m",
        "experiment=dsprites_dip_vae_ii",
        f"+launcher={launcher}",
        "trainer=smoke",
        "trainer.max_steps=5",
        "seed=0",
        "model.lambda_od=1,50",
        "fingerprint.size=16",
        "callbacks=checkpoint",
        "logger=none",
        "sweep_name=smoke",
    ]


def sweep_fingerprints(cwd: Path) -> list[Fingerprint]:
    return [Fingerprint.load(cwd / "multirun" / "smoke" / str(job)) for job in (0, 1)]


def test_a_preset_runs_as_a_parallel_joblib_sweep(tmp_path):
    result = run_script("train.py", sweep_args("joblib"), tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    fingerprints = sweep_fingerprints(tmp_path)
    assert [fp.meta["hyperparameters"]["lambda_od"] for fp in fingerprints] == [1.0, 50.0]
    assert all(fp.meta["model"] == "dip_vae_ii" and fp.meta["steps"] == 5 for fp in fingerprints)
    assert all(
        (tmp_path / "multirun" / "smoke" / str(job) / "last.ckpt").is_file() for job in (0, 1)
    )


@pytest.mark.slow
def test_a_submitit_sweep_run_again_skips_its_finished_jobs(tmp_path):
    first = run_script("train.py", sweep_args("submitit_local"), tmp_path, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    run_ids = [fp.run_id for fp in sweep_fingerprints(tmp_path)]
    again = run_script("train.py", sweep_args("submitit_local"), tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [fp.run_id for fp in sweep_fingerprints(tmp_path)] == run_ids
    logs = "".join(p.read_text() for p in (tmp_path / "multirun" / "smoke").rglob("*.log"))
    assert logs.count("skipped (rerun=skip)") == 2
