"""SmallNORB's binary matrix files: headers, training + testing concatenated, camera 0
resized 96 -> 64 px, factors decoded (azimuth / 2), instances drawn at random, errors."""

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from infoprint.data.base import gather
from infoprint.data.files import DatasetFileError
from infoprint.data.smallnorb import CHUNKS, FACTOR_NAMES, FACTOR_SIZES, SmallNORB

MAGIC = {np.dtype(np.uint8): 0x1E3D4C55, np.dtype("<i4"): 0x1E3D4C54}
RNG = np.random.default_rng(0)
# Per split: category, then info columns instance, elevation, azimuth (0, 2, ..., 34), lighting.
# The last two rows of the testing split are one factor cell seen in two instances.
CATEGORY = {"training": np.array([0, 4, 2]), "testing": np.array([1, 3, 3])}
INFO = {
    "training": np.array([[4, 0, 0, 0], [9, 8, 34, 5], [6, 3, 12, 2]]),
    "testing": np.array([[0, 1, 2, 1], [2, 7, 20, 4], [5, 7, 20, 4]]),
}
DAT = {split: RNG.integers(0, 256, (3, 2, 96, 96), dtype=np.uint8) for split in CATEGORY}


def norb_matrix(array: np.ndarray) -> bytes:
    """NORB's binary matrix format: magic, ndim, max(3, ndim) sizes (unused ones 1), data."""
    sizes = list(array.shape) + [1] * (3 - array.ndim)
    header = struct.pack(f"<ii{len(sizes)}i", MAGIC[array.dtype], array.ndim, *sizes)
    return header + array.tobytes()


def write_norb(folder, gzipped=(), **replace):
    folder.mkdir()
    for template in CHUNKS:
        split = "training" if "training" in template else "testing"
        parts = {
            "dat": DAT[split],
            "cat": CATEGORY[split].astype("<i4"),
            "info": INFO[split].astype("<i4"),
        }
        for part, array in parts.items():
            name = template.format(part)
            content = replace.get(f"{split}_{part}", norb_matrix(array))
            if name in gzipped:
                (folder / f"{name}.gz").write_bytes(gzip.compress(content))
            else:
                (folder / name).write_bytes(content)
    return folder


def resized(image: np.ndarray) -> np.ndarray:
    picture = Image.fromarray(image).resize((64, 64), Image.Resampling.LANCZOS)
    return np.asarray(picture)[None] / 255


@pytest.mark.parametrize("gzipped", [(), (CHUNKS[1].format("dat"), CHUNKS[0].format("info"))])
def test_training_then_testing_with_decoded_factors(tmp_path, gzipped):
    data = SmallNORB(write_norb(tmp_path / "small_norb", gzipped=gzipped))
    assert data.name == "smallnorb" and len(data) == 6
    assert data.factor_names == FACTOR_NAMES == ("category", "elevation", "azimuth", "lighting")
    assert data.factor_sizes == FACTOR_SIZES == (5, 9, 18, 6)
    assert data.observation_shape == (1, 64, 64)
    images, factors = gather(data, np.arange(6))
    np.testing.assert_array_equal(
        factors,
        [[0, 0, 0, 0], [4, 8, 17, 5], [2, 3, 6, 2], [1, 1, 1, 1], [3, 7, 10, 4], [3, 7, 10, 4]],
    )
    cameras = np.concatenate([DAT["training"][:, 0], DAT["testing"][:, 0]])
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    for image, camera in zip(images, cameras, strict=True):
        np.testing.assert_allclose(image, resized(camera), atol=1e-6)


def test_an_observation_for_a_factor_cell_is_one_of_its_instances(tmp_path):
    data = SmallNORB(write_norb(tmp_path / "small_norb"))
    assert not data.full_grid  # 5 of 4,860 cells: draws come from stored examples
    cell = np.array([[3, 7, 10, 4]] * 200)
    drawn = data.sample_observations_from_factors(cell, np.random.default_rng(0))
    instances = data.images(np.array([4, 5]))
    matches = [int(np.flatnonzero((instances == x).all(axis=(1, 2, 3)))[0]) for x in drawn]
    assert set(matches) == {0, 1}
    again = data.sample_observations_from_factors(cell, np.random.default_rng(0))
    np.testing.assert_array_equal(again, drawn)


def test_resolution_32_averages_blocks(tmp_path):
    data = SmallNORB(write_norb(tmp_path / "small_norb"), resolution=32)
    expected = resized(DAT["training"][1, 0]).reshape(1, 32, 2, 32, 2).mean(axis=(2, 4))
    assert data.observation_shape == (1, 32, 32)
    np.testing.assert_allclose(data[1][0], expected, atol=1e-6)


def test_missing_file_says_where_to_get_it(tmp_path):
    folder = write_norb(tmp_path / "small_norb")
    missing = CHUNKS[1].format("info")
    (folder / missing).unlink()
    with pytest.raises(FileNotFoundError) as error:
        SmallNORB(folder)
    message = str(error.value)
    assert "data.dataset.path" in message and f"{missing}(.gz)" in message
    assert str(folder) in message and "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/" in message


def test_bad_files_are_named(tmp_path):
    dat = CHUNKS[0].format("dat")
    cases = {
        "magic": ({"training_dat": b"\x00" * 40}, rf"{dat}: not a NORB binary matrix"),
        "short": ({"training_dat": norb_matrix(DAT["training"])[:-1]}, rf"{dat}: truncated"),
        "rows": (
            {"testing_cat": norb_matrix(np.zeros(2, "<i4"))},
            r"testing-cat\.mat: expected int32 \[3\]",
        ),
        "azimuth": (
            {
                "training_info": norb_matrix(
                    (INFO["training"] + np.array([0, 0, 1, 0])).astype("<i4")
                )
            },
            r"training-info\.mat: azimuth values must be 0, 2, \.\.\., 34",
        ),
        "gzip": ({"testing_dat": b"\x1f\x8b broken"}, r"testing-dat\.mat: not a readable gzip"),
    }
    for case, (replace, pattern) in cases.items():
        with pytest.raises(DatasetFileError, match=pattern):
            SmallNORB(write_norb(tmp_path / case, **replace))
