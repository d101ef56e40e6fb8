"""A study: several ensembles in one analysis, on the same step pipeline as one ensemble.

``docs/architecture.md`` §10. :func:`study_context` is the study's core: each ensemble gets
the full analysis (min_samples from its own size) in ``<out>/ensembles/<name>/``, without a
W&B run of its own; an ensemble whose analysis fails is listed as a failure of the
``ensembles`` step with its error and the study goes on. :data:`STUDY` then runs the
study's steps through :func:`~infoprint.pipeline.run.run_steps`, failures isolated as for an
ensemble: ``study.csv``, the side-by-side structure and trend figures, ``hotspot_links.csv``
and its figure, ``study.html`` (linking every ensemble's report, failed steps listed) and,
once published, one W&B run for the whole study: every fingerprint it read as an input
artifact (lineage), the tables, the figures, each ensemble's headline numbers keyed by its
name, and its outputs as an artifact of type ``analysis``. summary.json is written whatever
failed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from infoprint import tracking
from infoprint.analysis.ensembles import Ensemble
from infoprint.analysis.measures import PRIMARY_MEASURE, channel_measure
from infoprint.analysis.outputs import write_table
from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.ensemble import ENSEMBLE, ensemble_context
from infoprint.pipeline.report import failures_html, html_table, notes_html, write_html
from infoprint.pipeline.run import (
    AnalysisInputs,
    Pipeline,
    Step,
    StepContext,
    StepFailure,
    StepResult,
    run_pipeline,
    start_analysis_run,
)
from infoprint.pipeline.study import EnsembleAnalysis, hotspot_links, links_table, study_table
from infoprint.pipeline.summary import headline_numbers, sweep_of
from infoprint.pipeline.terminal import StepProgress
from infoprint.plots.study import (
    hotspot_links_figure,
    study_structure_figure,
    study_trends_figure,
)
from infoprint.store.atomic import WriteError

STUDY_FILE = "study.html"
_PRIMARY = channel_measure(PRIMARY_MEASURE)  # the measure whose hotspots a study compares


@dataclass(kw_only=True)
class StudyContext(StepContext):
    """A study: its ensembles and each one's analysis (the study's core)."""

    items: list[EnsembleAnalysis] = field(default_factory=list)

    @property
    def fingerprints(self) -> list[Fingerprint]:
        return [fp for item in self.items for fp in item.ensemble.fingerprints]

    def analysed(self) -> list[EnsembleAnalysis]:
        return [item for item in self.items if item.context is not None]


def study_context(
    inputs: AnalysisInputs, out: Path, ensembles: list[Ensemble], progress: StepProgress
) -> StudyContext:
    """Analyse every ensemble into ``out/ensembles/<name>/`` (one that fails is recorded
    and left out; a failed write ends the study, as it would an ensemble's analysis)."""
    items, failures = [], []
    own = replace(inputs, skipped=[], notes=[])  # the study's summary lists those, once
    for ensemble in ensembles:
        if len(ensemble.fingerprints) < 2:
            items.append(EnsembleAnalysis(ensemble, None, "one run: no clustering"))
            continue
        progress.note(f"ensemble {ensemble.name}: {len(ensemble.fingerprints)} runs")
        folder = out / "ensembles" / ensemble.name
        try:
            context = ensemble_context(own, folder, ensemble.fingerprints, progress)
            context, _ = run_pipeline(context, ENSEMBLE, progress)  # one W&B run: the study's
        except WriteError:
            raise
        except Exception as err:
            failure = StepFailure.of("ensembles", err, item=ensemble.name)
            progress.failed("ensembles", f"{ensemble.name}: {failure.error}: {failure.message}")
            failures.append(failure)
            items.append(EnsembleAnalysis(ensemble, None, f"failed: {failure.error}"))
            continue
        items.append(EnsembleAnalysis(ensemble, context))
    fingerprints = [fp for e in ensembles for fp in e.fingerprints]
    return StudyContext(
        inputs=inputs,
        out=out,
        sweep=sweep_of(fingerprints),
        items=items,
        failures=failures,
    )


def table(context: StudyContext) -> StepResult:
    """study.csv: one row per ensemble."""
    found = study_table(context.items)
    path = write_table(found, context.out)
    rows = [dict(zip(found.columns, row, strict=True)) for row in found.rows]
    return StepResult(files={found.name: path}, tables=[found], section=rows)


def structure(context: StudyContext) -> StepResult:
    """Each ensemble's structure under the primary channel measure (NMI), side by side."""
    symbol = _PRIMARY.symbol
    analysed = [i for i in context.analysed() if i.context.clustering(_PRIMARY.name)]
    if not analysed:
        return StepResult(notes=[f"no ensemble was clustered by {symbol}: no side-by-side figure"])
    panels = [
        (i.ensemble.name, i.context.structure, i.context.clustering(_PRIMARY.name))
        for i in analysed
    ]
    caption = (
        f"Each ensemble's channels compared by {symbol}, side by side in the order of the swept "
        f"values: reachability (top; coloured valleys are hotspots) and the {symbol} matrix in "
        "OPTICS order (bright squares on the diagonal: channels many runs learn alike)."
    )
    figure = context.figure(
        study_structure_figure(panels), "study_structure.png", caption, "study/structure"
    )
    return StepResult(figures=[figure])


def trends(context: StudyContext) -> StepResult:
    """Study quantities against the swept value (no figure when nothing numeric varies)."""
    x_key, line_key = _trend_keys(context.items)
    if x_key is None:
        return StepResult(notes=["no numeric key varies across ensembles: no trend figure"])
    found = context.results["study"].tables[0]
    rows = [dict(zip(found.columns, r, strict=True)) for r in found.rows]
    caption = (
        f"Study quantities against {x_key}"
        + (f", one line per {line_key}" if line_key else "")
        + f": number of {_PRIMARY.symbol} hotspots, fraction of kept channels inside them, "
        "their mean cohesion, and the information per run (bits)."
    )
    figure = context.figure(
        study_trends_figure(rows, x_key, line_key), "study_trends.png", caption, "study/trends"
    )
    return StepResult(figures=[figure])


def links(context: StudyContext) -> StepResult:
    """hotspot_links.csv and its figure: NMI hotspots of every two ensembles linked."""
    found = hotspot_links(context.items, context.options.device)
    if found is None:
        return StepResult(
            notes=[f"fewer than two ensembles have {_PRIMARY.symbol} hotspots: no links"]
        )
    linked = links_table(found)
    caption = (
        f"NMI between the consensus channels of every two {_PRIMARY.symbol} hotspots, grouped "
        "by ensemble (white lines): a bright cell across two ensembles is one piece of "
        "information found in both; a hotspot bright against two of another ensemble has "
        "split."
    )
    figure = hotspot_links_figure(found.labels, found.nmi)
    return StepResult(
        files={linked.name: write_table(linked, context.out)},
        tables=[linked],
        figures=[context.figure(figure, "hotspot_links.png", caption, "study/hotspot_links")],
    )


def _trend_keys(items: list[EnsembleAnalysis]) -> tuple[str | None, str | None]:
    """The numeric key swept across ensembles (x axis) and the model key (lines)."""
    keys = [i.ensemble.keys for i in items]
    numeric = [
        k
        for k in keys[0]
        if all(isinstance(ks.get(k), int | float) for ks in keys)
        and len({ks.get(k) for ks in keys}) > 1
    ]
    line = "model" if "model" in keys[0] else None
    return (numeric[0] if numeric else None), line


def report(context: StudyContext) -> StepResult:
    """study.html: the tables, figures, failed steps and a link to each ensemble's report."""
    links = "".join(
        f'<li><a href="ensembles/{html.escape(i.ensemble.name)}/report.html">'
        f"{html.escape(i.ensemble.name)}</a> ({len(i.ensemble.fingerprints)} runs)</li>"
        for i in context.analysed()
    )
    parts = ["<h1>infoprint study</h1>", f"<ul>{links}</ul>"]
    parts += [*failures_html(context.failures), *notes_html(context.notes())]
    for found in context.tables():
        parts += [
            f"<h2>{html.escape(found.title)}</h2>",
            html_table(found.columns, found.rows),
            f"<p class='caption'>{html.escape(found.caption)}</p>",
        ]
    for figure in context.figures():
        parts += [
            f"<h2>{html.escape(figure.path.name)}</h2><figure><img src='{figure.path.name}'"
            f" alt=''><figcaption>{html.escape(figure.caption)}</figcaption></figure>"
        ]
    path = write_html(context.out / STUDY_FILE, "infoprint study", parts)
    return StepResult(files={"study_html": path})


def wandb(context: StudyContext) -> StepResult:
    """One W&B run for the study (job type ``analysis``), once its folder is published."""
    run, section = start_analysis_run(context, context.fingerprints, "study", "study")
    if run is None:
        return StepResult()
    exit_code = 1
    try:
        runs = [Path(fp.path) for fp in context.fingerprints if fp.path]
        used = tracking.use_fingerprints(runs, context.out)
        tracking.log_analysis(
            {f.key: f.path for f in context.figures()},
            {t.name: (list(t.columns), [list(r) for r in t.rows]) for t in context.tables()},
            _headline_numbers(context),
        )
        tracking.log_outputs(f"{context.sweep}-study", context.out, list(context.files().values()))
        exit_code = 0
    finally:
        tracking.finish_active_run(exit_code)
    return StepResult(section=section | {"fingerprints_used": used})


def _headline_numbers(context: StudyContext) -> dict[str, Any]:
    numbers = {"n_ensembles": len(context.items), "n_runs": len(context.fingerprints)}
    for item in context.analysed():
        numbers |= {
            f"{item.ensemble.name}/{k}": v for k, v in headline_numbers(item.context).items()
        }
    return numbers


def summary(context: StudyContext) -> dict[str, Any]:
    """summary.json of a study (:func:`~infoprint.pipeline.run.run_pipeline` adds its failed
    steps, notes, files and time)."""
    return {
        "source": context.source,
        "sweep": context.sweep,
        "command": context.inputs.command,
        "n_runs": len(context.fingerprints),
        "ensembles": {
            i.ensemble.name: {
                "keys": i.ensemble.keys,
                "n_runs": len(i.ensemble.fingerprints),
                "note": i.note,
                "path": f"ensembles/{i.ensemble.name}",
            }
            for i in context.items
        },
        "skipped": [{"run": s.run, "reason": s.reason} for s in context.skipped],
        **context.sections(),
        "config": context.inputs.config,
    }


STUDY = Pipeline(
    (
        Step("study", "study.csv", table),
        Step("structure", "study structure figure", structure),
        Step("trends", "study trends figure", trends),
        Step("links", "hotspot links across ensembles", links),
        Step("wandb", "W&B study run", wandb, lambda o: o.logger.mode != "disabled"),
        Step("report", "study.html", report),
    ),
    summary,
)
"""The analysis of several ensembles."""
