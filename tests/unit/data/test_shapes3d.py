"""3dshapes' h5 layout: factor values decoded to indices, in-memory and lazy reads, errors."""

import pickle
import sys

import numpy as np
import pytest

from infoprint.data.base import gather
from infoprint.data.files import DatasetFileError
from infoprint.data.shapes3d import (
    FACTOR_NAMES,
    FACTOR_SIZES,
    FACTOR_VALUES,
    Shapes3D,
    import_h5py,
)

h5py = pytest.importorskip("h5py")

RNG = np.random.default_rng(0)
FACTORS = RNG.integers(0, FACTOR_SIZES, size=(30, 6))
IMAGES = RNG.integers(0, 256, (30, 64, 64, 3), dtype=np.uint8)


def factor_values(factors: np.ndarray) -> np.ndarray:
    """Labels as 3dshapes stores them: float64 factor values, hues 0.0-0.9 and so on."""
    return np.stack([FACTOR_VALUES[k][factors[:, k]] for k in range(6)], axis=1)


def write_shapes3d(path, labels=None, drop=()):
    with h5py.File(path, "w") as h5:
        if "images" not in drop:
            h5.create_dataset("images", data=IMAGES, chunks=(1, 64, 64, 3))
        if "labels" not in drop:
            h5.create_dataset("labels", data=factor_values(FACTORS) if labels is None else labels)
    return path


def test_value_grids_are_3dshapes():
    assert FACTOR_SIZES == (10, 10, 10, 8, 4, 15)
    np.testing.assert_allclose(FACTOR_VALUES[0], [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert FACTOR_VALUES[3][[0, -1]].tolist() == [0.75, 1.25]
    assert FACTOR_VALUES[5][[0, 7, -1]].tolist() == [-30, 0, 30]


@pytest.mark.parametrize("in_memory", [True, False])
def test_labels_decode_to_indices_and_images_to_channels_first(tmp_path, in_memory):
    data = Shapes3D(write_shapes3d(tmp_path / "3dshapes.h5"), in_memory=in_memory)
    assert data.name == "shapes3d" and len(data) == 30 and data.observation_shape == (3, 64, 64)
    assert data.factor_names == FACTOR_NAMES and data.factor_sizes == FACTOR_SIZES
    images, factors = gather(data, np.array([4, 0, 4, 29]))
    np.testing.assert_array_equal(factors, FACTORS[[4, 0, 4, 29]])
    np.testing.assert_allclose(images, IMAGES[[4, 0, 4, 29]].transpose(0, 3, 1, 2) / 255)
    copy = pickle.loads(pickle.dumps(data))  # as a DataLoader worker would receive it
    np.testing.assert_array_equal(copy.images(np.array([7])), data.images(np.array([7])))


def test_float_noise_in_labels_is_tolerated_and_resolution_32(tmp_path):
    labels = factor_values(FACTORS) + 1e-7
    data = Shapes3D(write_shapes3d(tmp_path / "3dshapes.h5", labels=labels), resolution=32)
    np.testing.assert_array_equal(data.factors(np.arange(30)), FACTORS)
    assert data.images(np.array([0])).shape == (1, 3, 32, 32)


def test_off_grid_value_is_named_with_file_and_factor(tmp_path):
    labels = factor_values(FACTORS)
    labels[3, 3] = 0.8  # between two scale values
    path = write_shapes3d(tmp_path / "odd.h5", labels=labels)
    with pytest.raises(DatasetFileError, match=r"odd\.h5: 'labels' column 3 \(scale\) holds 0\.8"):
        Shapes3D(path)


def test_bad_layouts_are_named_with_the_file(tmp_path):
    with pytest.raises(DatasetFileError, match=r"part\.h5: missing dataset\(s\) \['labels'\]"):
        Shapes3D(write_shapes3d(tmp_path / "part.h5", drop=["labels"]))
    with pytest.raises(DatasetFileError, match=r"rows\.h5: 'labels' must be \[30, 6\]"):
        Shapes3D(write_shapes3d(tmp_path / "rows.h5", labels=np.zeros((29, 6))))
    (tmp_path / "junk.h5").write_bytes(b"definitely not HDF5")
    with pytest.raises(DatasetFileError, match=r"junk\.h5: not a readable HDF5 file"):
        Shapes3D(tmp_path / "junk.h5")


def test_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        Shapes3D(tmp_path / "3dshapes.h5")
    message = str(error.value)
    assert "data.dataset.path" in message and "3dshapes.h5" in message
    assert "https://github.com/deepmind/3d-shapes" in message


def test_without_h5py_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install 'infoprint\[shapes3d\]'"):
        import_h5py()
