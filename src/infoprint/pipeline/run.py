"""The step pipeline: analysis steps with one shape, and the runner that isolates their
failures (``docs/architecture.md`` §10).

A step is a function ``step(context) -> StepResult``: it reads what it needs from its
context (an ensemble's :class:`AnalysisContext`: fingerprints, structure, clusterings,
hotspots; a study's ``StudyContext``: each ensemble's analysis; both: the
:class:`AnalysisInputs`, the output folder and what earlier steps produced) and returns
the files, figures, tables and summary section it made. :func:`run_steps` runs the enabled
steps in order; a step that raises is recorded as a :class:`StepFailure` (step, exception
type and message, the file it concerns) and the analysis goes on; only a core step's
failure and a failed write end it. A :class:`Pipeline` is a kind's steps and summary;
:func:`run_pipeline` runs it into the staging folder and :func:`log_published` runs its
W&B step once the folder is published.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from infoprint import tracking
from infoprint.analysis.cache import BlockCache
from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering, Hotspot
from infoprint.analysis.options import AnalysisOptions
from infoprint.analysis.outputs import FigureFile, Table, save_figure, write_summary
from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.terminal import StepProgress
from infoprint.sources.base import SkippedRun
from infoprint.store.atomic import WriteError

log = logging.getLogger(__name__)

C = TypeVar("C", bound="StepContext")


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


@dataclass(frozen=True)
class AnalysisInputs:
    """What every analysis of one command shares: its options, where the runs came from,
    the runs it skipped, notes on how they were split, and the config and command line
    (for the record). Built once by ``tasks/analyze.py``; travels as one object."""

    options: AnalysisOptions
    source: str  # where the fingerprints came from, one line
    skipped: list[SkippedRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    cache: BlockCache | None = None  # run-pair blocks of earlier analyses, and this one's


@dataclass(kw_only=True)
class StepContext:
    """What every step may read, for an ensemble and a study alike: the inputs, the output
    folder, the sweep's name and the results and failures of earlier steps."""

    inputs: AnalysisInputs
    out: Path
    sweep: str
    results: dict[str, StepResult] = field(default_factory=dict)
    failures: list[StepFailure] = field(default_factory=list)

    @property
    def options(self) -> AnalysisOptions:
        return self.inputs.options

    @property
    def source(self) -> str:
        return self.inputs.source

    @property
    def skipped(self) -> list[SkippedRun]:
        return self.inputs.skipped

    def moved(self: C, out: Path) -> C:
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
        """How the runs were split, and what the steps left out on purpose (not failures)."""
        return [*self.inputs.notes, *(n for r in self.results.values() for n in r.notes)]


@dataclass(kw_only=True)
class AnalysisContext(StepContext):
    """One ensemble: its runs, their structure and hotspots (the fatal core)."""

    fingerprints: list[Fingerprint]
    structure: EnsembleStructure
    clusterings: list[Clustering]
    hotspots: list[Hotspot]

    def clustering(self, measure: str) -> Clustering | None:
        return next((c for c in self.clusterings if c.measure == measure), None)


@dataclass(frozen=True)
class Step:
    """A named analysis step; ``enabled`` reads the options; ``core`` failures are fatal."""

    name: str
    title: str  # for the terminal
    run: Callable[[Any], StepResult]  # (a StepContext of the pipeline's kind) -> result
    enabled: Callable[[AnalysisOptions], bool] = lambda options: True
    core: bool = False


def run_steps(steps: Sequence[Step], context: C, progress: StepProgress) -> C:
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


@dataclass(frozen=True)
class Pipeline:
    """The steps of one kind of analysis (an ensemble, a study) and its summary.json.

    Every step but ``wandb`` runs into the staging folder (:func:`run_pipeline`); ``wandb`` runs
    once the folder is published (:func:`log_published`): W&B records the absolute paths of
    the files it stages, which must be final."""

    steps: tuple[Step, ...]
    summarise: Callable[[Any], dict[str, Any]]  # (context) -> summary.json's findings

    def staged(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.name != PUBLISHED_STEP)

    def published(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.name == PUBLISHED_STEP)


PUBLISHED_STEP = "wandb"


def run_pipeline(
    context: C, pipeline: Pipeline, progress: StepProgress
) -> tuple[C, dict[str, Any]]:
    """Run ``pipeline``'s staged steps on ``context``; write and return its summary.json,
    failed steps listed, whatever failed."""
    started = time.perf_counter()
    context.out.mkdir(parents=True, exist_ok=True)
    context = run_steps(pipeline.staged(), context, progress)
    return context, _summarise(context, pipeline, time.perf_counter() - started)


def log_published(
    context: C, pipeline: Pipeline, out: Path, found: dict[str, Any], progress: StepProgress
) -> dict[str, Any]:
    """The W&B step on an analysis once published as ``out``; rewrites its summary.json."""
    context = run_steps(pipeline.published(), context.moved(out), progress)
    return _summarise(context, pipeline, found["seconds"])


def _summarise(context: StepContext, pipeline: Pipeline, seconds: float) -> dict[str, Any]:
    found = pipeline.summarise(context)
    found["failed_steps"] = [asdict(f) for f in context.failures]
    found["notes"] = context.notes()
    found["files"] = context.files()
    found["seconds"] = round(seconds, 3)
    write_summary(context.out, found)
    return found


def start_analysis_run(
    context: StepContext, runs: Sequence[Fingerprint], name: str, *tags: str
) -> tuple[Any, dict[str, Any]]:
    """The W&B run (job type ``analysis``) of an analysis or a study of ``runs``, in the
    project they logged to (``logger.project`` null), staged inside its own folder; and the
    summary section that names it. The run is None where logging is disabled."""
    logger = context.options.logger.for_runs(fp.meta for fp in runs)
    run = tracking.start_run(
        project=logger.project,
        entity=logger.entity,
        mode=logger.mode,
        directory=context.out,
        run_id=None,
        name=f"{context.sweep}-{name}",
        group=context.sweep,
        job_type="analysis",
        config=context.inputs.config,
        tags=[*logger.tags, *tags],
    )
    section = {"mode": logger.mode, "project": logger.project, "entity": logger.entity}
    return run, ({"run_id": run.id} | section if run is not None else section)
