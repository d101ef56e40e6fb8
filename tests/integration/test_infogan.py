"""model=infogan (Chen et al. 2016) trained for real on tiny procedural sprites: its losses
fall, Q recovers the codes G generated from, and everything downstream of ``encode``
(fingerprint, checkpoint rebuild, resume, analysis of a mixed VAE + InfoGAN study) works
unchanged (docs/architecture.md §9)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import open_dict

from infoprint.fingerprint.record import Fingerprint
from infoprint.info import DiscreteChannels, GaussianChannels, compare
from infoprint.models.builder import load_model
from infoprint.models.infogan import InfoGAN
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config

TINY_INFOGAN = [
    "model=infogan",
    "model.lambda_continuous=1.0",
    "data.dataset.resolution=32",
    "data.batch_size=32",
    "net.latent_dim=3",
    "net.noise_dim=2",
    "trainer.log_every_n_steps=10",
    "fingerprint.size=64",
    "callbacks=none",
    "torch_threads=1",
]
STEPS = 200
# Q's posterior channel k on generated images against code k binned into 8 equal bins
# of [-1, 1]: NMI (bits / bits) after STEPS steps; an untrained Q scores below 0.05.
Q_RECOVERY_NMI = 0.5


def train_job(path: Path, overrides: list[str], sweep: str = "infogan") -> dict:
    cfg = compose_config("train", [*overrides, f"sweep_name={sweep}"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(path)
    return train(cfg)


@pytest.fixture(scope="module")
def infogan_job(tmp_path_factory) -> Path:
    job = tmp_path_factory.mktemp("infogan") / "0"
    train_job(job, [*TINY_INFOGAN, f"trainer.max_steps={STEPS}", "callbacks=checkpoint"])
    return job


def logged(job: Path, key: str) -> np.ndarray:
    with open(job / "csv" / "metrics.csv") as f:
        return np.array([float(row[key]) for row in csv.DictReader(f) if row.get(key)])


@pytest.mark.slow
@pytest.mark.parametrize("key", ["train/loss", "train/information", "train/discriminator/loss"])
def test_training_lowers_its_losses(infogan_job, key):
    values = logged(infogan_job, key)
    assert len(values) == STEPS // 10
    first, last = values[:3].mean(), values[-3:].mean()
    assert last < first - 1.0, (key, values)


@pytest.mark.slow
def test_q_recovers_the_codes_it_generated_from(infogan_job):
    model = load_model(infogan_job / "last.ckpt")
    torch.manual_seed(123)
    with torch.no_grad():
        codes = model.sample_codes(400)
        mu, logvar = model.encode(model.generate(codes))
    bins = np.clip(((codes.continuous.numpy() + 1) * 4).astype(int), 0, 7)
    nmi = compare(DiscreteChannels(bins), GaussianChannels(mu, logvar)).nmi.numpy()
    assert np.diag(nmi).min() > Q_RECOVERY_NMI, nmi


@pytest.mark.slow
def test_job_fingerprints_and_its_checkpoint_rebuilds(infogan_job):
    fp = Fingerprint.load(infogan_job)
    meta = json.loads((infogan_job / "run.json").read_text())
    assert fp.mu.shape == (64, 3) and meta["model"] == "infogan"
    assert meta["hyperparameters"]["lambda_continuous"] == 1.0
    assert meta["steps"] == STEPS and len(meta["information_bits"]) == 3
    model = load_model(infogan_job / "last.ckpt")  # weights_only, no Hydra
    assert isinstance(model, InfoGAN) and model.latent_dim == 3
    assert model.hparams["model_spec"]["module"] == "infogan"
    from infoprint.data.sprites import ProceduralSprites

    x = ProceduralSprites(resolution=32)[int(fp.probe_index[0])][0]
    with torch.no_grad():
        mu, _ = model.encode(torch.from_numpy(x)[None])
        image = model.decode_mean(mu)
    np.testing.assert_allclose(mu[0].numpy(), fp.mu[0], atol=1e-4)
    assert image.shape == (1, 1, 32, 32) and 0 <= image.min() and image.max() <= 1


def test_a_killed_infogan_resumes_from_its_checkpoint(tmp_path):
    job = tmp_path / "0"
    common = [*TINY_INFOGAN, "callbacks=checkpoint", "logger=none"]
    train_job(job, [*common, "trainer.max_steps=20"])
    (job / "fingerprint.npz").unlink()  # as if killed after its last checkpoint
    result = train_job(job, [*common, "trainer.max_steps=30"])
    assert result["status"] == "resumed"
    assert Fingerprint.load(job).meta["steps"] == 30


@pytest.mark.slow
def test_a_mixed_vae_and_infogan_study_analyses_as_one(tmp_path):
    sweep = tmp_path / "mixed"
    probe = ["data.dataset.resolution=32", "fingerprint.size=64", "logger=none"]
    for seed in (0, 1):
        train_job(sweep / str(seed), [*TINY_TRAIN, *probe, f"seed={seed}"], "mixed")
        train_job(
            sweep / str(2 + seed),
            [*TINY_INFOGAN, *probe, "trainer.max_steps=40", "callbacks=checkpoint",
             f"seed={seed}"],
            "mixed",
        )  # fmt: skip
    cfg = compose_config("analyze", [f"source.path={sweep}", f"hydra.run.dir={tmp_path}/out"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
        cfg.logger.mode = "disabled"
    from infoprint.tasks.analyze import analyze

    summary = analyze(cfg)
    assert summary["n_runs"] == 4 and not summary["skipped"]
    runs = {name: e["n_runs"] for name, e in summary["ensembles"].items()}
    assert sorted(runs.values()) == [2, 2] and any(k.startswith("infogan") for k in runs), runs
    assert (tmp_path / "out" / "study.csv").is_file()
