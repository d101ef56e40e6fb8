"""Colour, noisy and scream dSprites: disentanglement_lib's painting recovered from the
images, index reads deterministic (the probe set's digest), metric draws from the rng,
no unpickling, missing files naming their config key."""

import pickle

import numpy as np
import pytest
from PIL import Image

from infoprint.data.base import gather
from infoprint.data.dsprites_variants import (
    ColorDSprites,
    NoisyDSprites,
    ScreamDSprites,
    read_scream,
)
from infoprint.data.files import DatasetFileError
from infoprint.data.sprites import FACTOR_NAMES, FACTOR_SIZES, render_sprites
from infoprint.fingerprint.probe import select_probe_set

FACTORS = np.random.default_rng(0).integers(0, FACTOR_SIZES, size=(12, 5))
SPRITES = render_sprites(FACTORS)  # [12, 1, 64, 64] {0, 1}
SCREAM = np.random.default_rng(1).integers(0, 256, (90, 120, 3), dtype=np.uint8)


@pytest.fixture
def dsprites(tmp_path):
    """A tiny npz in the layout of DeepMind's file, pickled metadata included."""
    path = tmp_path / "dsprites.npz"
    classes = np.hstack([np.zeros((len(FACTORS), 1), np.int64), FACTORS])
    np.savez_compressed(
        path,
        imgs=SPRITES[:, 0].astype(np.uint8),
        latents_classes=classes,
        metadata=np.array({"description": "tiny"}, dtype=object),
    )
    return path


@pytest.fixture
def scream(tmp_path):
    """A 120x90 px PNG: fits 350x274, so the thumbnail leaves it as is."""
    path = tmp_path / "scream.png"
    Image.fromarray(SCREAM).save(path)
    return path


