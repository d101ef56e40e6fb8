"""dSprites from DeepMind's file (Matthey et al. 2017, https://github.com/deepmind/dsprites-dataset).

``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` holds ``imgs`` [737280, 64, 64] uint8
(pixels 0/1), ``latents_values`` and ``latents_classes`` [737280, 6] (colour, shape,
scale, orientation, posX, posY; colour has one value and is dropped) and a pickled
``metadata`` dict. The file is read without pickle: only the ``imgs`` and
``latents_classes`` members are opened, through numpy's ``.npy`` header parser, and
``metadata`` is never touched. Factors are the classes, named and sized as in
:mod:`infoprint.data.sprites` (shape 3, scale 6, orientation 40, posX 32, posY 32).

The published file is deflate-compressed, which no memory map can read; its 3 GB of
images are streamed out of the archive in chunks and kept as packed bits (1 bit per pixel,
377 MB). An npz saved without compression (``np.savez``) is memory-mapped instead and
nothing is copied. Images are float32 {0, 1} [1, 64, 64] (``resolution`` 32 averages 2x2
blocks; see :mod:`infoprint.data.arrays`).
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from infoprint.data.arrays import ArrayGroundTruth
from infoprint.data.files import DatasetFileError, require_file
from infoprint.data.sprites import FACTOR_NAMES, FACTOR_SIZES

FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
SOURCE = "https://github.com/deepmind/dsprites-dataset"
REQUIRED_KEYS = ("imgs", "latents_classes")
_CHUNK_IMAGES = 8192
_ZIP_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length


class PackedBits:
    """Binary images [n, H, W] kept as ``np.packbits`` rows; reads unpack to uint8 0/1."""

    def __init__(self, packed: np.ndarray, height: int, width: int) -> None:
        self._packed = packed
        self.shape = (packed.shape[0], height, width)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        _, height, width = self.shape
        bits = np.unpackbits(self._packed[rows], axis=1, count=height * width)
        return bits.reshape(-1, height, width)


def _npy_header(fp: IO[bytes], path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header; refuses object arrays (they need pickle)."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as error:
        problem = f"member {key!r} is not a readable .npy array ({error})"
        raise DatasetFileError(path, problem) from error
    if dtype.hasobject or fortran:
        raise DatasetFileError(path, f"member {key!r} must be a C-ordered numeric array")
    return tuple(shape), dtype


def _member_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Byte offset of an uncompressed member's data inside the zip file."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        signature, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(
            f.read(_ZIP_LOCAL_HEADER.size)
        )
    if signature != b"PK\x03\x04":
        raise DatasetFileError(path, f"corrupt zip entry {info.filename!r}")
    return info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length


def _read_images(archive: zipfile.ZipFile, path: Path) -> PackedBits | np.memmap:
    info = archive.getinfo("imgs.npy")
    with archive.open(info) as fp:
        shape, dtype = _npy_header(fp, path, "imgs")
        if len(shape) != 3 or dtype != np.uint8:
            raise DatasetFileError(
                path, f"'imgs' must be uint8 [n, H, W], got {dtype} {list(shape)}"
            )
        if info.compress_type == zipfile.ZIP_STORED:
            offset = _member_offset(path, info) + fp.tell()
            return np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=shape)
        n, height, width = shape
        row = height * width
        packed = np.empty((n, (row + 7) // 8), dtype=np.uint8)
        for start in range(0, n, _CHUNK_IMAGES):
            count = min(_CHUNK_IMAGES, n - start)
            chunk = np.frombuffer(fp.read(count * row), dtype=np.uint8)
            if chunk.size != count * row:
                raise DatasetFileError(path, f"'imgs' is truncated: header says {n} images")
            if chunk.max(initial=0) > 1:
                raise DatasetFileError(path, "'imgs' pixels must be 0/1 as in dSprites")
            packed[start : start + count] = np.packbits(chunk.reshape(count, row), axis=1)
    return PackedBits(packed, height, width)


def _read_classes(archive: zipfile.ZipFile, path: Path, n: int) -> np.ndarray:
    with archive.open("latents_classes.npy") as fp:
        shape, dtype = _npy_header(fp, path, "latents_classes")
        if shape != (n, 1 + len(FACTOR_SIZES)) or not np.issubdtype(dtype, np.integer):
            raise DatasetFileError(
                path,
                f"'latents_classes' must be integer [{n}, 6] (one row per image), "
                f"got {dtype} {list(shape)}",
            )
        classes = np.frombuffer(fp.read(), dtype=dtype)
    if classes.size != n * shape[1]:
        raise DatasetFileError(path, "'latents_classes' is truncated")
    factors = classes.reshape(shape)[:, 1:].astype(np.int64)
    if (factors < 0).any() or (factors >= np.asarray(FACTOR_SIZES)).any():
        raise DatasetFileError(
            path, f"'latents_classes' values out of range for dSprites' sizes {FACTOR_SIZES}"
        )
    return factors


class DSpritesFile(ArrayGroundTruth):
    """dSprites read from DeepMind's npz file (``data.dataset.path``)."""

    name = "dsprites"

    def __init__(self, path: str | os.PathLike, resolution: int | None = None) -> None:
        path = require_file(path, FILE_NAME, SOURCE)
        try:
            with zipfile.ZipFile(path) as archive:
                keys = {n.removesuffix(".npy") for n in archive.namelist()}
                missing = [k for k in REQUIRED_KEYS if k not in keys]
                if missing:
                    raise DatasetFileError(
                        path,
                        f"missing key(s) {missing} (found {sorted(keys)}); expected "
                        f"dSprites' {FILE_NAME} from {SOURCE}",
                    )
                images = _read_images(archive, path)
                factors = _read_classes(archive, path, images.shape[0])
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise DatasetFileError(path, f"not a readable npz (zip) archive ({error})") from error
        super().__init__(
            self.name, images, factors, FACTOR_NAMES, FACTOR_SIZES, resolution=resolution
        )
