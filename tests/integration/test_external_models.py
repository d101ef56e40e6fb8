"""Models trained anywhere (issue 13): disentanglement_lib TF Hub modules in the release's
folder layout, TorchScript exports of our runs, and our checkpoints refingerprinted; all
analysed like runs. Real parts: a real TensorFlow SavedModel, real torch.jit files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import open_dict

from infoprint.analysis.hotspot_traversals import (
    DecoderCache,
    TraversalUnavailable,
    load_decoder,
)
from infoprint.data.sprites import ProceduralSprites
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import GaussianChannels, compare
from infoprint.models.export import main as export_main
from infoprint.sources.checkpoints import CheckpointSource
from infoprint.sources.dlib import DlibSource, describe_number, parse_models
from infoprint.sources.encoders import EncoderSource
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config

tf = pytest.importorskip("tensorflow")

LATENT = 3
PROBE = {"size": 40, "seed": 0, "batch_size": 16}


def _weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "w_mu": rng.normal(scale=0.05, size=(64 * 64, LATENT)).astype(np.float32),
        "w_lv": rng.normal(scale=0.01, size=(64 * 64, LATENT)).astype(np.float32),
        "b_lv": np.full(LATENT, -2.0, np.float32),
    }


def reference_encoder(images_nchw: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The SavedModel's network evaluated independently, in numpy."""
    w = _weights(seed)
    flat = images_nchw.transpose(0, 2, 3, 1).reshape(len(images_nchw), -1).astype(np.float64)
    return flat @ w["w_mu"], flat @ w["w_lv"] + w["b_lv"]


def write_tfhub_model(
    folder: Path, seed: int, signature="gaussian_encoder", outputs=None, gin: dict | None = None
) -> None:
    """A SavedModel with disentanglement_lib's gaussian_encoder signature, in the layout
    ``<number>/model/tfhub`` (+ ``results/json/train_config.json`` when ``gin``)."""
    w = {k: tf.constant(v) for k, v in _weights(seed).items()}
    names = outputs or ("mean", "logvar")

    class Encoder(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 64, 64, 1], tf.float32)])
        def encode(self, images):
            flat = tf.reshape(images, [-1, 64 * 64])
            return {names[0]: flat @ w["w_mu"], names[1]: flat @ w["w_lv"] + w["b_lv"]}

    module = Encoder()
    path = folder / "model" / "tfhub"
    tf.saved_model.save(module, str(path), signatures={signature: module.encode})
    if gin is not None:
        results = folder / "model" / "results" / "json"
        results.mkdir(parents=True)
        (results / "train_config.json").write_text(json.dumps(gin))


def sprites64():
    return ProceduralSprites(resolution=64)


def test_release_numbering_follows_the_study_sweep():
    assert describe_number(0)["model"] == "beta_vae"
    assert describe_number(349) == {**describe_number(349), "model": "factor_vae", "seed": 49}
    assert describe_number(349)["hyperparameters"] == {"gamma": 10.0}
    assert describe_number(1799)["model"] == "annealed_vae"
    assert describe_number(1799)["hyperparameters"] == {"c_max": 100.0}
    assert describe_number(1800)["dataset"] == "color_dsprites"
    assert describe_number(9000 + 1200 + 250 + 7)["dataset"] == "cars3d"
    assert describe_number(9000 + 1200 + 250 + 7)["hyperparameters"] == {"beta": 10.0}
    assert parse_models("0-2,300, 5") == [0, 1, 2, 5, 300]


