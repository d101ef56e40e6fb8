"""Fingerprints from a directory tree: one sweep, several sweeps, or a shared file system.

A job directory is any directory holding ``run.json``, ``fingerprint.npz``, Hydra's
``.hydra/`` or a job's ``error.txt``. Jobs without a readable fingerprint (failed,
still running, corrupt) are listed in ``skipped`` with the reason, not raised.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from infoprint.fingerprint.record import (
    FINGERPRINT_FILE,
    RUN_FILE,
    Fingerprint,
    FingerprintError,
)
from infoprint.sources.base import SkippedRun

ERROR_FILE = "error.txt"
_MARKERS = (RUN_FILE, FINGERPRINT_FILE, ERROR_FILE, ".hydra")
_NOT_JOBS = {"wandb", "csv", "analysis", ".hydra", "__pycache__"}


def latest_sweep(root: str | Path = "multirun") -> Path:
    """The most recently modified sweep directory under ``root``."""
    root = Path(root)
    sweeps = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
    if not sweeps:
        raise FileNotFoundError(
            f"no sweep directories under {root.resolve()}; run `python train.py -m ...` "
            f"first or pass source.path=<sweep dir>"
        )
    return max(sweeps, key=lambda p: p.stat().st_mtime)


def find_job_dirs(path: Path) -> list[Path]:
    """Job directories at or below ``path``, sorted (numerically where names are numbers)."""
    jobs = []
    for directory, subdirs, files in os.walk(path):
        names = set(files) | set(subdirs)
        if any(marker in names for marker in _MARKERS):
            jobs.append(Path(directory))
            subdirs[:] = []  # a job directory holds no other jobs
        else:
            subdirs[:] = [d for d in subdirs if d not in _NOT_JOBS]
    return sorted(jobs, key=_natural_key)


def _natural_key(path: Path) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in path.parts)


def _failure(job: Path) -> str:
    error = job / ERROR_FILE
    if not error.is_file():
        return "no fingerprint.npz (job unfinished or killed)"
    lines = [line for line in error.read_text(errors="replace").splitlines() if line.strip()]
    return f"job failed: {lines[-1].strip() if lines else 'see ' + str(error)}"


class LocalSource:
    """Fingerprints below ``path`` (e.g. ``multirun/<sweep>``); by default the latest sweep."""

    def __init__(self, path: str | os.PathLike | None = None, root: str = "multirun") -> None:
        self.path = Path(path) if path is not None else latest_sweep(root)
        if not self.path.is_dir():
            raise FileNotFoundError(f"source.path {self.path} is not a directory")
        self.skipped: list[SkippedRun] = []

    def describe(self) -> str:
        return f"directory {self.path.resolve()}"

    def iter_fingerprints(self) -> Iterator[Fingerprint]:
        self.skipped = []
        for job in find_job_dirs(self.path):
            if not (job / FINGERPRINT_FILE).is_file():
                self.skipped.append(SkippedRun(str(job), _failure(job)))
                continue
            try:
                yield Fingerprint.load(job)
            except FingerprintError as err:
                self.skipped.append(SkippedRun(str(job), str(err)))
