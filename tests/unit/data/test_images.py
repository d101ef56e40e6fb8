"""A user's own images: PNG/JPEG folders and npz files, with and without factors."""

import numpy as np
import pytest

from infoprint.data.arrays import ArrayGroundTruth
from infoprint.data.base import has_factors
from infoprint.data.files import DatasetFileError
from infoprint.data.images import load_images
from infoprint.fingerprint.probe import select_probe_set

Image = pytest.importorskip("PIL.Image")

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (5, 12, 16), dtype=np.uint8)


def write_pngs(folder, arrays, names=None):
    for k, array in enumerate(arrays):
        path = folder / (names[k] if names else f"{k:03d}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
    return folder


def test_folder_of_greyscale_pngs_in_sorted_path_order(tmp_path):
    names = ["b/001.png", "a/002.PNG", "a/001.png", "c.png", "b/000.png"]
    write_pngs(tmp_path / "pics", GREY, names)
    (tmp_path / "pics" / "notes.txt").write_text("not an image")
    data = load_images(tmp_path / "pics", name="mine")
    assert data.name == "mine" and len(data) == 5 and data.observation_shape == (1, 12, 16)
    order = np.argsort(names, kind="stable")  # a/001, a/002, b/000, b/001, c
    np.testing.assert_allclose(data.images(np.arange(5))[:, 0], GREY[order] / 255, rtol=1e-6)
    assert not has_factors(data) and data.factors(np.arange(2)).shape == (2, 0)
    probe = select_probe_set(data, 3, seed=0)
    assert probe.factors is None and probe.factor_names == ()


def test_mixed_grey_and_colour_becomes_rgb_and_channels_can_be_forced(tmp_path):
    colour = RNG.integers(0, 256, (2, 12, 16, 3), dtype=np.uint8)
    folder = write_pngs(tmp_path / "mixed", [GREY[0], colour[0], colour[1]])
    smooth = np.broadcast_to(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], (12, 16, 3))
    Image.fromarray(np.ascontiguousarray(smooth)).save(folder / "003.jpg", quality=95)
    data = load_images(folder)
    assert data.observation_shape == (3, 12, 16) and len(data) == 4
    first = data.images(np.array([0]))[0]
    np.testing.assert_allclose(first, np.repeat(GREY[0][None] / 255, 3, axis=0), rtol=1e-6)
    jpeg = data.images(np.array([3]))[0].transpose(1, 2, 0) * 255
    assert np.abs(jpeg - smooth).mean() < 4  # lossy, but the same picture
    assert load_images(folder, channels=1).observation_shape == (1, 12, 16)


def test_mixed_sizes_name_the_offending_file(tmp_path):
    folder = write_pngs(tmp_path / "sizes", [GREY[0], GREY[1], GREY[2][:, :10]])
    with pytest.raises(DatasetFileError, match=r"002\.png: image size 10x12 differs from 000\.png"):
        load_images(folder)


def test_unreadable_and_empty_folders_are_named(tmp_path):
    folder = write_pngs(tmp_path / "broken", [GREY[0]])
    (folder / "001.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(DatasetFileError, match=r"001\.png: not a readable image"):
        load_images(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetFileError, match=r"empty: no \.png/\.jpg/\.jpeg images"):
        load_images(tmp_path / "empty")


def test_npz_with_factors_is_a_ground_truth_dataset(tmp_path):
    images = RNG.random((6, 3, 16, 16)).astype(np.float32)  # channels first, floats
    factors = np.array([[0, 1], [1, 0], [2, 1], [0, 0], [1, 1], [2, 0]])
    path = tmp_path / "mine.npz"
    np.savez(path, images=images, factors=factors, factor_names=np.array(["size", "hue"]))
    data = load_images(path)
    assert isinstance(data, ArrayGroundTruth) and has_factors(data)
    assert data.observation_shape == (3, 16, 16)
    assert data.factor_names == ("size", "hue") and data.factor_sizes == (3, 2)
    np.testing.assert_array_equal(data.images(np.arange(6)), images)
    found = data.sample_observations_from_factors(np.array([[2, 0]]), np.random.default_rng(0))
    np.testing.assert_array_equal(found, images[[5]])
    probe = select_probe_set(data, 4, seed=0)
    np.testing.assert_array_equal(probe.factors, factors[probe.indices])


def test_npz_without_factors_and_with_unnamed_factors(tmp_path):
    np.savez(tmp_path / "plain.npz", images=GREY[:, :, :12])
    plain = load_images(tmp_path / "plain.npz", resolution=32)
    assert not has_factors(plain) and plain.observation_shape == (1, 32, 32)  # 12 px x2 + 4
    np.savez(tmp_path / "unnamed.npz", images=GREY > 100, factors=np.arange(5)[:, None])
    unnamed = load_images(tmp_path / "unnamed.npz")
    assert unnamed.factor_names == ("factor0",) and unnamed.factor_sizes == (5,)
    assert set(np.unique(unnamed.images(np.arange(5)))) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"pixels": GREY}, r"missing key 'images' \(found \['pixels'\]\)"),
        ({"images": GREY[:, :, :, None, None]}, "'images' must be"),
        ({"images": GREY.astype(np.float32)}, "float in \\[0, 1\\]"),
        ({"images": GREY, "factors": np.zeros((5, 1))}, "integer class indices"),
        ({"images": GREY, "factors": -np.ones((5, 1), int)}, "non-negative"),
        ({"images": GREY, "factor_names": np.array(["a"])}, "without 'factors'"),
        (
            {
                "images": GREY,
                "factors": np.zeros((5, 1), int),
                "factor_names": np.array(["a", "b"]),
            },
            "'factor_names' must be 1 strings",
        ),
        (
            {"images": GREY, "factors": np.zeros((5, 1), int), "factor_names": np.array([{"a"}])},
            "'factor_names' cannot be read without pickle",
        ),
    ],
)
def test_bad_npz_contents_are_named_with_the_file(tmp_path, arrays, message):
    path = tmp_path / "user.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetFileError, match=rf"user\.npz: .*{message}"):
        load_images(path)


def test_missing_path_and_bad_options_name_the_key(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data\.dataset\.path"):
        load_images(tmp_path / "absent")
    np.savez(tmp_path / "plain.npz", images=GREY)
    with pytest.raises(ValueError, match="data.dataset.channels applies to image folders"):
        load_images(tmp_path / "plain.npz", channels=3)
    with pytest.raises(ValueError, match="data.dataset.channels must be"):
        load_images(tmp_path, channels=2)
