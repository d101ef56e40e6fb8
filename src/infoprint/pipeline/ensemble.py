"""The core of an ensemble's analysis, and running its steps (``docs/architecture.md`` §10).

:func:`ensemble_context` computes what every step reads and is fatal on failure:
information per channel, pairwise NMI / VI, NMI with the factors, OPTICS hotspots (Murphy,
Dillavou & Bassett, TMLR 2025, Sec. 3, 4.1). :func:`analyze_ensemble` then runs the steps
and writes summary.json. A single ensemble and each ensemble of a study go through both.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.hotspots import cluster, hotspots
from infoprint.analysis.options import AnalysisOptions
from infoprint.analysis.outputs import write_summary
from infoprint.pipeline.run import AnalysisContext, Step, run_steps
from infoprint.pipeline.steps import STAGED_STEPS, WANDB_STEP
from infoprint.pipeline.summary import summary, sweep_of
from infoprint.pipeline.terminal import StepProgress


def ensemble_context(
    options: AnalysisOptions,
    out: Path,
    source: str,
    fingerprints: list,
    skipped: list,
    record: tuple[dict[str, Any], str],
    progress: StepProgress,
) -> AnalysisContext:
    """The structure and hotspots of one ensemble (the fatal core)."""
    with progress.step(f"information, NMI and VI of {len(fingerprints)} runs"):
        structure = ensemble_structure(
            fingerprints,
            threshold=options.information_threshold,
            memory_budget=options.memory_budget,
            **options.compute(),
        )
    c = options.clustering
    with progress.step("OPTICS hotspots"):
        clusterings = [
            found
            for measure in c.measures
            if (found := cluster(structure, measure, c.min_samples, c.xi))
        ]
    return AnalysisContext(
        options=options,
        out=out,
        source=source,
        sweep=sweep_of(fingerprints),
        fingerprints=fingerprints,
        skipped=skipped,
        structure=structure,
        clusterings=clusterings,
        hotspots=[h for clustering in clusterings for h in hotspots(structure, clustering)],
        config=record[0],
        command=record[1],
    )


def analyze_ensemble(
    context: AnalysisContext, progress: StepProgress, steps: Sequence[Step] = STAGED_STEPS
) -> tuple[AnalysisContext, dict[str, Any]]:
    """Run ``steps`` on one ensemble; writes and returns its summary.json."""
    started = time.perf_counter()
    context.out.mkdir(parents=True, exist_ok=True)
    context = run_steps(steps, context, progress)
    return context, _summarise(context, time.perf_counter() - started)


def log_published(
    context: AnalysisContext, out: Path, found: dict[str, Any], progress: StepProgress
) -> dict[str, Any]:
    """The W&B step on the analysis once published as ``out``; rewrites its summary.json."""
    context = run_steps([WANDB_STEP], context.moved(out), progress)
    return _summarise(context, found["seconds"])


def _summarise(context: AnalysisContext, seconds: float) -> dict[str, Any]:
    found = summary(context)
    found["files"] = context.files()
    found["seconds"] = round(seconds, 3)
    write_summary(context.out, found)
    return found