@pytest.fixture
def variants(dsprites, scream, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dSprites variants must never unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    return {
        "color": ColorDSprites(dsprites),
        "noisy": NoisyDSprites(dsprites),
        "scream": ScreamDSprites(dsprites, scream),
    }


@pytest.mark.parametrize("kind", ["color", "noisy", "scream"])
def test_contract_and_deterministic_index_reads(variants, dsprites, scream, kind):
    data = variants[kind]
    assert data.name == f"{kind}_dsprites" and len(data) == len(FACTORS)
    assert data.factor_names == FACTOR_NAMES and data.factor_sizes == FACTOR_SIZES
    assert data.observation_shape == (3, 64, 64)
    images, factors = gather(data, np.arange(len(FACTORS)))
    np.testing.assert_array_equal(factors, FACTORS)
    assert images.shape == (12, 3, 64, 64) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    # index i is painted with seed i's draws: whatever else is read, in any process
    again = type(data)(dsprites, scream) if kind == "scream" else type(data)(dsprites)
    np.testing.assert_array_equal(again.images(np.array([7, 2, 7])), images[[7, 2, 7]])
    np.testing.assert_array_equal(data[5][0], images[5])
    assert not np.array_equal(images[0], images[1])
    probe = select_probe_set(data, 6, seed=3)
    assert probe.digest == select_probe_set(again, 6, seed=3).digest


@pytest.mark.parametrize("kind", ["color", "noisy", "scream"])
def test_metric_draws_follow_the_rng(variants, kind):
    data = variants[kind]
    wanted = FACTORS[[3, 3, 8]]
    first = data.sample_observations_from_factors(wanted, np.random.default_rng(4))
    np.testing.assert_array_equal(
        first, data.sample_observations_from_factors(wanted, np.random.default_rng(4))
    )
    assert first.shape == (3, 3, 64, 64) and not np.array_equal(first[0], first[1])
    other = data.sample_observations_from_factors(wanted, np.random.default_rng(5))
    assert not np.array_equal(first, other)


def test_color_is_the_sprite_times_a_colour_in_half_to_one(variants):
    images = variants["color"].images(np.arange(len(FACTORS)))
    mask = SPRITES.astype(bool)
    assert (images[~np.broadcast_to(mask, images.shape)] == 0).all()
    colours = images.max(axis=(2, 3))  # [12, 3]
    np.testing.assert_allclose(images, SPRITES * colours[:, :, None, None], atol=1e-7)
    assert (colours >= 0.5).all() and (colours <= 1).all() and np.unique(colours).size == 36


def test_noisy_is_white_sprite_on_uniform_noise(variants):
    images = variants["noisy"].images(np.arange(len(FACTORS)))
    mask = np.broadcast_to(SPRITES.astype(bool), images.shape)
    assert (images[mask] == 1).all()
    background = images[~mask]
    assert background.min() >= 0 and background.max() < 1
    assert abs(background.mean() - 0.5) < 0.01 and abs(background.var() - 1 / 12) < 0.01


def test_scream_is_a_patch_averaged_with_a_colour_and_inverted_under_the_sprite(variants):
    images = variants["scream"].images(np.arange(4))
    scream = SCREAM.transpose(2, 0, 1) / 255
    for image, sprite in zip(images, SPRITES[:4, 0].astype(bool), strict=True):
        # recover the crop: the only offset where 2 * background - patch is one colour
        found = []
        for top in range(90 - 64):
            for left in range(120 - 64):
                patch = scream[:, top : top + 64, left : left + 64]
                colour = 2 * image[:, ~sprite] - patch[:, ~sprite]
                if np.ptp(colour, axis=1).max() < 1e-5:
                    found.append((patch, colour[:, 0]))
        assert len(found) == 1
        patch, colour = found[0]
        assert (0 <= colour).all() and (colour <= 1).all()
        background = (patch + colour[:, None, None]) / 2
        np.testing.assert_allclose(image, np.where(sprite, 1 - background, background), atol=1e-6)


@pytest.mark.parametrize("kind", ["color", "noisy", "scream"])
def test_resolution_32_averages_the_painted_image(dsprites, scream, kind):
    cls = {"color": ColorDSprites, "noisy": NoisyDSprites, "scream": ScreamDSprites}[kind]
    args = (dsprites, scream) if kind == "scream" else (dsprites,)
    full, half = cls(*args).images(np.arange(3)), cls(*args, resolution=32).images(np.arange(3))
    assert cls(*args, resolution=32).observation_shape == (3, 32, 32)
    np.testing.assert_allclose(half, full.reshape(3, 3, 32, 2, 32, 2).mean(axis=(3, 5)), atol=1e-6)


def test_missing_files_name_their_config_key_and_source(tmp_path, dsprites, scream):
    with pytest.raises(FileNotFoundError) as error:
        ScreamDSprites(dsprites, tmp_path / "The_Scream.jpg")
    message = str(error.value)
    assert "data.dataset.scream_path" in message and str(tmp_path / "The_Scream.jpg") in message
    assert "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg" in message
    with pytest.raises(FileNotFoundError, match="data.dataset.scream_path"):
        ScreamDSprites(dsprites, None)
    with pytest.raises(FileNotFoundError) as error:
        ColorDSprites(tmp_path / "nowhere.npz")
    message = str(error.value)
    assert (
        "data.dataset.path" in message and "https://github.com/deepmind/dsprites-dataset" in message
    )


def test_unusable_scream_images_are_named(tmp_path, dsprites):
    Image.fromarray(SCREAM[:64]).save(tmp_path / "flat.png")
    with pytest.raises(DatasetFileError, match=r"flat\.png: the image is 120x64 px"):
        ScreamDSprites(dsprites, tmp_path / "flat.png")
    (tmp_path / "junk.jpg").write_bytes(b"not a picture")
    with pytest.raises(DatasetFileError, match=r"junk\.jpg: not a readable image"):
        ScreamDSprites(dsprites, tmp_path / "junk.jpg")


def test_large_paintings_are_thumbnailed_into_350_by_274(tmp_path):
    big = np.random.default_rng(2).integers(0, 256, (1096, 1400, 3), dtype=np.uint8)
    Image.fromarray(big).save(tmp_path / "big.jpg")
    assert read_scream(tmp_path / "big.jpg").shape == (3, 274, 350)
    Image.fromarray(big[:, :700]).convert("L").save(tmp_path / "tall.png")  # grey: made RGB
    assert read_scream(tmp_path / "tall.png").shape == (3, 274, 175)
