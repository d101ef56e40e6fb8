"""Fingerprints from Weights & Biases through the public API (docs/architecture.md §7).

Finds the finished ``train`` runs of one group (sweep), downloads each run's
``fingerprint`` artifact into a cache directory, verifies the download against the
artifact's manifest and loads it like a local fingerprint (never unpickled). Downloads
run in a thread pool, so ensembles of hundreds of runs arrive in parallel. Runs that are
not finished, have no fingerprint artifact or fail verification are listed in ``skipped``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import wandb

from infoprint.fingerprint.record import Fingerprint, FingerprintError
from infoprint.sources.base import SkippedRun
from infoprint.tracking import FINGERPRINT_ARTIFACT_TYPE


class WandbSource:
    """The fingerprints of W&B group ``group`` in ``entity/project``."""

    def __init__(
        self,
        project: str,
        group: str,
        entity: str | None = None,
        cache_dir: str | os.PathLike = ".cache/infoprint/wandb",
        threads: int = 16,
        api: Any = None,
    ) -> None:
        if not project or not group:
            raise ValueError("source=wandb needs source.project and source.group (sweep name)")
        if threads < 1:
            raise ValueError(f"source.threads must be >= 1, got {threads}")
        self.project = project
        self.group = group
        self.entity = entity
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self._api = api
        self.skipped: list[SkippedRun] = []

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}" if self.entity else self.project

    def describe(self) -> str:
        return f"W&B {self.path}, group {self.group}"

    def _runs(self, api: Any, state: Any) -> list[Any]:
        filters = {"group": self.group, "jobType": "train", "state": state}
        return list(api.runs(self.path, filters=filters))

    def iter_fingerprints(self) -> Iterator[Fingerprint]:
        api = self._api if self._api is not None else wandb.Api()
        self.skipped = [
            SkippedRun(_run_path(run), f"W&B run state is {run.state!r}, not 'finished'")
            for run in self._runs(api, {"$ne": "finished"})
        ]
        runs = self._runs(api, "finished")
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            results = list(pool.map(self._fetch, runs))
        for result in results:
            if isinstance(result, SkippedRun):
                self.skipped.append(result)
            else:
                yield result

    def _fetch(self, run: Any) -> Fingerprint | SkippedRun:
        where = _run_path(run)
        try:
            artifacts = [a for a in run.logged_artifacts() if a.type == FINGERPRINT_ARTIFACT_TYPE]
            if not artifacts:
                return SkippedRun(where, "no fingerprint artifact logged")
            artifact = artifacts[-1]
            root = self.cache_dir / self.group / run.id / artifact.name.replace(":", "-")
            artifact.download(root=str(root))
            artifact.verify(root=str(root))
            return Fingerprint.load(root)
        except (FingerprintError, ValueError, OSError, wandb.errors.Error) as err:
            return SkippedRun(where, f"{type(err).__name__}: {err}")


def _run_path(run: Any) -> str:
    return "/".join(run.path) if isinstance(run.path, list | tuple) else str(run.path)
