"""The run directory: one owner for a job directory's files, state and rerun decision.

See ``docs/architecture.md`` §3. The train task, the callbacks, the local source, the
traversals and the analysis all reach a job directory's files through
:class:`RunDirectory`; file names live in :mod:`infoprint.store.layout`.

State (:class:`RunState`):

- ``fresh``: nothing of a run yet (or only Hydra's ``.hydra/``);
- ``finished``: ``fingerprint.npz`` and ``run.json`` are there;
- ``failed``: the last attempt wrote ``error.txt``;
- ``unfinished``: anything else (a killed attempt, a run still training).

Reruns (``rerun``): ``skip`` skips finished runs and resumes unfinished ones from
``last.ckpt``; ``resume`` resumes every run with a ``last.ckpt``; ``overwrite`` deletes
earlier results and starts afresh.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from infoprint.errors import ConfigError
from infoprint.fingerprint.record import Fingerprint
from infoprint.store.atomic import atomic_write_json, atomic_write_text
from infoprint.store.checkpoint import CheckpointError, UnreadableCheckpoint, read_checkpoint
from infoprint.store.layout import (
    CHECKPOINT_FILE,
    CONFIG_TREE_FILE,
    CSV_DIR,
    ERROR_FILE,
    FINGERPRINT_FILE,
    HYDRA_CONFIG,
    HYDRA_DIR,
    HYDRA_PENDING,
    MARKERS,
    PACK_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    WANDB_DIR,
)
from infoprint.store.records import RecordError, read_json
from infoprint.store.replace import replace_folder

if TYPE_CHECKING:
    from infoprint.models.vae import VAE

log = logging.getLogger(__name__)

RERUN_MODES = ("skip", "resume", "overwrite")
MAX_HYDRA_YAML_BYTES = 1 << 20
"""Largest .hydra/hydra.yaml read to tell an analysis folder from a run (Hydra's: ~10 KiB)."""
ERROR_TAIL_BYTES = 64 << 10
"""How much of the end of error.txt is read for a failed run's reason."""
IDENTITY_KEYS = ("model", "hyperparameters", "seed", "dataset")
"""What makes two attempts the same run."""
METRICS_KEY = "metrics"
"""The key of run.json that holds the run's disentanglement scores."""


class RunState(enum.Enum):
    FRESH = "fresh"
    UNFINISHED = "unfinished"
    FINISHED = "finished"
    FAILED = "failed"


class RunDirectoryError(ConfigError):
    """A run directory's files contradict what is asked of it (another run, bad checkpoint)."""


@dataclass(frozen=True)
class Attempt:
    """What this attempt of a job does: skip it, or train (from ``checkpoint`` when set)."""

    skip: bool
    checkpoint: Path | None


class RunDirectory:
    """One job's directory: its layout, state, rerun decision, run.json and model."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        # -- layout: every file of a run directory, by its name in store/layout.py
        self.fingerprint_file = self.path / FINGERPRINT_FILE
        self.run_file = self.path / RUN_FILE
        self.checkpoint = self.path / CHECKPOINT_FILE
        self.error_file = self.path / ERROR_FILE
        self.config_file = self.path / HYDRA_CONFIG
        self.config_tree_file = self.path / CONFIG_TREE_FILE
        self.csv_dir = self.path / CSV_DIR
        self.wandb_dir = self.path / WANDB_DIR

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    @staticmethod
    def holds_run(path: Path, names: set[str] | None = None) -> bool:
        """Whether ``path`` (whose entries are ``names`` if given) is a run directory."""
        names = names if names is not None else {p.name for p in path.iterdir()}
        return any(marker in names for marker in MARKERS)

    def is_analysis(self) -> bool:
        """Whether this is an analysis's output folder (Hydra job ``analyze``), not a run.

        ``.hydra/hydra.yaml`` is read as plain YAML (no interpolation runs) when it is a
        regular file of at most ``MAX_HYDRA_YAML_BYTES``; anything else is not an analysis.
        """
        hydra_file = self.path / HYDRA_DIR / "hydra.yaml"
        try:
            if not hydra_file.is_file() or hydra_file.stat().st_size > MAX_HYDRA_YAML_BYTES:
                return False
            config = yaml.safe_load(hydra_file.read_text())
            job = config.get("hydra", {}).get("job", {})
            return isinstance(job, dict) and job.get("name") == "analyze"
        except Exception:  # unreadable, too deep, not a mapping: the folder is a run
            return False

    def is_analysis_output(self) -> bool:
        """An analysis folder: a Hydra job ``analyze`` or a folder holding summary.json."""
        return (self.path / SUMMARY_FILE).is_file() or self.is_analysis()

    def is_pack(self) -> bool:
        """Whether this is a pack job's own directory (its members' runs are elsewhere)."""
        return (self.path / PACK_FILE).is_file()

    # -- state and reruns ---------------------------------------------------------------
    @property
    def state(self) -> RunState:
        if self.fingerprint_file.is_file() and self.run_file.is_file():
            return RunState.FINISHED
        if self.error_file.is_file():
            return RunState.FAILED
        if self.checkpoint.is_file() or self.run_file.is_file() or self.csv_dir.is_dir():
            return RunState.UNFINISHED
        return RunState.FRESH

    def plan(self, mode: str) -> Attempt:
        """This attempt's plan under rerun ``mode`` (see the module docstring)."""
        if mode not in RERUN_MODES:
            raise ValueError(f"rerun must be one of {', '.join(RERUN_MODES)}, got {mode!r}")
        if mode == "overwrite":
            return Attempt(skip=False, checkpoint=None)
        finished = self.state is RunState.FINISHED
        if self.checkpoint.is_file() and (mode == "resume" or not finished):
            if self._set_aside_if_unreadable():
                return Attempt(skip=False, checkpoint=None)
            return Attempt(skip=False, checkpoint=self.checkpoint)
        return Attempt(skip=finished, checkpoint=None)

    def _set_aside_if_unreadable(self) -> bool:
        """A truncated or corrupt ``last.ckpt`` (a kill or a full disk while it was written
        elsewhere) is renamed ``last.ckpt.unreadable`` with a warning, and the run starts
        afresh rather than never running again. A refused one (unsafe content) stays: the
        attempt fails on it, naming the file."""
        try:
            read_checkpoint(self.checkpoint)
        except UnreadableCheckpoint as err:
            aside = self.checkpoint.with_name(f"{self.checkpoint.name}.unreadable")
            os.replace(self.checkpoint, aside)
            log.warning("%s; kept as %s, the run starts afresh", err, aside)
            return True
        except CheckpointError:
            return False
        return False

    def check_same_run(self, identity: Mapping[str, Any], previous: Mapping, where: Path) -> None:
        """Raise when ``previous`` (read from ``where``) records another run than ``identity``."""
        for key in IDENTITY_KEYS:
            if previous.get(key) != identity[key]:
                raise RunDirectoryError(
                    f"{where} belongs to another run ({key} {previous.get(key)!r} there, "
                    f"{identity[key]!r} now): the jobs of sweep_name changed. Use a new "
                    f"sweep_name, or rerun=overwrite to replace the old results"
                )

    def checkpoint_step(self, identity: Mapping[str, Any]) -> int:
        """The global step of ``last.ckpt`` after checking that it is this run's."""
        ckpt = read_checkpoint(self.checkpoint)
        previous = ckpt.get("hyper_parameters", {}).get("run", {})
        self.check_same_run(identity, previous, self.checkpoint)
        return int(ckpt["global_step"])

    def adopt_hydra_record(self) -> None:
        """Make the record Hydra wrote for this attempt (``.hydra-pending``) the folder's
        ``.hydra``, whole (the job is this folder's run, or the folder is fresh)."""
        pending = self.path / HYDRA_PENDING
        if pending.is_dir():
            replace_folder(pending, self.path / HYDRA_DIR)

    def drop_hydra_record(self) -> None:
        """Discard this attempt's record: the folder's ``.hydra`` stays the run's own (a
        skipped run, or another run's folder refused)."""
        shutil.rmtree(self.path / HYDRA_PENDING, ignore_errors=True)

    def remove_results(self) -> list[Path]:
        """Delete the fingerprint, run.json, checkpoint and logs of earlier attempts."""
        removed = []
        for path in (self.fingerprint_file, self.run_file, self.checkpoint, self.error_file):
            if path.is_file():
                path.unlink()
                removed.append(path)
        for directory in (self.csv_dir, self.wandb_dir):
            if directory.is_dir():
                shutil.rmtree(directory)
                removed.append(directory)
        return removed

    def archive_error(self) -> Path | None:
        """Keep a previous attempt's error.txt as error.<k>.txt (no longer a failure mark)."""
        if not self.error_file.is_file():
            return None
        k = 1
        while (archived := self.path / f"error.{k}.txt").exists():
            k += 1
        self.error_file.rename(archived)
        return archived

    def write_error(self, text: str) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.error_file, text)
        return self.error_file

    def failure_reason(self) -> str:
        """Why this directory holds no fingerprint, in one line."""
        if not self.error_file.is_file():
            return "no fingerprint.npz (job unfinished or killed)"
        with self.error_file.open("rb") as f:  # its end only: a huge file costs nothing
            f.seek(max(0, f.seek(0, os.SEEK_END) - ERROR_TAIL_BYTES))
            text = f.read().decode(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        last = " ".join(lines[-1].split())[:500] if lines else f"see {self.error_file}"
        return f"job failed: {last}"

    # -- run.json and fingerprint ------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        """run.json as a dictionary, read within bounds (:mod:`infoprint.store.records`)."""
        try:
            return read_json(self.run_file)
        except RecordError as err:
            raise RunDirectoryError(str(err)) from err

    def update_meta(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``values`` into run.json (atomic rewrite); the fingerprint is validated first."""
        meta = {**self.load_fingerprint().meta, **values}
        atomic_write_json(self.run_file, meta)
        return meta

    def record_metrics(self, metrics: Mapping[str, float]) -> dict[str, Any]:
        """Store disentanglement scores in run.json under ``metrics`` (non-finite as null)."""
        values = {k: (float(v) if math.isfinite(v) else None) for k, v in sorted(metrics.items())}
        return self.update_meta({METRICS_KEY: values})

    def load_fingerprint(self) -> Fingerprint:
        return Fingerprint.load(self.path)

    # -- model --------------------------------------------------------------------------
    def load_model(self) -> VAE:
        """The run's model rebuilt from ``last.ckpt`` alone (no Hydra, no .hydra/)."""
        # imported here: infoprint's models need pytorch_lightning, and the plugin's callback
        # (which reads run folders through this class) runs on `lightning` alone (§2a)
        from infoprint.models.builder import load_model

        return load_model(self.checkpoint)
