"""Identity of one run: what run.json and the W&B run say about it (``docs/architecture.md``
§3). The callbacks find it from the trainer at setup (``infoprint.callbacks.discovery``);
infoprint's own training records its part in the model (``hparams["run"]``)."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infoprint.run.directory import IDENTITY_KEYS, RunDirectory

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_run_id() -> str:
    """An 8-character id (W&B's own id format), unique across machines in practice."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def git_commit(directory: str | Path) -> str | None:
    """The commit checked out at ``directory``, or None outside a git work tree."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@dataclass
class RunContext:
    """Everything a run's artefacts record about where they came from."""

    run_id: str
    sweep: str
    job_num: int
    output_dir: Path
    model: str
    hyperparameters: dict[str, Any]
    seed: int | None
    dataset: str
    git_commit: str | None = None
    wandb: dict[str, str] | None = field(default=None)

    @property
    def run_name(self) -> str:
        return f"{self.sweep}-{self.job_num}"

    @property
    def directory(self) -> RunDirectory:
        return RunDirectory(self.output_dir)

    def identity(self) -> dict[str, Any]:
        """What makes two attempts the same run (checked on skip and resume)."""
        return {key: getattr(self, key) for key in IDENTITY_KEYS}

    def record(self) -> dict[str, Any]:
        """What a model carries of its run (``hparams["run"]``, stored in checkpoints): its
        identity, sweep, job and run id; the callbacks read it back at setup."""
        run = {"sweep": self.sweep, "job_num": self.job_num, "run_id": self.run_id}
        return {**self.identity(), **run}

    def meta(self) -> dict[str, Any]:
        """The run-identity part of run.json."""
        meta = asdict(self)
        meta["output_dir"] = str(self.output_dir)
        return meta