def test_dlib_models_fingerprint_like_the_network_evaluated_independently(tmp_path):
    root = tmp_path / "dlib"
    numbers = {0: 10, 1: 11, 50: 12, 51: 13}  # beta 1 seeds 0-1, beta 2 seeds 0-1
    for number, seed in numbers.items():
        gin = (
            {
                "dataset.name": "'dsprites_full'",
                "vae.beta": "1.0" if number < 50 else "2.0",
                "model.random_seed": str(number % 50),
            }
            if number in (0, 50)
            else None
        )
        write_tfhub_model(root / str(number), seed, gin=gin)
    write_tfhub_model(root / "2", 20, signature="representation")  # no gaussian_encoder
    write_tfhub_model(root / "3", 21, outputs=("mu", "sigma"))  # wrong outputs
    write_tfhub_model(root / "4", 22, gin={"dataset.name": "'cars3d'"})  # disagrees
    source = DlibSource(
        path=str(root),
        models="0-4,50,51,20000",
        data=sprites64(),
        fingerprint=PROBE,
        cache_dir=str(tmp_path / "cache"),
    )
    found = {fp.run_id: fp for fp in source.iter_fingerprints()}
    assert sorted(found) == ["dlib-00000", "dlib-00001", "dlib-00050", "dlib-00051"]
    probe_images = sprites64()
    for number, seed in numbers.items():
        fp = found[f"dlib-{number:05d}"]
        images = np.stack([probe_images[int(i)][0] for i in fp.probe_index])
        mu, logvar = reference_encoder(images, seed)
        np.testing.assert_allclose(fp.mu, mu, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(fp.logvar, logvar, rtol=1e-4, atol=1e-4)
        assert fp.meta["model"] == "beta_vae" and fp.meta["seed"] == number % 50
        assert fp.meta["hyperparameters"] == {"beta": 1.0 if number < 50 else 2.0}
    reasons = {Path(s.run).name: s.reason for s in source.skipped}
    assert "no 'gaussian_encoder' signature" in reasons["2"]
    assert "expected mean and logvar" in reasons["3"]
    assert "dataset.name = 'cars3d'" in reasons["4"] and str(root / "4") in reasons["4"]
    assert "outside the release" in reasons["20000"]
    # the probe set is a training run's: same dataset, size and seed, same digest
    from infoprint.fingerprint.probe import select_probe_set

    digest = select_probe_set(sprites64(), PROBE["size"], PROBE["seed"]).digest
    assert {fp.probe_digest for fp in found.values()} == {digest}
    # cached: the second pass reads the records, it does not encode again
    record = Path(found["dlib-00000"].path) / "fingerprint.npz"
    mtime = record.stat().st_mtime_ns
    again = list(source.iter_fingerprints())
    assert len(again) == 4 and record.stat().st_mtime_ns == mtime


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    cfg = compose_config(
        "train",
        [
            *TINY_TRAIN,
            "logger=none",
            "callbacks=checkpoint",
            "sweep_name=ext",
            "trainer.max_steps=80",
        ],
    )
    out = tmp_path_factory.mktemp("run")
    with open_dict(cfg):
        cfg.paths.output_dir = str(out / "0")
    train(cfg)
    return out / "0", cfg


def test_torchscript_export_refingerprints_with_nmi_one(trained_run, tmp_path):
    job, cfg = trained_run
    own = Fingerprint.load(job)
    exported = tmp_path / "encoder.pt"
    export_main([str(job), str(exported)])
    assert hasattr(torch.jit.load(str(exported)), "encode")
    dataset = ProceduralSprites(resolution=32)
    source = EncoderSource(
        encoders=[str(exported), str(tmp_path / "missing.pt"), str(job / "run.json")],
        data=dataset,
        fingerprint={"size": cfg.fingerprint.size, "seed": cfg.fingerprint.seed},
        cache_dir=str(tmp_path / "cache"),
    )
    (again,) = list(source.iter_fingerprints())
    assert again.probe_digest == own.probe_digest
    kept = [k for k, bits in enumerate(own.meta["information_bits"]) if bits > 0.05]
    assert kept
    result = compare(
        GaussianChannels(own.mu[:, kept], own.logvar[:, kept]),
        GaussianChannels(again.mu[:, kept], again.logvar[:, kept]),
        device="cpu",
        dtype=torch.float64,
    )
    np.testing.assert_allclose(torch.diagonal(result.nmi).numpy(), 1.0, atol=1e-4)
    reasons = [s.reason for s in source.skipped]
    assert any("no such file" in r for r in reasons)
    assert any("not a TorchScript file" in r and "run.json" in r for r in reasons)


def test_checkpoints_refingerprint_on_a_larger_probe_set(trained_run, tmp_path):
    job, cfg = trained_run
    source = CheckpointSource(
        path=str(job.parent),
        data=ProceduralSprites(resolution=32),
        fingerprint={"size": 2 * cfg.fingerprint.size, "seed": 0},
        cache_dir=str(tmp_path),
    )
    (fp,) = list(source.iter_fingerprints())
    assert fp.n_points == 2 * cfg.fingerprint.size
    assert fp.run_id == Fingerprint.load(job).run_id and fp.meta["provenance"]["steps"] == 80
    other = CheckpointSource(path=str(job / "last.ckpt"), data=sprites64(), cache_dir=str(tmp_path))
    assert list(other.iter_fingerprints()) == []
    assert "observations of shape [1, 32, 32]" in other.skipped[0].reason


def test_checkpoints_refingerprinted_decode_by_their_checkpoint(trained_run, tmp_path):
    """A refingerprinted run's folder is the source's cache (a fingerprint alone): its
    traversals decode with the checkpoint its fingerprint names, while that file keeps the
    digest it was fingerprinted with; a changed checkpoint is refused, naming it."""
    job, _ = trained_run
    run = tmp_path / "sweep" / "0"
    shutil.copytree(job, run)
    source = CheckpointSource(
        path=str(run.parent), data=ProceduralSprites(resolution=32),
        fingerprint={"size": 30, "seed": 1}, cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    (fp,) = list(source.iter_fingerprints())
    assert fp.path is not None and not (fp.path / "last.ckpt").exists()
    codes = torch.randn(5, fp.n_channels, generator=torch.Generator().manual_seed(0))
    images = DecoderCache().get(fp)(codes)
    assert images.shape == (5, 1, 32, 32)
    assert torch.equal(images, load_decoder(run)(codes))
    with (run / "last.ckpt").open("ab") as f:
        f.write(b"\0")
    with pytest.raises(TraversalUnavailable, match="changed since run .* was fingerprinted"):
        DecoderCache().get(fp)


def test_a_mixed_study_analyses_in_one_command(tmp_path):
    root = tmp_path / "dlib"
    for number, seed in {0: 1, 1: 2, 50: 3, 51: 4}.items():
        write_tfhub_model(root / str(number), seed)
    encoders = []
    for k in range(2):  # TorchScript encoders of 64 px images (linear, scripted)
        torch.manual_seed(k)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64, 2 * LATENT))
        encoders.append(tmp_path / f"enc{k}.pt")
        torch.jit.script(_Split(net)).save(str(encoders[-1]))
    cfg = compose_config("analyze", [f"hydra.run.dir={tmp_path / 'out'}"])
    with open_dict(cfg):
        cfg.source = {
            "_target_": "infoprint.sources.combined.CombinedSource",
            "sources": [
                {
                    "_target_": "infoprint.sources.dlib.DlibSource",
                    "path": str(root),
                    "models": "0,1,50,51",
                    "data": {"_target_": "infoprint.data.sprites.ProceduralSprites"},
                    "fingerprint": PROBE,
                    "cache_dir": str(tmp_path / "cache"),
                },
                {
                    "_target_": "infoprint.sources.encoders.EncoderSource",
                    "encoders": [str(e) for e in encoders],
                    "data": {"_target_": "infoprint.data.sprites.ProceduralSprites"},
                    "fingerprint": PROBE,
                    "cache_dir": str(tmp_path / "cache"),
                },
            ],
        }
        cfg.paths.output_dir = str(tmp_path / "out")
        cfg.traversals.enabled = False
        cfg.logger.mode = "disabled"
    from infoprint.tasks.analyze import analyze

    summary = analyze(cfg)  # a study: one ensemble per (model, beta)
    assert summary["n_runs"] == 6 and not summary["skipped"]
    ensembles = summary["ensembles"]
    assert ensembles["beta_vae-beta=1-dataset=dsprites_full"]["n_runs"] == 2
    assert ensembles["beta_vae-beta=2-dataset=dsprites_full"]["n_runs"] == 2
    assert sorted(k for k in ensembles if k.startswith("enc")) == [
        "enc0-dataset=sprites",
        "enc1-dataset=sprites",
    ]
    assert (tmp_path / "out" / "study.csv").is_file()


class _Split(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x)
        return out[:, :3], out[:, 3:] - 2.0  # LATENT = 3 (scripting reads no globals)
