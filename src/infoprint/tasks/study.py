"""analyze_study: several ensembles in one analysis (``docs/architecture.md`` §10).

Each ensemble gets the full analysis (min_samples from its own size) in
``<out>/ensembles/<name>/``, without a W&B run of its own; the study then writes
``study.csv``, ``hotspot_links.csv``, the side-by-side structure and trend figures,
``study.html`` (linking every ensemble's report) and ``summary.json`` to ``<out>``, and
logs one W&B run for the whole study: every fingerprint it read as an input artifact
(lineage), the tables, the figures, each ensemble's headline numbers keyed by its name, and
its outputs as an artifact of type ``analysis``.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from infoprint import tracking
from infoprint.analysis.ensembles import Ensemble
from infoprint.analysis.options import AnalysisOptions
from infoprint.analysis.outputs import FigureFile, Table, save_figure, write_summary, write_table
from infoprint.pipeline.ensemble import analyze_ensemble, ensemble_context
from infoprint.pipeline.report import STYLE, html_table
from infoprint.pipeline.study import EnsembleAnalysis, hotspot_links, links_table, study_table
from infoprint.pipeline.summary import headline_numbers, sweep_of
from infoprint.pipeline.terminal import StepProgress, rich_table
from infoprint.plots.study import (
    hotspot_links_figure,
    study_structure_figure,
    study_trends_figure,
)
from infoprint.store.atomic import atomic_write_text

log = logging.getLogger(__name__)

STUDY_FILE = "study.html"


def analyze_study(
    options: AnalysisOptions,
    out: Path,
    source: str,
    ensembles: list[Ensemble],
    skipped: list,
    notes: list[str],
    record: tuple[dict[str, Any], str],
    progress: StepProgress,
) -> tuple[dict[str, Any], Callable[[Path], dict[str, Any]]]:
    """Analyse every ensemble, then compare them; returns the study's summary and the
    function that logs it to W&B once ``out`` is published (paths in the summary are
    relative to the study's folder)."""
    started = time.perf_counter()
    items, summaries = [], {}
    for ensemble in ensembles:
        if len(ensemble.fingerprints) < 2:
            items.append(EnsembleAnalysis(ensemble, None, "one run: no clustering"))
            continue
        progress.note(f"ensemble {ensemble.name}: {len(ensemble.fingerprints)} runs")
        context = ensemble_context(
            options,
            out / "ensembles" / ensemble.name,
            source,
            ensemble.fingerprints,
            [],
            record,
            progress,
        )
        context, found = analyze_ensemble(context, progress)  # one W&B run: the study's
        items.append(EnsembleAnalysis(ensemble, context))
        summaries[ensemble.name] = found
    tables, figures = _study_outputs(items, out, options)
    found = _study_summary(out, source, ensembles, items, skipped, notes, record, tables, figures)
    found["files"]["study_html"] = write_study_html(out, tables, figures, items, notes).name
    found["seconds"] = round(time.perf_counter() - started, 3)
    write_summary(out, found)
    _show(tables, skipped, notes, out)

    def log_published(where: Path) -> dict[str, Any]:
        """The study's W&B run once its folder is published as ``where``."""
        moved = [f.moved(out, where) for f in figures]
        found["wandb"] = _log_study(options, where, found, items, tables, moved, summaries)
        write_summary(where, found)
        return found

    return found, log_published


def _study_summary(out, source, ensembles, items, skipped, notes, record, tables, figures):
    """summary.json of a study (paths relative to its folder ``out``)."""
    return {
        "source": source,
        "sweep": sweep_of([fp for e in ensembles for fp in e.fingerprints]),
        "command": record[1],
        "n_runs": sum(len(e.fingerprints) for e in ensembles),
        "ensembles": {
            i.ensemble.name: {
                "keys": i.ensemble.keys,
                "n_runs": len(i.ensemble.fingerprints),
                "note": i.note,
                "path": f"ensembles/{i.ensemble.name}",
            }
            for i in items
        },
        "notes": notes,
        "skipped": [{"run": s.run, "reason": s.reason} for s in skipped],
        "study": [dict(zip(tables[0].columns, row, strict=True)) for row in tables[0].rows],
        "files": {t.name: str(t.file) for t in tables if t.file}
        | {f.key: str(f.path.relative_to(out)) for f in figures},
        "config": record[0],
    }


def _study_outputs(
    items: list[EnsembleAnalysis], out: Path, options: AnalysisOptions
) -> tuple[list[Table], list[FigureFile]]:
    """study.csv and hotspot_links.csv, and the study's figures."""
    table = study_table(items)
    write_table(table, out)
    tables, figures = [table], []
    analysed = [i for i in items if i.context is not None and i.context.clustering("nmi")]
    if analysed:
        panels = [
            (i.ensemble.name, i.context.structure, i.context.clustering("nmi")) for i in analysed
        ]
        figures.append(
            save_figure(
                study_structure_figure(panels),
                out / "study_structure.png",
                "Each ensemble's channels compared by NMI, side by side in the order of the swept "
                "values: reachability (top; coloured valleys are hotspots) and the NMI matrix in "
                "OPTICS order (bright squares on the diagonal: channels many runs learn alike).",
                "study/structure",
            )
        )
    x_key, line_key = _trend_keys(items)
    if x_key is not None:
        rows = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
        figures.append(
            save_figure(
                study_trends_figure(rows, x_key, line_key),
                out / "study_trends.png",
                f"Study quantities against {x_key}"
                + (f", one line per {line_key}" if line_key else "")
                + ": number of NMI hotspots, fraction of kept channels inside them, their mean "
                "cohesion, and the information per run (bits).",
                "study/trends",
            )
        )
    links = hotspot_links(items, options.device)
    if links is not None:
        linked = links_table(links)
        write_table(linked, out)
        tables.append(linked)
        figures.append(
            save_figure(
                hotspot_links_figure(links.labels, links.nmi),
                out / "hotspot_links.png",
                "NMI between the consensus channels of every two NMI hotspots, grouped by ensemble "
                "(white lines): a bright cell across two ensembles is one piece of information "
                "found in both; a hotspot bright against two of another ensemble has split.",
                "study/hotspot_links",
            )
        )
    return tables, figures


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


def write_study_html(
    out: Path,
    tables: list[Table],
    figures: list[FigureFile],
    items: list[EnsembleAnalysis],
    notes: list[str],
) -> Path:
    """study.html: the study table, links, figures and a link to each ensemble's report."""
    reports = [
        [
            i.ensemble.name,
            len(i.ensemble.fingerprints),
            i.note or "",
            f"ensembles/{i.ensemble.name}/report.html" if i.context else "",
        ]
        for i in items
    ]
    links = "".join(
        f'<li><a href="{html.escape(r[3])}">{html.escape(r[0])}</a> ({r[1]} runs)</li>'
        for r in reports
        if r[3]
    )
    parts = ["<h1>infoprint study</h1>", f"<ul>{links}</ul>"]
    parts += [f"<p class='caption'>{html.escape(n)}</p>" for n in notes]
    for table in tables:
        parts += [
            f"<h2>{html.escape(table.title)}</h2>",
            html_table(table.columns, table.rows),
            f"<p class='caption'>{html.escape(table.caption)}</p>",
        ]
    for figure in figures:
        parts += [
            f"<h2>{html.escape(figure.path.name)}</h2><figure><img src='{figure.path.name}'"
            f" alt=''><figcaption>{html.escape(figure.caption)}</figcaption></figure>"
        ]
    path = out / STUDY_FILE
    return atomic_write_text(
        path,
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>infoprint study"
        f"</title><style>{STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>\n",
    )


def _log_study(options, out, found, items, tables, figures, summaries) -> dict[str, Any] | None:
    """One W&B run for the study (job type ``analysis``); None when logging is disabled."""
    logger = options.logger.for_runs(fp.meta for i in items for fp in i.ensemble.fingerprints)
    run = tracking.start_run(
        project=logger.project,
        entity=logger.entity,
        mode=logger.mode,
        directory=out,
        run_id=None,
        name=f"{found['sweep']}-study",
        group=found["sweep"],
        job_type="analysis",
        config=found["config"],
        tags=[*logger.tags, "study"],
    )
    if run is None:
        return None
    exit_code = 1
    try:
        runs = [Path(fp.path) for i in items for fp in i.ensemble.fingerprints if fp.path]
        used = tracking.use_fingerprints(runs, out)
        numbers = {
            f"{i.ensemble.name}/{k}": v
            for i in items
            if i.context is not None
            for k, v in headline_numbers(i.context).items()
        }
        tracking.log_analysis(
            {f.key: f.path for f in figures},
            {t.name: (list(t.columns), [list(r) for r in t.rows]) for t in tables},
            {"n_ensembles": len(items), "n_runs": found["n_runs"], **numbers},
        )
        files = [out / t.file for t in tables if t.file] + [f.path for f in figures]
        tracking.log_outputs(f"{found['sweep']}-study", out, [*files, out / STUDY_FILE])
        exit_code = 0
    finally:
        tracking.finish_active_run(exit_code)
    return {
        "run_id": run.id,
        "mode": logger.mode,
        "project": logger.project,
        "entity": logger.entity,
        "fingerprints_used": used,
    }


def _show(tables: list[Table], skipped: list, notes: list[str], out: Path) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 140
    console.print()
    console.print(rich_table(tables[0]))
    for note in notes:
        console.print(note, markup=False)
    if skipped:
        console.print(f"skipped {len(skipped)} runs:", markup=False)
        for s in skipped:
            console.print(f"  {s.run}: {s.reason}", markup=False)
