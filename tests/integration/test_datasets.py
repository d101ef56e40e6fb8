"""train(cfg) on each kind of dataset: real config groups, real training, probe factors stored."""

from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import open_dict

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.data.base import grid_factors
from infoprint.data.sprites import FACTOR_SIZES, render_sprites
from infoprint.fingerprint.record import Fingerprint
from infoprint.tasks.train import train
from support import compose_config

TINY = [
    "net=mlp",
    "net.hidden=[32]",
    "net.latent_dim=3",
    "optim.lr=3e-3",
    "data.batch_size=32",
    "trainer.max_steps=20",
    "trainer.log_every_n_steps=10",
    "fingerprint.size=64",
    "callbacks=none",
    "logger=none",
    "torch_threads=1",
    "sweep_name=datasets",
]


def tiny_dsprites(directory: Path) -> Path:
    """256 cells of dSprites' grid in the file's layout, with a pickled metadata entry."""
    path = directory / "dsprites.npz"
    factors = grid_factors(np.arange(0, 737_280, 2880), FACTOR_SIZES)
    classes = np.hstack([np.zeros((len(factors), 1), np.int64), factors])
    np.savez_compressed(
        path,
        imgs=render_sprites(factors)[:, 0].astype(np.uint8),
        latents_classes=classes,
        latents_values=classes.astype(np.float64),
        metadata=np.array({"description": "tiny"}, dtype=object),
    )
    return path


def user_npz(directory: Path) -> Path:
    """A user's own 16 px colour images with two integer factors and their names."""
    path = directory / "mine.npz"
    rng = np.random.default_rng(0)
    factors = np.stack([np.arange(120) % 3, np.arange(120) % 4], axis=1)
    images = rng.integers(0, 256, (120, 16, 16, 3), dtype=np.uint8)
    np.savez(path, images=images, factors=factors, factor_names=np.array(["size", "hue"]))
    return path


def user_folder(directory: Path) -> Path:
    """A folder of 80 greyscale PNGs: a dataset without factors."""
    from PIL import Image

    path = directory / "pictures"
    path.mkdir()
    for k, image in enumerate(np.random.default_rng(0).integers(0, 256, (80, 8, 8), np.uint8)):
        Image.fromarray(image).save(path / f"{k:02d}.png")
    return path


CASES = {
    "digits": (["data=digits"], None),
    "ring": (
        ["data=ring", "likelihood=gaussian", "net.activation=tanh", "fingerprint.size=200"],
        None,
    ),
    "pinwheel": (["data=pinwheel", "likelihood=gaussian"], None),
    "dsprites": (["data=dsprites", "data.dataset.resolution=32"], tiny_dsprites),
    "user_npz": (["data=images", "data.dataset.name=user_npz"], user_npz),
    "user_folder": (["data=images", "data.dataset.name=user_folder"], user_folder),
}


@pytest.mark.parametrize("name", list(CASES))
def test_train_fingerprints_with_the_probe_factors(tmp_path, name):
    overrides, make_file = CASES[name]
    overrides = [*TINY, *overrides]
    if make_file is not None:
        overrides.append(f"data.dataset.path={make_file(tmp_path)}")
    cfg = compose_config("train", overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    train(cfg)

    fp = Fingerprint.load(tmp_path / "run")
    dataset = instantiate(cfg.data.dataset)
    assert fp.meta["dataset"] == dataset.name == name
    assert fp.factor_names == dataset.factor_names
    structure = ensemble_structure([fp], threshold=0.0, device="cpu")
    if not dataset.factor_names:  # factor-dependent outputs are skipped, not faked
        assert fp.factors is None and structure.factor_nmi is None
        return
    np.testing.assert_array_equal(fp.factors, dataset.factors(fp.probe_index))
    if name == "ring":  # the paper's probe set: 200 evenly spaced angles
        np.testing.assert_array_equal(fp.probe_index, np.arange(200) * 360)
    assert structure.factor_nmi.shape == (3, len(dataset.factor_names))
    for k, column in enumerate(fp.factors.T):  # a factor's information is its entropy
        p = np.bincount(column) / len(column)
        entropy = -np.sum(p[p > 0] * np.log2(p[p > 0]))
        assert structure.factor_information[k] == pytest.approx(entropy, rel=1e-4)
