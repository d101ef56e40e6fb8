"""Lightning checkpoints read without running code, and written whole (``docs/architecture.md``
§3, §9).

:func:`read_checkpoint` loads with ``weights_only=True``: a checkpoint holding anything
other than tensors and plain values is refused, never unpickled; a truncated or foreign
file is an :class:`UnreadableCheckpoint` (a job sets it aside and starts afresh, §3).
:func:`save_checkpoint` writes through :func:`~infoprint.store.atomic.atomic_write`
(temporary file, fsync, rename): a kill or a full disk leaves the previous checkpoint.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import torch

from infoprint.store.atomic import atomic_write


class CheckpointError(ValueError):
    """A checkpoint cannot be read safely (``weights_only=True``) or is not this run's."""


class UnreadableCheckpoint(CheckpointError):
    """A checkpoint that is truncated, corrupt or not a checkpoint at all (not a refused
    one: that holds readable objects other than tensors and plain values)."""


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's contents, loaded with ``weights_only=True`` (no code ever runs).

    Errors name the file: a missing or truncated file, or one that holds objects other
    than tensors and plain values (which is refused, never unpickled).
    """
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"{path}: refused to load: it holds objects other than tensors and plain values "
            f"(loaded with weights_only=True, nothing in it was run): {first}"
        ) from err
    except Exception as err:  # torch raises many types for truncated or foreign files
        raise UnreadableCheckpoint(
            f"{path}: not a readable checkpoint ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(ckpt, dict):
        raise UnreadableCheckpoint(f"{path}: expected a checkpoint dictionary")
    return ckpt


def save_checkpoint(checkpoint: dict[str, Any], path: Path) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (a killed job never leaves half a file)."""
    buffer = io.BytesIO()  # serialised first: torch's zip writer hides the OSError of a write
    torch.save(checkpoint, buffer)
    return atomic_write(Path(path), lambda f: f.write(buffer.getbuffer()))
