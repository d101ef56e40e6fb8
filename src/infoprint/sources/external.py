"""Sources that fingerprint models trained elsewhere, then yield them like training runs.

See ``docs/architecture.md`` §7. A subclass lists its models as
:class:`~infoprint.fingerprint.stage.ExternalRun` (or :class:`SkippedRun` with the reason);
this base draws the probe set from ``data`` with ``fingerprint.size`` and
``fingerprint.seed`` (the same digest as a training run on that dataset), checks each
model against it, fingerprints it through the cache and lists every model it could not
use with the file and the reason. One bad model never stops the others.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from infoprint.fingerprint.probe import ProbeSet, select_probe_set
from infoprint.fingerprint.record import Fingerprint, FingerprintError
from infoprint.fingerprint.stage import ExternalRun, ModelError, fingerprint_run
from infoprint.run.directory import CheckpointError
from infoprint.sources.base import SkippedRun

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
            except (ModelError, CheckpointError, FingerprintError) as err:
                log.warning("skipped %s: %s", item.provenance.get("path"), err)
                self.skipped.append(SkippedRun(str(item.provenance.get("path")), str(err)))
