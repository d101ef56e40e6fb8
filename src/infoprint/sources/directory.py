"""Fingerprints from a directory tree: one sweep, several sweeps, or a shared file system.

A run directory is any directory holding one of the markers of
:data:`infoprint.store.layout.MARKERS` (``run.json``, ``fingerprint.npz``, ``.hydra/``,
``error.txt``, ``last.ckpt``). Runs without a readable fingerprint (failed, still running,
corrupt, hostile) are listed in ``skipped`` with the reason, never raised: one bad run
never stops the others. So is a second copy of a run already read (the same run id in two
folders, e.g. a copied job folder; the first in path order is kept), a symbolic link to a
folder (never followed) and a folder that cannot be listed.

Folders are left out silently only when they are what they look like: an analysis (a
Hydra job ``analyze``, or a folder holding ``summary.json``), a pack job's own folder, a
W&B folder (``offline-run-*``, ``run-*``, ``latest-run``), a CSV log (``metrics.csv``
alone) or a Python cache; a sweep that only bears such a name is read.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from infoprint.fingerprint.record import Fingerprint
from infoprint.run.directory import RunDirectory
from infoprint.sources.base import SkippedRun
from infoprint.store.layout import CSV_DIR, HYDRA_DIR, HYDRA_PENDING, NOT_RUNS, WANDB_DIR
from infoprint.store.records import RecordError

LINK_REASON = "a symbolic link: not followed"
MAX_PEEK = 10_000
"""Entries of a folder looked at to tell a W&B, CSV or cache folder from a sweep."""
CSV_FILES = frozenset({"metrics.csv", "hparams.yaml"})
WANDB_PREFIXES = ("offline-run-", "run-", "superseded-offline-run-", "latest-run")


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


def find_job_dirs(path: Path, skipped: list[SkippedRun] | None = None) -> list[Path]:
    """Job directories at or below ``path``, sorted (numerically where names are numbers).

    Folders passed over for a reason a user should see (symbolic links, unreadable
    folders) are appended to ``skipped``."""
    jobs = []
    skipped = skipped if skipped is not None else []

    def unreadable(err: OSError) -> None:
        where = err.filename or path
        skipped.append(SkippedRun(str(where), f"folder not readable ({err.strerror or err})"))

    for directory, subdirs, files in os.walk(path, onerror=unreadable):
        here = Path(directory)
        if RunDirectory.holds_run(here, set(files) | set(subdirs)):
            run = RunDirectory(here)
            if not (run.is_analysis() or run.is_pack()):
                jobs.append(here)
            subdirs[:] = []  # a job directory holds no other jobs
            continue
        kept = []
        for name in sorted(subdirs):
            folder = here / name
            if folder.is_symlink():
                skipped.append(SkippedRun(str(folder), LINK_REASON))
            elif not _tool_folder(folder):
                kept.append(name)
        subdirs[:] = kept
    return sorted(jobs, key=_natural_key)


def _tool_folder(folder: Path) -> bool:
    """Whether ``folder``, named like a folder that holds no runs, really is one."""
    if folder.name not in NOT_RUNS:
        return False
    if folder.name == "analysis":
        return RunDirectory(folder).is_analysis_output()
    try:
        with os.scandir(folder) as entries:
            first = itertools.islice(entries, MAX_PEEK)
            peek = [(e.name, e.is_dir(follow_symlinks=False)) for e in first]
    except OSError:
        return False  # walked, and reported as unreadable there
    names = {name for name, _ in peek}
    if folder.name == WANDB_DIR:
        return any(name.startswith(WANDB_PREFIXES) for name in names)
    if folder.name == CSV_DIR:
        return "metrics.csv" in names and names <= CSV_FILES and not any(d for _, d in peek)
    if folder.name == "__pycache__":
        return bool(names) and all(name.endswith(".pyc") for name in names)
    return folder.name in (HYDRA_DIR, HYDRA_PENDING)  # (a folder holding one is a run's)


def _natural_key(path: Path) -> tuple:
    """Numbers before names, numbers in numeric order: 2 < 10 < 10copy < analysis_old."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.parts)


class DirectorySource:
    """Fingerprints below ``path``: one directory (e.g. ``multirun/<sweep>``) or a list of
    them (several sweeps, a tree of them, from different machines); by default the latest
    sweep under ``root``."""

    def __init__(
        self, path: str | os.PathLike | Sequence[str] | None = None, root: str = "multirun"
    ) -> None:
        if path is None:
            paths = [latest_sweep(root)]
        elif isinstance(path, str | os.PathLike):
            paths = [Path(path) if str(path).strip() else Path(".")]
        else:
            paths = [Path(p) for p in path]
        for p in paths:
            if not str(p).strip() or str(p) == ".":
                raise FileNotFoundError("source.path is empty: name a sweep folder")
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
        jobs = [job for p in self.paths for job in find_job_dirs(p, self.skipped)]
        for job in jobs:
            run = RunDirectory(job)
            try:
                if not run.fingerprint_file.is_file():
                    self.skipped.append(SkippedRun(str(job), run.failure_reason()))
                    continue
                fingerprint = run.load_fingerprint()
            except RecordError as err:
                self.skipped.append(SkippedRun(str(job), str(err)))
                continue
            except Exception as err:  # one bad run never stops the others
                self.skipped.append(
                    SkippedRun(str(job), f"{job}: not readable ({type(err).__name__}: {err})")
                )
                continue
            if fingerprint.run_id in seen:
                self.skipped.append(
                    SkippedRun(
                        str(job),
                        f"run {fingerprint.run_id} again (first read from "
                        f"{seen[fingerprint.run_id]}): a copied job folder; counted once",
                    )
                )
                continue
            seen[fingerprint.run_id] = job
            yield fingerprint
