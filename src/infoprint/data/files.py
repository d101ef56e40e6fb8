"""Dataset files on disk: locating them and reporting what is wrong with them.

Nothing is downloaded at run time (``docs/architecture.md`` §8): loaders read files the user
already has.
A missing file is a :class:`FileNotFoundError` that names the config key to set, the file
that was expected and where to obtain it; a file whose content is not what its format
promises is a :class:`DatasetFileError` whose message starts with the file's path.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PATH_KEY = "data.dataset.path"


class DatasetFileError(ValueError):
    """A dataset file exists but is truncated, of the wrong format or inconsistent."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)


def missing_file(
    path: str | os.PathLike, expected: str, source: str, example: str | None = None
) -> FileNotFoundError:
    """The error for a dataset file that is not where ``data.dataset.path`` points."""
    example = example or f"/path/to/{expected}"
    return FileNotFoundError(
        f"{expected} not found at {str(path)!r} (config key {PATH_KEY}). Nothing is "
        f"downloaded at run time: obtain it from {source}, then point the config at it, "
        f"e.g. `python train.py ... {PATH_KEY}={example}`"
    )


def require_file(path: str | os.PathLike, expected: str, source: str) -> Path:
    """``path`` as a :class:`Path` when it is an existing file, else :func:`missing_file`."""
    resolved = Path(path).expanduser().absolute()
    if not resolved.is_file():
        raise missing_file(resolved, expected, source)
    return resolved


def find_raw_or_gz(directory: Path, stem: str, source: str, example: str) -> Path:
    """``directory/stem`` or ``directory/stem.gz``, whichever exists, else
    :func:`missing_file` (MNIST's IDX files and SmallNORB's matrices come both ways)."""
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    raise missing_file(directory, f"{stem}(.gz)", source, example=example)


def array_from_bytes(
    raw: bytes, path: Path, dims: Sequence[int], dtype: np.dtype, start: int, kind: str
) -> np.ndarray:
    """The ``dims`` array of ``dtype`` stored from byte ``start`` of a binary matrix file
    (IDX, NORB), in native byte order; a file of the wrong length is a
    :class:`DatasetFileError` naming it."""
    count = int(np.prod(dims))
    if min(dims, default=0) < 0 or len(raw) - start != count * dtype.itemsize:
        raise DatasetFileError(
            path,
            f"truncated or oversized {kind} file: dimensions {list(dims)} of {dtype} need "
            f"{count * dtype.itemsize} data bytes, found {len(raw) - start}",
        )
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=start).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


_GZIP_MAGIC = b"\x1f\x8b"


def read_maybe_gzip(path: Path) -> bytes:
    """A file's bytes, decompressed when it is gzip; a broken gzip names the file."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise DatasetFileError(path, f"not a readable gzip file ({error})") from error
