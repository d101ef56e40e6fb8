"""Where the analysis reads fingerprints from (``docs/architecture.md`` §7: the Source contract)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from infoprint.fingerprint.record import Fingerprint


@dataclass(frozen=True)
class SkippedRun:
    """A run the analysis could not use, and why (reported, never fatal)."""

    run: str  # job directory or W&B run path
    reason: str


class Source(Protocol):
    """Yields the fingerprints of an ensemble; records the runs it had to skip."""

    skipped: list[SkippedRun]

    def describe(self) -> str:
        """One line for reports: where the fingerprints came from."""
        ...

    def iter_fingerprints(self) -> Iterator[Fingerprint]: ...
