"""3dshapes (Burgess & Kim 2018, https://github.com/deepmind/3d-shapes), read with h5py.

``3dshapes.h5`` holds ``images`` [480000, 64, 64, 3] uint8 and ``labels`` [480000, 6]
float64: the factor values floor_hue, wall_hue and object_hue (10 values each: 0, 0.1,
..., 0.9), scale (8 values, linspace(0.75, 1.25)), shape (0, 1, 2, 3) and orientation
(15 values, linspace(-30, 30)), every combination once. Each value is decoded to the
index of the nearest grid value; a value further than a quarter of the grid step from
every grid value is an error naming the file. Images are [3, 64, 64] float32 (pixel / 255).

h5py is an optional extra (``pip install 'infoprint[shapes3d]'``), imported only here.
``in_memory=True`` reads the 5.9 GB of images into memory once, as disentanglement_lib
does (Locatello et al. 2019); ``False`` reads each batch's rows from the file instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from infoprint.data.arrays import ArrayGroundTruth
from infoprint.data.files import DatasetFileError, require_file

FILE_NAME = "3dshapes.h5"
SOURCE = "https://github.com/deepmind/3d-shapes"
FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
_HUES = np.arange(10) / 10
FACTOR_VALUES = (
    _HUES,
    _HUES,
    _HUES,
    np.linspace(0.75, 1.25, 8),
    np.arange(4.0),
    np.linspace(-30.0, 30.0, 15),
)
FACTOR_SIZES = tuple(len(v) for v in FACTOR_VALUES)


def import_h5py() -> ModuleType:
    """h5py, or an ImportError that says how to install the optional extra."""
    try:
        import h5py
    except ImportError as error:
        raise ImportError(
            "data=shapes3d reads 3dshapes.h5 with h5py, an optional extra: "
            "pip install 'infoprint[shapes3d]' (or pip install h5py)"
        ) from error
    return h5py


def decode_factors(labels: np.ndarray, path: Path) -> np.ndarray:
    """Factor values [n, 6] float -> class indices [n, 6] int64 (nearest grid value)."""
    factors = np.empty(labels.shape, dtype=np.int64)
    for k, values in enumerate(FACTOR_VALUES):
        column = labels[:, k]
        index = np.searchsorted((values[1:] + values[:-1]) / 2, column)
        off = np.abs(column - values[index]) > np.diff(values).min() / 4
        if off.any():
            raise DatasetFileError(
                path,
                f"'labels' column {k} ({FACTOR_NAMES[k]}) holds {float(column[off][0])}, not one "
                f"of 3dshapes' values {np.round(values, 4).tolist()}",
            )
        factors[:, k] = index
    return factors


class H5Rows:
    """Rows of an HDF5 dataset, opened lazily in each process (h5py handles do not fork)."""

    def __init__(self, path: Path, key: str, shape: tuple[int, ...]) -> None:
        self.path = path
        self.key = key
        self.shape = shape
        self._file: Any = None
        self._pid: int | None = None

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        if self._pid != os.getpid():
            self._file = import_h5py().File(self.path, "r")
            self._pid = os.getpid()
        return self._file[self.key][rows]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_file": None, "_pid": None}


class Shapes3D(ArrayGroundTruth):
    """3dshapes read from DeepMind's ``3dshapes.h5`` (``data.dataset.path``)."""

    name = "shapes3d"

    def __init__(
        self, path: str | os.PathLike, resolution: int | None = None, in_memory: bool = True
    ) -> None:
        path = require_file(path, FILE_NAME, SOURCE)
        h5py = import_h5py()
        try:
            with h5py.File(path, "r") as h5:
                missing = [k for k in ("images", "labels") if k not in h5]
                if missing:
                    raise DatasetFileError(
                        path, f"missing dataset(s) {missing} (found {sorted(h5.keys())})"
                    )
                images, labels = h5["images"], h5["labels"]
                n = images.shape[0]
                if images.ndim != 4 or images.shape[3] != 3 or images.dtype != np.uint8:
                    raise DatasetFileError(
                        path,
                        f"'images' must be uint8 [n, H, W, 3], got {images.dtype} "
                        f"{list(images.shape)}",
                    )
                if labels.shape != (n, len(FACTOR_NAMES)):
                    raise DatasetFileError(
                        path, f"'labels' must be [{n}, 6] (one row per image), got {labels.shape}"
                    )
                factors = decode_factors(np.asarray(labels, dtype=np.float64), path)
                store = np.asarray(images) if in_memory else H5Rows(path, "images", images.shape)
        except OSError as error:
            raise DatasetFileError(path, f"not a readable HDF5 file ({error})") from error
        super().__init__(
            self.name,
            store,
            factors,
            FACTOR_NAMES,
            FACTOR_SIZES,
            scale=1 / 255,
            resolution=resolution,
        )
