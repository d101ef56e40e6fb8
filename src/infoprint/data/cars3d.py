"""Cars3D (Reed, Zhang, Zhang & Lee 2015, "Deep Visual Analogy-Making"), read as
disentanglement_lib reads it (Locatello et al. 2019, ``data/ground_truth/cars3d.py``).

The release, http://www.scottreed.info/files/nips2015-analogy-data.tar.gz, holds in its
folder ``data/cars/`` one MATLAB v5 file per car model (183 in all). Each file's ``im`` is
uint8 [128, 128, 3, 24, 4]: height, width, RGB, azimuth (24 views around the car),
elevation (4). ``data.dataset.path`` is that folder; its ``*.mat`` files are read with
``scipy.io.loadmat`` (which never runs code) and every view is resized to 64 px with
Pillow's Lanczos filter, as disentanglement_lib does.

Factors, in disentanglement_lib's order: elevation 4, azimuth 24, object_type (one value
per file: 183). Index ``i`` is the row-major grid index over (elevation, azimuth,
object_type), disentanglement_lib's layout. disentanglement_lib numbers the cars in the
order the file system lists them, which nothing fixes; here files are sorted by name, so
object_type ``k`` is the ``k``-th file name. Images are [3, 64, 64] float32 (pixel / 255;
``resolution`` 32 averages 2x2 blocks, see :mod:`infoprint.data.arrays`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from infoprint.data.arrays import ArrayGroundTruth
from infoprint.data.base import grid_factors
from infoprint.data.files import DatasetFileError, missing_file
from infoprint.data.resample import lanczos

SOURCE = (
    "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz (its folder data/cars/, "
    "as disentanglement_lib says)"
)
FACTOR_NAMES = ("elevation", "azimuth", "object_type")
ELEVATIONS = 4
AZIMUTHS = 24
NUM_CARS = 183  # files in the release
SIDE = 64


def car_files(path: str | os.PathLike) -> list[Path]:
    """The ``*.mat`` files of the folder ``path``, sorted by name."""
    directory = Path(path).expanduser().absolute()
    files = sorted(p for p in directory.glob("*.mat") if p.is_file()) if directory.is_dir() else []
    if not files:
        raise missing_file(
            directory,
            f"Cars3D's folder of car model files (*.mat, {NUM_CARS} of them)",
            SOURCE,
            example="/path/to/data/cars",
        )
    return files


def read_car(path: Path) -> np.ndarray:
    """One car file's 96 views, resized: uint8 [4 elevations, 24 azimuths, 64, 64, 3]."""
    try:
        im = loadmat(path, variable_names=["im"]).get("im")
    except (MatReadError, ValueError, NotImplementedError, OSError) as error:
        raise DatasetFileError(path, f"not a readable MATLAB v5 .mat file ({error})") from error
    if (
        not isinstance(im, np.ndarray)
        or im.dtype != np.uint8
        or im.ndim != 5
        or im.shape[2:] != (3, AZIMUTHS, ELEVATIONS)
    ):
        found = f"'im' {im.dtype} {list(im.shape)}" if isinstance(im, np.ndarray) else "no 'im'"
        raise DatasetFileError(
            path,
            f"expected 'im' uint8 [H, W, 3, {AZIMUTHS}, {ELEVATIONS}] (height, width, RGB, "
            f"azimuth, elevation) as in Cars3D's release, found {found}",
        )
    views = im.transpose(4, 3, 0, 1, 2).reshape(-1, *im.shape[:3])  # elevation-major
    return lanczos(views, SIDE).reshape(ELEVATIONS, AZIMUTHS, SIDE, SIDE, 3)


class Cars3D(ArrayGroundTruth):
    """Cars3D from the folder of car ``*.mat`` files (``data.dataset.path``)."""

    name = "cars3d"

    def __init__(self, path: str | os.PathLike, resolution: int | None = None) -> None:
        files = car_files(path)
        sizes = (ELEVATIONS, AZIMUTHS, len(files))
        grid = np.empty((*sizes, SIDE, SIDE, 3), dtype=np.uint8)
        for car, file in enumerate(files):
            grid[:, :, car] = read_car(file)
        n = int(np.prod(sizes))
        super().__init__(
            self.name,
            grid.reshape(n, SIDE, SIDE, 3),
            grid_factors(np.arange(n), sizes),
            FACTOR_NAMES,
            sizes,
            scale=1 / 255,
            resolution=resolution,
        )
