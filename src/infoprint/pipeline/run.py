"""Analysis steps with one shape, and the runner that isolates their failures.

``docs/architecture.md`` §10. A step is a function ``step(context) -> StepResult``: it
reads what it needs from the :class:`AnalysisContext` (fingerprints, structure,
clusterings, hotspots, options, output folder, and what earlier steps produced) and
returns the files, figures, tables and summary section it made. :func:`run_steps` runs
the enabled steps in order; an optional step that raises is recorded as a
:class:`StepFailure` (step, exception type and message, the file it concerns) and the
analysis goes on; only a core step's failure is fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering, Hotspot
from infoprint.analysis.options import AnalysisOptions
from infoprint.analysis.outputs import FigureFile, Table, save_figure
from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.terminal import StepProgress
from infoprint.sources.base import SkippedRun
from infoprint.store.atomic import WriteError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepFailure:
    """What went wrong in a step (or with one ``item`` of it, e.g. one hotspot)."""

    step: str
    error: str  # exception type
    message: str
    file: str | None = None  # the file it concerns, if any
    item: str | None = None

    @classmethod
    def of(cls, step: str, err: BaseException, item: str | None = None) -> StepFailure:
        path = getattr(err, "path", None) or getattr(err, "filename", None)
        return cls(step, type(err).__name__, str(err), None if path is None else str(path), item)


@dataclass
class StepResult:
    """What one step produced: files, figures, tables and its section of summary.json."""

    files: dict[str, Path] = field(default_factory=dict)
    figures: list[FigureFile] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    section: dict[str, Any] | list[Any] | None = None
    failures: list[StepFailure] = field(default_factory=list)  # parts that could not be done
    notes: list[str] = field(default_factory=list)  # parts left out on purpose, and why


@dataclass
class AnalysisContext:
    """Everything a step may read: the ensemble, its structure and earlier steps' results."""

    options: AnalysisOptions
    out: Path
    source: str  # where the fingerprints came from, one line
    sweep: str
    fingerprints: list[Fingerprint]
    skipped: list[SkippedRun]
    structure: EnsembleStructure
    clusterings: list[Clustering]
    hotspots: list[Hotspot]
    config: dict[str, Any]  # the composed config, for the record
    command: str
    results: dict[str, StepResult] = field(default_factory=dict)
    failures: list[StepFailure] = field(default_factory=list)

    def moved(self, out: Path) -> AnalysisContext:
        """This context after its output folder was published as ``out``."""

        def move(path: Path) -> Path:
            return out / path.relative_to(self.out) if path.is_relative_to(self.out) else path

        results = {
            name: replace(
                r,
                files={k: move(p) for k, p in r.files.items()},
                figures=[f.moved(self.out, out) for f in r.figures],
            )
            for name, r in self.results.items()
        }
        return replace(self, out=out, results=results)

    def figure(self, fig: Any, name: str, caption: str, key: str | None = None) -> FigureFile:
        """Save ``fig`` as ``name`` in the output folder."""
        return save_figure(fig, self.out / name, caption, key)

    def clustering(self, measure: str) -> Clustering | None:
        return next((c for c in self.clusterings if c.measure == measure), None)

    def sections(self) -> dict[str, Any]:
        return {n: r.section for n, r in self.results.items() if r.section is not None}

    def files(self) -> dict[str, Path]:
        files = {k: v for r in self.results.values() for k, v in r.files.items()}
        return files | {f.key: f.path for r in self.results.values() for f in r.figures}

    def figures(self) -> list[FigureFile]:
        return [f for r in self.results.values() for f in r.figures]

    def tables(self) -> list[Table]:
        return [t for r in self.results.values() for t in r.tables]

    def notes(self) -> list[str]:
        """What the steps left out on purpose, and why (not failures)."""
        return [n for r in self.results.values() for n in r.notes]


@dataclass(frozen=True)
class Step:
    """A named analysis step; ``enabled`` reads the options; ``core`` failures are fatal."""

    name: str
    title: str  # for the terminal
    run: Callable[[AnalysisContext], StepResult]
    enabled: Callable[[AnalysisOptions], bool] = lambda options: True
    core: bool = False


def run_steps(
    steps: Sequence[Step], context: AnalysisContext, progress: StepProgress
) -> AnalysisContext:
    """Run the enabled ``steps`` in order, recording each result (or failure) in ``context``.

    A step's failure is recorded and the next step runs, except a core step's and a failed
    write (:class:`~infoprint.store.atomic.WriteError`: a full disk), which end the
    analysis: its staging folder is dropped and the previous analysis kept."""
    for step in steps:
        if not step.enabled(context.options):
            continue
        try:
            with progress.step(step.title):
                result = step.run(context)
        except Exception as err:
            if step.core or isinstance(err, WriteError):
                raise  # a folder that cannot be written cannot be completed (publish.py)
            log.warning("step %s failed", step.name, exc_info=True)
            failure = StepFailure.of(step.name, err)
            progress.failed(step.title, f"{failure.error}: {failure.message}")
            context.failures.append(failure)
            continue
        context.results[step.name] = result
        for failure in result.failures:
            progress.failed(step.title, f"{failure.item or ''} {failure.message}".strip())
        for note in result.notes:
            progress.remark(step.title, note)
        context.failures.extend(result.failures)
    return context
