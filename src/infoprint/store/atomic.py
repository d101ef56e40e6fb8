"""Files written whole or not at all (``docs/architecture.md`` §3).

Every file infoprint writes into a run or an analysis (run.json, fingerprint.npz,
snapshots.npz, last.ckpt, summary.json) goes through :func:`atomic_write`: the bytes go to
a temporary file beside the target, are flushed to the disk (``fsync``), and the temporary
file is renamed over the target, then the folder's entry is flushed too. A kill at any
moment leaves the previous file or the new one, never a mix, and a full disk (ENOSPC) or a
quota leaves the previous file and an error that names the file being written.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


class WriteError(OSError):
    """A file could not be written (a full disk, a quota, a lost mount); the message names
    it, and the previous file is as it was."""


def atomic_write(path: Path, write: Callable[[IO], None], mode: str = "wb") -> Path:
    """Write ``path`` through ``write(file)`` atomically: temporary file, fsync, rename.

    An ``OSError`` on the way (a full disk, a quota, a lost mount) leaves ``path`` as it
    was, removes the temporary file and is raised again as a :class:`WriteError` naming
    ``path``.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        _sync_folder(path.parent)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            message = f"could not write {path}: {err.strerror or err}"
            raise WriteError(err.errno, message) from err
        raise
    return path


def atomic_write_json(path: Path, values: dict[str, Any]) -> Path:
    """Write ``values`` as indented, key-sorted JSON to ``path`` atomically."""
    return atomic_write(path, lambda f: json.dump(values, f, indent=2, sort_keys=True), "w")


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text), "w")


def atomic_savez(path: Path, arrays: dict[str, Any], compressed: bool = True) -> Path:
    """Write ``arrays`` as an npz file (deflated unless ``compressed`` is False) atomically."""
    save = np.savez_compressed if compressed else np.savez
    return atomic_write(path, lambda f: save(f, **arrays))


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to the disk, where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename stands
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
