"""Cars3D's release layout: MATLAB v5 car files, disentanglement_lib's factor grid and
Lanczos resize to 64 px, files sorted by name, errors naming the file or the config key."""

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from infoprint.data.base import flat_index, gather, grid_factors
from infoprint.data.cars3d import FACTOR_NAMES, Cars3D
from infoprint.data.files import DatasetFileError

CARS = 2
VIEWS = np.random.default_rng(0).integers(0, 256, (CARS, 128, 128, 3, 24, 4), dtype=np.uint8)


def write_cars(directory, views=VIEWS):
    """A folder like the release's data/cars/: one car_*_mesh.mat (v5) per car, plus a
    non-.mat file; written in reverse order so that the listing order is not the name order."""
    directory.mkdir()
    (directory / "README.txt").write_text("not a car")
    for car in reversed(range(len(views))):
        savemat(directory / f"car_{car + 1:03d}_mesh.mat", {"im": views[car]}, format="5")
    return directory


def expected_view(car: int, elevation: int, azimuth: int) -> np.ndarray:
    """disentanglement_lib's preprocessing: the 128 px view shrunk to 64 px by Lanczos."""
    picture = Image.fromarray(VIEWS[car][:, :, :, azimuth, elevation])
    resized = np.asarray(picture.resize((64, 64), Image.Resampling.LANCZOS))
    return resized.transpose(2, 0, 1) / 255


def test_factor_grid_and_views_follow_disentanglement_lib(tmp_path):
    data = Cars3D(write_cars(tmp_path / "cars"))
    assert data.name == "cars3d" and data.factor_names == FACTOR_NAMES
    assert data.factor_sizes == (4, 24, CARS) and len(data) == 4 * 24 * CARS
    assert data.observation_shape == (3, 64, 64) and data.full_grid
    cells = np.array([[0, 0, 0], [3, 23, 1], [2, 5, 0], [1, 17, 1]])
    index = flat_index(cells, data.factor_sizes)  # row-major over (elevation, azimuth, car)
    images, factors = gather(data, index)
    np.testing.assert_array_equal(factors, cells)
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    for image, (elevation, azimuth, car) in zip(images, cells, strict=True):
        np.testing.assert_allclose(image, expected_view(car, elevation, azimuth), atol=1e-6)
    np.testing.assert_array_equal(
        data.factors(np.arange(len(data))), grid_factors(np.arange(len(data)), data.factor_sizes)
    )
    drawn = data.sample_observations_from_factors(cells, np.random.default_rng(0))
    np.testing.assert_array_equal(drawn, images)


def test_resolution_32_averages_blocks(tmp_path):
    data = Cars3D(write_cars(tmp_path / "cars"), resolution=32)
    assert data.observation_shape == (3, 32, 32)
    expected = expected_view(1, 2, 7).reshape(3, 32, 2, 32, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(data[flat_index([2, 7, 1], (4, 24, CARS))][0], expected, atol=1e-6)


@pytest.mark.parametrize("make", ["absent", "empty"])
def test_missing_folder_says_where_to_get_it(tmp_path, make):
    folder = tmp_path / "cars"
    if make == "empty":
        folder.mkdir()
    with pytest.raises(FileNotFoundError) as error:
        Cars3D(folder)
    message = str(error.value)
    assert "data.dataset.path" in message and str(folder) in message and "*.mat" in message
    assert "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz" in message


def test_bad_files_are_named(tmp_path):
    folder = write_cars(tmp_path / "cars", VIEWS[:1])
    savemat(folder / "odd.mat", {"im": VIEWS[0][..., :3]})  # 3 elevations
    with pytest.raises(DatasetFileError, match=r"odd\.mat: expected 'im' uint8 \[H, W, 3, 24, 4\]"):
        Cars3D(folder)
    (folder / "odd.mat").write_bytes(b"no MATLAB file")
    with pytest.raises(DatasetFileError, match=r"odd\.mat: not a readable MATLAB v5"):
        Cars3D(folder)
