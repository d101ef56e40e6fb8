"""Fingerprints from a directory tree: one sweep, several sweeps, or a shared file system.

A run directory is any directory holding one of the markers of
:data:`infoprint.run.layout.MARKERS` (``run.json``, ``fingerprint.npz``, ``.hydra/``,
``error.txt``, ``last.ckpt``). Runs without a readable fingerprint (failed, still running,
corrupt) are listed in ``skipped`` with the reason, never raised; so is a second copy of a
run already read (the same run id in two folders, e.g. a copied job folder): the first in
path order is kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from infoprint.fingerprint.record import Fingerprint, FingerprintError
from infoprint.run.directory import RunDirectory
from infoprint.run.layout import NOT_RUNS
from infoprint.sources.base import SkippedRun


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
        if RunDirectory.holds_run(Path(directory), set(files) | set(subdirs)):
            run = RunDirectory(directory)
            if not (run.is_analysis() or run.is_pack()):
                jobs.append(Path(directory))
            subdirs[:] = []  # a job directory holds no other jobs
        else:
            subdirs[:] = [d for d in subdirs if d not in NOT_RUNS]
    return sorted(jobs, key=_natural_key)


def _natural_key(path: Path) -> tuple:
    """Numbers before names, numbers in numeric order: 2 < 10 < 10copy < analysis_old."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.parts)


class LocalSource:
    """Fingerprints below ``path``: one directory (e.g. ``multirun/<sweep>``) or a list of
    them (several sweeps, a tree of them, from different machines); by default the latest
    sweep under ``root``."""

    def __init__(
        self, path: str | os.PathLike | Sequence[str] | None = None, root: str = "multirun"
    ) -> None:
        if path is None:
            paths = [latest_sweep(root)]
        elif isinstance(path, str | os.PathLike):
            paths = [Path(path)]
        else:
            paths = [Path(p) for p in path]
        for p in paths:
            if not p.is_dir():
                raise FileNotFoundError(f"source.path {p} is not a directory")
        self.paths = paths
        self.path = paths[0]
        self.skipped: list[SkippedRun] = []

    def describe(self) -> str:
        where = ", ".join(str(p.resolve()) for p in self.paths)
        return f"director{'y' if len(self.paths) == 1 else 'ies'} {where}"

    def iter_fingerprints(self) -> Iterator[Fingerprint]:
        self.skipped = []
        seen: dict[str, Path] = {}
        jobs = [job for p in self.paths for job in find_job_dirs(p)]
        for job in jobs:
            run = RunDirectory(job)
            if not run.fingerprint_file.is_file():
                self.skipped.append(SkippedRun(str(job), run.failure_reason()))
                continue
            try:
                fingerprint = run.load_fingerprint()
            except FingerprintError as err:
                self.skipped.append(SkippedRun(str(job), str(err)))
                continue
            if fingerprint.run_id in seen:
                self.skipped.append(SkippedRun(
                    str(job), f"run {fingerprint.run_id} again (first read from "
                    f"{seen[fingerprint.run_id]}): a copied job folder; counted once"))  # fmt: skip
                continue
            seen[fingerprint.run_id] = job
            yield fingerprint
