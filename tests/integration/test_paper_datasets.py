"""train(cfg) on the paper's other datasets (Cars3D, SmallNORB, the dSprites variants):
their config groups compose, tiny files in the real formats load, runs fingerprint with the
probe factors, and a rerun of the probe set has the same digest."""

import struct
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import open_dict
from PIL import Image
from scipy.io import savemat

from infoprint.data.smallnorb import CHUNKS
from infoprint.data.sprites import FACTOR_SIZES, render_sprites
from infoprint.fingerprint.probe import select_probe_set
from infoprint.fingerprint.record import Fingerprint
from infoprint.tasks.train import train
from support import compose_config

TINY = [
    "net=mlp",
    "net.hidden=[32]",
    "net.latent_dim=3",
    "data.batch_size=16",
    "data.dataset.resolution=32",
    "trainer.max_steps=5",
    "trainer.log_every_n_steps=5",
    "fingerprint.size=32",
    "callbacks=none",
    "logger=none",
    "torch_threads=1",
    "sweep_name=paper_datasets",
]
RNG = np.random.default_rng(0)


def cars(directory: Path) -> list[str]:
    """Two car files: 'im' uint8 [64, 64, 3, 24 azimuths, 4 elevations], MATLAB v5."""
    folder = directory / "cars"
    folder.mkdir()
    for car in (1, 2):
        im = RNG.integers(0, 256, (64, 64, 3, 24, 4), dtype=np.uint8)
        savemat(folder / f"car_{car:03d}_mesh.mat", {"im": im})
    return [f"data.dataset.path={folder}"]


def smallnorb(directory: Path) -> list[str]:
    """Both splits, 20 examples each, as NORB binary matrices."""
    folder = directory / "small_norb"
    folder.mkdir()
    magic = {np.dtype("u1"): 0x1E3D4C55, np.dtype("<i4"): 0x1E3D4C54}
    for template in CHUNKS:
        info = np.column_stack([RNG.integers(0, s, 20) for s in (10, 9, 18, 6)]) * np.array(
            [1, 1, 2, 1]
        )
        parts = {
            "dat": RNG.integers(0, 256, (20, 2, 96, 96), dtype=np.uint8),
            "cat": RNG.integers(0, 5, 20).astype("<i4"),
            "info": info.astype("<i4"),
        }
        for part, array in parts.items():
            sizes = list(array.shape) + [1] * (3 - array.ndim)
            header = struct.pack(f"<ii{len(sizes)}i", magic[array.dtype], array.ndim, *sizes)
            (folder / template.format(part)).write_bytes(header + array.tobytes())
    return [f"data.dataset.path={folder}"]


def dsprites(directory: Path) -> list[str]:
    """60 cells of dSprites' grid in the npz layout, pickled metadata included, and a
    stand-in for The Scream."""
    factors = RNG.integers(0, FACTOR_SIZES, size=(60, 5))
    classes = np.hstack([np.zeros((60, 1), np.int64), factors])
    path = directory / "dsprites.npz"
    np.savez_compressed(
        path,
        imgs=render_sprites(factors)[:, 0].astype(np.uint8),
        latents_classes=classes,
        metadata=np.array({"description": "tiny"}, dtype=object),
    )
    scream = directory / "The_Scream.jpg"
    Image.fromarray(RNG.integers(0, 256, (300, 240, 3), dtype=np.uint8)).save(scream)
    return [f"data.dataset.path={path}", f"data.dataset.scream_path={scream}"]


CASES = {
    "cars3d": cars,
    "smallnorb": smallnorb,
    "color_dsprites": dsprites,
    "noisy_dsprites": dsprites,
    "scream_dsprites": dsprites,
}


@pytest.mark.parametrize("name", list(CASES))
def test_train_fingerprints_the_paper_datasets(tmp_path, name):
    files = CASES[name](tmp_path)
    if name in ("color_dsprites", "noisy_dsprites"):
        files = files[:1]
    cfg = compose_config("train", [*TINY, f"data={name}", *files])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    train(cfg)

    fp = Fingerprint.load(tmp_path / "run")
    dataset = instantiate(cfg.data.dataset)
    assert fp.meta["dataset"] == dataset.name == name
    assert fp.factor_names == dataset.factor_names
    np.testing.assert_array_equal(fp.factors, dataset.factors(fp.probe_index))
    probe = select_probe_set(dataset, cfg.fingerprint.size, cfg.fingerprint.seed)
    assert probe.digest == fp.probe_digest  # a fresh load reads the same probe images
