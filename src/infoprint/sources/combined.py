"""Several sources read as one: sweeps, W&B groups and models trained elsewhere in one
analysis (``docs/architecture.md`` §7), e.g. disentanglement_lib models next to
TorchScript encoders. The analysis still requires one probe set across everything."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from infoprint.fingerprint.record import Fingerprint
from infoprint.sources.base import SkippedRun, Source


class CombinedSource:
    """The fingerprints of ``sources`` in order; a run id seen twice is counted once."""

    def __init__(self, sources: Sequence[Source]) -> None:
        if not sources:
            raise ValueError("source.sources is empty: list the sources to combine")
        self.sources = list(sources)
        self.skipped: list[SkippedRun] = []

    def describe(self) -> str:
        return " + ".join(s.describe() for s in self.sources)

    def iter_fingerprints(self) -> Iterator[Fingerprint]:
        self.skipped = []
        seen: set[str] = set()
        for source in self.sources:
            for fingerprint in source.iter_fingerprints():
                if fingerprint.run_id in seen:
                    self.skipped.append(
                        SkippedRun(
                            str(fingerprint.path),
                            f"run {fingerprint.run_id} read twice; counted once",
                        )
                    )
                    continue
                seen.add(fingerprint.run_id)
                yield fingerprint
            self.skipped.extend(source.skipped)
