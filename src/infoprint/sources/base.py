"""Where the analysis reads fingerprints from (``docs/architecture.md`` §7: the Source contract)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from infoprint.fingerprint.record import Fingerprint

MAX_REASON = 1000
"""Longest reason kept (a hostile file's contents never flood the report)."""


@dataclass(frozen=True)
class SkippedRun:
    """A run the analysis could not use, and why (reported, never fatal).

    ``reason`` is one line (whitespace, newlines included, collapsed) of at most
    ``MAX_REASON`` characters; it names the file and what was expected."""

    run: str  # job directory or W&B run path
    reason: str

    def __post_init__(self) -> None:
        reason = " ".join(str(self.reason).split())
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 1] + "…"
        object.__setattr__(self, "reason", reason)


class Source(Protocol):
    """Yields the fingerprints of an ensemble; records the runs it had to skip."""

    skipped: list[SkippedRun]

    def describe(self) -> str:
        """One line for reports: where the fingerprints came from."""
        ...

    def iter_fingerprints(self) -> Iterator[Fingerprint]: ...
