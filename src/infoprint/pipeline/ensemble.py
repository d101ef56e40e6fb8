"""One ensemble's analysis: its fatal core, and its pipeline (``docs/architecture.md`` §10).

:func:`ensemble_context` computes what every step reads and is fatal on failure:
information per channel, pairwise NMI / VI, NMI with the factors, OPTICS hotspots (Murphy,
Dillavou & Bassett, TMLR 2025, Sec. 3, 4.1). :data:`ENSEMBLE` is its pipeline: the steps
of :mod:`infoprint.pipeline.steps` and its summary.json. A single ensemble and each
ensemble of a study go through both.
"""

from __future__ import annotations

from pathlib import Path

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.hotspots import cluster, hotspots
from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.run import AnalysisContext, AnalysisInputs, Pipeline
from infoprint.pipeline.steps import STEPS
from infoprint.pipeline.summary import summary, sweep_of
from infoprint.pipeline.terminal import StepProgress

ENSEMBLE = Pipeline(STEPS, summary)
"""The analysis of one ensemble."""


def ensemble_context(
    inputs: AnalysisInputs, out: Path, fingerprints: list[Fingerprint], progress: StepProgress
) -> AnalysisContext:
    """The structure and hotspots of one ensemble (the fatal core), to be written in ``out``."""
    options = inputs.options
    with progress.step(f"information, NMI and VI of {len(fingerprints)} runs"):
        structure = ensemble_structure(
            fingerprints,
            threshold=options.information_threshold,
            memory_budget=options.memory_budget,
            cache=inputs.cache,
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
        inputs=inputs,
        out=out,
        sweep=sweep_of(fingerprints),
        fingerprints=fingerprints,
        structure=structure,
        clusterings=clusterings,
        hotspots=[h for clustering in clusterings for h in hotspots(structure, clustering)],
    )
