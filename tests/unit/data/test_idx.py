"""IDX files (MNIST / Fashion-MNIST): headers parsed by hand, raw or gzip, clear errors."""

import gzip
import struct

import numpy as np
import pytest

from infoprint.data.files import DatasetFileError
from infoprint.data.idx import MNIST, FashionMNIST, read_idx

TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)
LABELS = RNG.integers(0, 10, 12).astype(np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 0x0000, type code, ndim, big-endian dims, big-endian values."""
    header = bytes([0, 0, TYPE_CODES[array.dtype], array.ndim])
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array: np.ndarray, gz: bool = False):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_split(folder, prefix="train", gz=False, images=IMAGES, labels=LABELS):
    suffix = ".gz" if gz else ""
    folder.mkdir(exist_ok=True)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
    return folder


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "array",
    [IMAGES, LABELS, np.array([[-300, 2], [7, 32000]], np.int16), np.float32([1.5, -2.25])],
    ids=["images", "labels", "int16", "float32"],
)
def test_header_dims_and_big_endian_values_are_decoded(tmp_path, array, gz):
    decoded = read_idx(write_idx(tmp_path / "file", array, gz))
    assert decoded.dtype == array.dtype and decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, array)


def test_magic_numbers_of_the_standard_files():
    assert idx_bytes(IMAGES)[:4] == bytes.fromhex("00000803")
    assert idx_bytes(LABELS)[:4] == bytes.fromhex("00000801")


def test_mnist_from_raw_files(tmp_path):
    data = MNIST(write_split(tmp_path / "mnist"))
    assert data.name == "mnist" and len(data) == 12 and data.observation_shape == (1, 28, 28)
    assert data.factor_names == ("label",) and data.factor_sizes == (10,)
    x, f = data[3]
    np.testing.assert_allclose(x[0], IMAGES[3] / 255, rtol=1e-6)
    assert f.tolist() == [LABELS[3]]
    rng = np.random.default_rng(0)
    label = int(LABELS[0])
    found = data.sample_observations_from_factors(np.array([[label]] * 20), rng)
    stored = {IMAGES[i].tobytes() for i in np.flatnonzero(LABELS == label)}
    assert {np.round(im[0] * 255).astype(np.uint8).tobytes() for im in found} <= stored


def test_fashion_mnist_test_split_from_gz_with_conv_padding(tmp_path):
    folder = write_split(tmp_path / "fashion", prefix="t10k", gz=True)
    data = FashionMNIST(folder, split="test", resolution=32)
    assert data.name == "fashion_mnist" and data.observation_shape == (1, 32, 32)
    np.testing.assert_allclose(data.images(np.array([0]))[0, 0, 2:30, 2:30], IMAGES[0] / 255)
    np.testing.assert_array_equal(data.factors(np.arange(12))[:, 0], LABELS)


def test_missing_files_name_the_key_the_file_and_the_source(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        FashionMNIST(tmp_path)
    message = str(error.value)
    assert "data.dataset.path" in message and "train-images-idx3-ubyte(.gz)" in message
    assert "https://github.com/zalandoresearch/fashion-mnist" in message
    with pytest.raises(FileNotFoundError, match=r"yann\.lecun\.com"):
        MNIST(tmp_path, split="test")
    with pytest.raises(ValueError, match="data.dataset.split"):
        MNIST(tmp_path, split="validation")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file_is_named(tmp_path, gz):
    data = idx_bytes(IMAGES)[:-100]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DatasetFileError, match=r"train-images-idx3-ubyte: truncated"):
        read_idx(path)


def test_truncated_gzip_stream_and_header_are_named(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(LABELS))[:-12])
    with pytest.raises(DatasetFileError, match=r"labels\.gz: not a readable gzip file"):
        read_idx(path)
    path = tmp_path / "header"
    path.write_bytes(bytes([0, 0, 8, 3]) + b"\x00\x00")
    with pytest.raises(DatasetFileError, match=r"header: truncated IDX header"):
        read_idx(path)


@pytest.mark.parametrize("start", [b"\x50\x4b\x03\x04", b"\x00\x00\x07\x03", b"\x00"])
def test_wrong_magic_is_named(tmp_path, start):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(start + bytes(64))
    with pytest.raises(DatasetFileError, match=r"train-images-idx3-ubyte: not an IDX file"):
        read_idx(path)


def test_inconsistent_pairs_are_named(tmp_path):
    folder = write_split(tmp_path / "a", labels=LABELS[:-1])
    with pytest.raises(DatasetFileError, match=r"labels-idx1-ubyte: 11 labels for the 12 images"):
        MNIST(folder)
    folder = write_split(tmp_path / "b", labels=LABELS + 10)
    with pytest.raises(DatasetFileError, match=r"labels must lie in \[0, 10\)"):
        MNIST(folder)
    folder = write_split(tmp_path / "c", images=LABELS)  # labels where images belong
    with pytest.raises(DatasetFileError, match=r"images-idx3-ubyte: expected uint8 images"):
        MNIST(folder)
