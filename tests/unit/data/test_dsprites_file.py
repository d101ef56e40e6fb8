"""dSprites' npz file: the real keys, no unpickling, packed or memory-mapped images, errors."""

import pickle

import numpy as np
import pytest

from infoprint.data.base import gather
from infoprint.data.dsprites_file import FILE_NAME, DSpritesFile, PackedBits
from infoprint.data.files import DatasetFileError
from infoprint.data.sprites import FACTOR_NAMES, FACTOR_SIZES, render_sprites

# A scattering of dSprites' factor grid, not in grid order.
FACTORS = np.random.default_rng(0).integers(0, FACTOR_SIZES, size=(40, 5))


def write_dsprites(path, factors=FACTORS, compressed=True, drop=(), imgs=None, classes=None):
    """An npz shaped like DeepMind's file, with a pickled ``metadata`` dict."""
    n = len(factors)
    if classes is None:
        classes = np.hstack([np.zeros((n, 1), np.int64), factors])
    arrays = {
        "imgs": render_sprites(factors)[:, 0].astype(np.uint8) if imgs is None else imgs,
        "latents_classes": classes,
        "latents_values": classes.astype(np.float64),
        "metadata": np.array({"description": "tiny dSprites"}, dtype=object),
    }
    for key in drop:
        del arrays[key]
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dSprites loader must never unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


@pytest.mark.parametrize("compressed", [True, False])
def test_reads_images_and_factors_without_unpickling(tmp_path, no_unpickling, compressed):
    data = DSpritesFile(write_dsprites(tmp_path / FILE_NAME, compressed=compressed))
    assert data.name == "dsprites" and len(data) == len(FACTORS)
    assert data.factor_names == FACTOR_NAMES and data.factor_sizes == FACTOR_SIZES
    assert data.observation_shape == (1, 64, 64)
    # the published (deflated) file is bit-packed; an uncompressed npz is memory-mapped
    assert isinstance(data._store, PackedBits if compressed else np.memmap)
    images, factors = gather(data, np.arange(len(FACTORS)))
    np.testing.assert_array_equal(factors, FACTORS)
    np.testing.assert_array_equal(images, render_sprites(FACTORS))
    rng = np.random.default_rng(0)
    wanted = FACTORS[[5, 1, 5]]
    np.testing.assert_array_equal(
        data.sample_observations_from_factors(wanted, rng), render_sprites(wanted)
    )
    assert not data.full_grid  # 40 of 737,280 cells: draws come from stored examples
    assert {tuple(f) for f in data.sample_factors(50, rng)} <= {tuple(f) for f in FACTORS}


def test_resolution_32_averages_blocks(tmp_path):
    data = DSpritesFile(write_dsprites(tmp_path / FILE_NAME), resolution=32)
    full = render_sprites(FACTORS[:3])
    expected = full.reshape(3, 1, 32, 2, 32, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(data.images(np.arange(3)), expected)


def test_missing_file_says_where_to_get_it_and_which_key_to_set(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        DSpritesFile(tmp_path / "nowhere.npz")
    message = str(error.value)
    assert "data.dataset.path" in message and FILE_NAME in message
    assert "https://github.com/deepmind/dsprites-dataset" in message
    assert str(tmp_path / "nowhere.npz") in message


@pytest.mark.parametrize("key", ["imgs", "latents_classes"])
def test_missing_keys_are_named_with_the_file(tmp_path, key):
    path = write_dsprites(tmp_path / "partial.npz", drop=[key])
    with pytest.raises(DatasetFileError, match=rf"partial\.npz: missing key\(s\) \['{key}'\]"):
        DSpritesFile(path)


def test_bad_contents_are_named_with_the_file(tmp_path):
    grey = render_sprites(FACTORS)[:, 0].astype(np.uint8) * 255
    with pytest.raises(DatasetFileError, match=r"grey\.npz: 'imgs' pixels must be 0/1"):
        DSpritesFile(write_dsprites(tmp_path / "grey.npz", imgs=grey))
    short = np.zeros((len(FACTORS) - 1, 6), np.int64)
    with pytest.raises(DatasetFileError, match=r"short\.npz: 'latents_classes' must be"):
        DSpritesFile(write_dsprites(tmp_path / "short.npz", classes=short))
    wide = np.hstack([np.zeros((len(FACTORS), 1), np.int64), FACTORS])
    wide[0, 1] = 3  # shape has 3 values
    with pytest.raises(DatasetFileError, match="out of range"):
        DSpritesFile(write_dsprites(tmp_path / "range.npz", classes=wide))
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    with pytest.raises(DatasetFileError, match=r"junk\.npz: not a readable npz"):
        DSpritesFile(tmp_path / "junk.npz")
