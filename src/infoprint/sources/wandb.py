"""Fingerprints from Weights & Biases through the public API (docs/architecture.md §7).

Finds the finished ``train`` runs of one group (sweep), of several groups, or of a whole
project narrowed by W&B API ``filters`` (MongoDB-style, e.g.
``{"config.model.beta": {"$in": [1, 4]}}``), downloads each run's
``fingerprint`` artifact into a cache directory, verifies the download against the
artifact's manifest and loads it like a local fingerprint (never unpickled). Downloads
run in a thread pool, so ensembles of hundreds of runs arrive in parallel. Runs that are
not finished, have no fingerprint artifact or fail verification are listed in ``skipped``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import wandb

from infoprint.fingerprint.record import Fingerprint
from infoprint.sources.base import SkippedRun
from infoprint.store.records import RecordError
from infoprint.tracking import FINGERPRINT_ARTIFACT_TYPE


class WandbSource:
    """The fingerprints of W&B group(s) ``group`` (None: every group) in ``entity/project``,
    narrowed by ``filters``."""

    def __init__(
        self,
        project: str,
        group: str | Sequence[str] | None,
        entity: str | None = None,
        filters: Mapping[str, Any] | None = None,
        cache_dir: str | os.PathLike = ".cache/infoprint/wandb",
        threads: int = 16,
        api: Any = None,
    ) -> None:
        if not project:
            raise ValueError("source=wandb needs source.project")
        groups = [group] if isinstance(group, str) else list(group or [])
        if not groups and not filters:
            raise ValueError(
                "source=wandb needs source.group (a sweep name or a list of them) or, for a "
                "whole project, source.filters (e.g. {config.model.name: beta_vae})"
            )
        if threads < 1:
            raise ValueError(f"source.threads must be >= 1, got {threads}")
        self.project = project
        self.groups = groups
        self.filters = dict(filters or {})
        self.entity = entity
        self.cache_dir = Path(cache_dir)
        self.threads = threads
        self._api = api
        self.skipped: list[SkippedRun] = []

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}" if self.entity else self.project

    def describe(self) -> str:
        which = (
            f"group{'s' if len(self.groups) > 1 else ''} {', '.join(self.groups)}"
            if self.groups
            else "all groups"
        )
        return f"W&B {self.path}, {which}" + (f", filters {self.filters}" if self.filters else "")

    def _runs(self, api: Any, state: Any) -> list[Any]:
        filters: dict[str, Any] = {**self.filters, "jobType": "train", "state": state}
        if len(self.groups) == 1:
            filters["group"] = self.groups[0]
        elif self.groups:
            filters["group"] = {"$in": self.groups}
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
            root = self.cache_dir / str(run.group) / run.id / artifact.name.replace(":", "-")
            artifact.download(root=str(root))
            artifact.verify(root=str(root))
            return Fingerprint.load(root)
        except (RecordError, ValueError, OSError, wandb.errors.Error) as err:
            return SkippedRun(where, f"{type(err).__name__}: {err}")


def _run_path(run: Any) -> str:
    return "/".join(run.path) if isinstance(run.path, list | tuple) else str(run.path)
