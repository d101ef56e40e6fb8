"""analyze(cfg): the ensemble analysis, from a fingerprint source to files, figures and W&B.

``docs/architecture.md`` §10. The options are checked once, as the config is composed
(:class:`CheckOptions`, before Hydra makes the run folder; :func:`analyze` checks them
again when called without Hydra). The core, fatal on failure: read the fingerprints
(runs without a usable one are reported as skipped, never fatal), check they share a
probe set, information per channel, pairwise NMI / VI, NMI with the factors, OPTICS
hotspots (each ensemble's, for a study). Then the pipeline's steps run in order (one
ensemble: :data:`infoprint.pipeline.ensemble.ENSEMBLE`; several:
:data:`infoprint.pipeline.study_steps.STUDY`); a step that fails is recorded in
summary.json (``failed_steps``) and the report, and the rest completes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.errors import InstantiationException
from hydra.experimental.callback import Callback
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from infoprint.analysis.cache import CACHE_DIR, BlockCache
from infoprint.analysis.ensembles import split_ensembles
from infoprint.analysis.options import AnalysisOptions
from infoprint.errors import ConfigError
from infoprint.pipeline.ensemble import ENSEMBLE, ensemble_context
from infoprint.pipeline.report import REPORT_FILE
from infoprint.pipeline.run import AnalysisInputs, StepContext, log_published, run_pipeline
from infoprint.pipeline.study_steps import STUDY, STUDY_FILE, study_context
from infoprint.pipeline.terminal import StepProgress, rich_table
from infoprint.store.replace import replace_folder
from infoprint.tasks.publish import PUBLISH_KEY, discard
from infoprint.tasks.resolvers import DIRECTORY_SOURCE, register_resolvers

register_resolvers()  # ${analysis_dir:...} in conf/analyze.yaml (infoprint.cli does it too)

log = logging.getLogger(__name__)


class NoFingerprintsError(RuntimeError):
    """The source held no usable fingerprint."""


class CheckOptions(Callback):
    """Hydra callback (conf/analyze.yaml): refuse bad options before the run folder exists,
    so a refused analysis leaves nothing behind; one line names the key."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check(config)


def _check(config: DictConfig) -> None:
    try:
        AnalysisOptions.from_config(config)
        if OmegaConf.select(config, "source._target_") == DIRECTORY_SOURCE:
            instantiate(config.source)  # its folders must exist: checked before any write
    except InstantiationException as err:  # Hydra wraps the source's own message
        raise SystemExit(f"analyze.py: bad option: {err.__cause__ or err}") from None
    except ConfigError as err:
        raise SystemExit(f"analyze.py: bad option: {err}") from None


def read_source(cfg: DictConfig, progress: StepProgress) -> tuple[Any, list, list]:
    """The source, its usable fingerprints and what it skipped (fatal when none is usable)."""
    source = instantiate(cfg.source)
    with progress.step(f"reading fingerprints from {source.describe()}"):
        fingerprints = list(source.iter_fingerprints())
    skipped = list(source.skipped)
    for s in skipped:
        log.warning("skipped %s: %s", s.run, s.reason)
    if not fingerprints:
        reasons = "".join(f"\n  {s.run}: {s.reason}" for s in skipped)
        raise NoFingerprintsError(
            f"no usable fingerprints in {source.describe()}"
            + (f"; skipped {len(skipped)} runs:{reasons}" if skipped else "")
        )
    return source, fingerprints, skipped


def analyze(cfg: DictConfig, progress: StepProgress | None = None) -> dict[str, Any]:
    """Analyse the source's runs: one ensemble as it is, several as a study; returns the
    summary written to summary.json. ``progress`` shows (and may time) each stage. Under
    Hydra the analysis is written into a staging folder and published whole to
    ``hydra.run.dir`` when complete (:mod:`infoprint.tasks.publish`); a failed one leaves
    the previous analysis there as it was."""
    options = AnalysisOptions.from_config(cfg)
    out = Path(cfg.paths.output_dir)
    target = OmegaConf.select(cfg, f"paths.{PUBLISH_KEY}", default=None)
    out.mkdir(parents=True, exist_ok=True)
    progress = progress or StepProgress()
    try:
        previous = [] if target is None else [Path(target)]
        found, log_published = _analyze_into(cfg, options, out, progress, previous)
    except BaseException:
        if target is not None:
            discard(out)
        raise
    where = replace_folder(out, Path(target)) if target is not None else out
    if options.logger.mode != "disabled":
        found = log_published(where)
    if (where / STUDY_FILE).is_file():
        print(f"study written to {where} (study.html, study.csv, ensembles/<name>/)")
        return found
    print(f"analysis of {found['n_runs']} runs written to {where}")
    if (where / REPORT_FILE).is_file():
        print(f"report: {where / REPORT_FILE}")
    return found


def _analyze_into(
    cfg: DictConfig,
    options: AnalysisOptions,
    out: Path,
    progress: StepProgress,
    previous: list[Path],
) -> tuple[dict[str, Any], Callable[[Path], dict[str, Any]]]:
    """The analysis written into ``out``: its summary, and the function that logs it to
    W&B once ``out`` is published (W&B records absolute paths: they must be final). One
    ensemble and a study of several run on the same pipeline (:mod:`infoprint.pipeline`).
    With ``options.cache``, blocks of the analyses in ``out`` and ``previous`` (the folder
    it will be published to) are reused (:mod:`infoprint.analysis.cache`)."""
    source, fingerprints, skipped = read_source(cfg, progress)
    ensembles, notes = split_ensembles(fingerprints, options.ensembles.by)
    config = OmegaConf.to_container(cfg, resolve=True)
    cache = None
    if options.cache:
        cache = BlockCache(out / CACHE_DIR, [folder / CACHE_DIR for folder in previous])
    command = " ".join(sys.argv)
    inputs = AnalysisInputs(options, source.describe(), skipped, notes, config, command, cache)
    if len(ensembles) > 1:
        context, pipeline = study_context(inputs, out, ensembles, progress), STUDY
    else:
        context, pipeline = ensemble_context(inputs, out, fingerprints, progress), ENSEMBLE
    context, found = run_pipeline(context, pipeline, progress)
    if cache is not None:
        cache.save()  # what this analysis used, into its own folder
    show(context)
    return found, lambda where: log_published(context, pipeline, where, found, progress)


def show(context: StepContext, console: Console | None = None) -> None:
    """The result tables, skipped runs, failed steps and where everything went (stdout)."""
    console = console or Console(highlight=False)
    if not console.is_terminal:  # a file or pipe: no need to squeeze tables into 80 columns
        console.width = 120
    for table in context.tables():
        if table.terminal is not None:
            console.print()
            console.print(rich_table(table))
    lines = []
    if context.skipped:
        lines += [f"skipped {len(context.skipped)} runs:"]
        lines += [f"  {s.run}: {s.reason}" for s in context.skipped]
    if context.failures:
        lines += [f"{len(context.failures)} failed steps (see summary.json, failed_steps):"]
        lines += [
            f"  {f.step}{' ' + f.item if f.item else ''}: {f.error}: {f.message}"
            for f in context.failures
        ]
    lines += [f"note: {note}" for note in context.notes()]
    lines += [f"{len(context.fingerprints)} runs read from {context.source}"]
    console.print()
    for line in lines:
        console.print(line, markup=False)
