"""Sources that fingerprint models trained elsewhere, then yield them like training runs.

See ``docs/architecture.md`` §7. A subclass lists its models as
:class:`~infoprint.fingerprint.stage.ExternalRun` (or :class:`SkippedRun` with the reason);
this base draws the probe set from ``data`` with ``fingerprint.size`` and
``fingerprint.seed`` (the same digest as a training run on that dataset), checks each
model against it, fingerprints it through the cache and lists every model it could not
use with the file and the reason. One bad model never stops the others: any exception
while loading, checking or encoding a model (a refused op, a TF ``InvalidArgumentError``,
a torch ``RuntimeError``) makes it a skipped run with a one-line reason, never an abort
and never a stack trace in the report.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from infoprint.fingerprint.probe import ProbeSet, select_probe_set
from infoprint.fingerprint.record import Fingerprint
from infoprint.fingerprint.stage import ExternalRun, ModelError, fingerprint_run
from infoprint.sources.base import SkippedRun
from infoprint.store.checkpoint import CheckpointError
from infoprint.store.records import RecordError

log = logging.getLogger(__name__)

DEFAULT_PROBE = {"size": 1000, "seed": 0, "batch_size": 500}


class ExternalSource(ABC):
    """Fingerprints of models listed by :meth:`runs`, on the probe set of ``data``."""

    kind = "external"

    def __init__(
        self,
        data: Any,
        fingerprint: Mapping[str, int] | None = None,
        cache_dir: str | Path = ".cache/infoprint/fingerprints",
        device: str = "cpu",
    ) -> None:
        self.dataset = getattr(data, "dataset", data)
        probe = {**DEFAULT_PROBE, **dict(fingerprint or {})}
        unknown = sorted(set(probe) - set(DEFAULT_PROBE))
        if unknown:
            raise ValueError(
                f"source.fingerprint: unknown keys {unknown}; allowed {list(DEFAULT_PROBE)}"
            )
        self.probe_size, self.probe_seed = int(probe["size"]), int(probe["seed"])
        self.batch_size = int(probe["batch_size"])
        self.cache = Path(cache_dir)
        self.device = device
        self.skipped: list[SkippedRun] = []

    @abstractmethod
    def runs(self) -> Iterator[ExternalRun | SkippedRun]:
        """The models to fingerprint, in order."""

    @abstractmethod
    def check(self, run: ExternalRun, probe: ProbeSet) -> None:
        """Raise :class:`ModelError` when ``run`` cannot be fingerprinted on ``probe``."""

    def iter_fingerprints(self) -> Iterator[Fingerprint]:
        self.skipped = []
        probe = select_probe_set(self.dataset, self.probe_size, self.probe_seed)
        for item in self.runs():
            if isinstance(item, SkippedRun):
                self.skipped.append(item)
                continue
            try:
                self.check(item, probe)
                yield fingerprint_run(item, probe, self.cache, self.batch_size, self.device)
            except (ModelError, CheckpointError, RecordError) as err:
                log.warning("skipped %s: %s", item.provenance.get("path"), err)
                self.skipped.append(SkippedRun(str(item.provenance.get("path")), str(err)))
            except Exception as err:  # any other failure of one model is that model's
                where = str(item.provenance.get("path"))
                log.warning("skipped %s: %s", where, one_line(err))
                self.skipped.append(SkippedRun(where, f"{where}: {one_line(err)}"))


def one_line(err: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message`` (TF errors carry a stack trace after it)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
