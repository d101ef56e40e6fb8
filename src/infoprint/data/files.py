"""Dataset files on disk: locating them and reporting what is wrong with them.

Nothing is downloaded at run time (``docs/architecture.md`` §8): loaders read files the user
already has.
A missing file is a :class:`FileNotFoundError` that names the config key to set, the file
that was expected and where to obtain it; a file whose content is not what its format
promises is a :class:`DatasetFileError` whose message starts with the file's path.
"""

from __future__ import annotations

import os
from pathlib import Path

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
