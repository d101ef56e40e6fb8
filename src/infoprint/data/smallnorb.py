"""SmallNORB (LeCun, Huang & Bottou 2004), read as disentanglement_lib reads it
(Locatello et al. 2019, ``data/ground_truth/norb.py``).

https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ serves six files, each raw or ``.gz``,
which ``data.dataset.path`` holds:
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat`` (24,300 examples each).
Despite the suffix they are NORB binary matrices, not MATLAB files: a little-endian int32
magic number giving the element type (0x1E3D4C55 byte, 0x1E3D4C54 int32, 0x1E3D4C51
float32, 0x1E3D4C53 float64), an int32 number of dimensions ``ndim``, max(3, ndim) int32
sizes (the first ``ndim`` count), then the values in C order. ``-dat`` is bytes
[n, 2, 96, 96] (a stereo pair), ``-cat`` int32 [n] (category 0-4), ``-info`` int32 [n, 4]
(instance 0-9, elevation 0-8, azimuth 0, 2, ..., 34, lighting 0-5).

As disentanglement_lib does, training and testing files are concatenated (in that order),
the first image of each stereo pair is resized 96 -> 64 px with Pillow's Lanczos filter,
and the factors are category 5, elevation 9, azimuth 18 (the stored value / 2), lighting 6.
The instance (10 per category) is not a factor: an observation drawn for a factor vector
is a random one of its instances. disentanglement_lib reads the byte type as int8, but
Pillow takes those bytes as unsigned, so its pixels are the uint8 read here (it resizes
without clipping to [0, 255]; Pillow's uint8 resize clips). Images are [1, 64, 64] float32
(pixel / 255; ``resolution`` 32 averages 2x2 blocks, see :mod:`infoprint.data.arrays`).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from infoprint.data.arrays import ArrayGroundTruth
from infoprint.data.files import (
    DatasetFileError,
    array_from_bytes,
    find_raw_or_gz,
    read_maybe_gzip,
)
from infoprint.data.resample import lanczos

SOURCE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
CHUNKS = (
    "smallnorb-5x46789x9x18x6x2x96x96-training-{}.mat",
    "smallnorb-5x01235x9x18x6x2x96x96-testing-{}.mat",
)
MAGIC_DTYPES = {
    0x1E3D4C55: np.dtype("u1"),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
}
FACTOR_NAMES = ("category", "elevation", "azimuth", "lighting")
FACTOR_SIZES = (5, 9, 18, 6)
INSTANCES = 10
SIDE = 64


def read_norb_matrix(path: Path) -> np.ndarray:
    """The array stored in a NORB binary matrix file (raw or gzip), native byte order."""
    raw = read_maybe_gzip(path)
    magic, ndim = struct.unpack("<ii", raw[:8]) if len(raw) >= 8 else (None, 0)
    if magic not in MAGIC_DTYPES or not 0 <= ndim <= 8:
        known = ", ".join(f"0x{m:08X}" for m in MAGIC_DTYPES)
        raise DatasetFileError(
            path, f"not a NORB binary matrix: header {raw[:8].hex()}, expected magic {known}"
        )
    start = 8 + 4 * max(3, ndim)
    if len(raw) < start:
        raise DatasetFileError(path, f"truncated NORB header ({ndim} dimensions announced)")
    dims = struct.unpack(f"<{ndim}i", raw[8 : 8 + 4 * ndim])
    return array_from_bytes(raw, path, dims, MAGIC_DTYPES[magic], start, "NORB matrix")


def _check(path: Path, array: np.ndarray, dtype: str, shape: str, ok: bool) -> None:
    if array.dtype != np.dtype(dtype) or not ok:
        raise DatasetFileError(
            path, f"expected {dtype} {shape} as in SmallNORB, got {array.dtype} {list(array.shape)}"
        )


def read_chunk(directory: Path, template: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's first-camera images, resized (uint8 [n, 64, 64]), and factors [n, 4]."""
    paths = {
        part: find_raw_or_gz(directory, template.format(part), SOURCE, "/path/to/small_norb")
        for part in ("dat", "cat", "info")
    }
    dat, cat, info = (read_norb_matrix(p) for p in paths.values())
    n = len(dat) if dat.ndim else 0
    _check(paths["dat"], dat, "uint8", "[n, 2, H, W]", dat.ndim == 4 and dat.shape[1] == 2)
    _check(paths["cat"], cat, "int32", f"[{n}]", cat.shape == (n,))
    _check(paths["info"], info, "int32", f"[{n}, 4]", info.shape == (n, 4))
    columns = {
        "category": (paths["cat"], cat, 5),
        "instance": (paths["info"], info[:, 0], INSTANCES),
        "elevation": (paths["info"], info[:, 1], 9),
        "azimuth": (paths["info"], info[:, 2], 35),
        "lighting": (paths["info"], info[:, 3], 6),
    }
    for factor, (path, values, size) in columns.items():
        if ((values < 0) | (values >= size)).any() or (factor == "azimuth" and (values % 2).any()):
            allowed = "0, 2, ..., 34" if factor == "azimuth" else f"0-{size - 1}"
            raise DatasetFileError(path, f"{factor} values must be {allowed}")
    factors = np.column_stack([cat, info[:, 1], info[:, 2] // 2, info[:, 3]]).astype(np.int64)
    return lanczos(dat[:, 0], SIDE), factors


class SmallNORB(ArrayGroundTruth):
    """SmallNORB's training and testing files from the folder ``data.dataset.path``."""

    name = "smallnorb"

    def __init__(self, path: str | os.PathLike, resolution: int | None = None) -> None:
        directory = Path(path).expanduser().absolute()
        chunks = [read_chunk(directory, template) for template in CHUNKS]
        super().__init__(
            self.name,
            np.concatenate([images for images, _ in chunks]),
            np.concatenate([factors for _, factors in chunks]),
            FACTOR_NAMES,
            FACTOR_SIZES,
            scale=1 / 255,
            resolution=resolution,
        )
