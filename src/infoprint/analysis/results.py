"""The core results of an analysis: ``results.npz`` (every matrix) and the hotspot table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering, Hotspot
from infoprint.analysis.measures import CHANNEL_MEASURES, channel_measure
from infoprint.analysis.outputs import Table
from infoprint.store.atomic import atomic_savez

RESULTS_FILE = "results.npz"
HOTSPOTS_FILE = "hotspots.csv"
HOTSPOT_COLUMNS = [
    "measure",
    "hotspot",
    "size",
    "n_runs",
    "mean_information_bits",
    "cohesion_nmi",
    "best_factor",
    "best_factor_nmi",
    "members",
]


def write_results(
    directory: Path, structure: EnsembleStructure, clusterings: Sequence[Clustering]
) -> Path:
    """All matrices of the analysis, loadable with ``np.load(..., allow_pickle=False)``: the
    matrix of every channel measure under its name, and each clustering's OPTICS ordering,
    reachability and labels (:meth:`~infoprint.analysis.measures.ChannelMeasure.column`)."""
    arrays: dict[str, np.ndarray] = {
        "run_ids": structure.run_ids.astype(str),
        "jobs": structure.jobs.astype(np.int64),
        "channels": structure.channels.astype(np.int64),
        "information": structure.information,
        **{name: measure.matrix(structure) for name, measure in CHANNEL_MEASURES.items()},
        "all_information": structure.all_information,
        "factor_names": np.asarray(structure.factor_names, dtype=str),
    }
    if structure.factor_nmi is not None:
        arrays["factor_nmi"] = structure.factor_nmi
        arrays["factor_information"] = structure.factor_information
    for c in clusterings:
        measure = channel_measure(c.measure)
        arrays[measure.column("ordering")] = c.ordering
        arrays[measure.column("reachability")] = c.reachability
        arrays[measure.column("labels")] = c.labels
    path = directory / RESULTS_FILE
    return atomic_savez(path, arrays)


def hotspot_rows(hotspots: Sequence[Hotspot]) -> list[list[Any]]:
    """One row per hotspot in :data:`HOTSPOT_COLUMNS` order; members ``job:channel@run_id``."""
    return [
        [
            h.measure,
            h.hotspot,
            h.size,
            h.n_runs,
            round(h.mean_information, 6),
            round(h.cohesion, 6),
            h.best_factor or "",
            None if h.best_factor_nmi is None else round(h.best_factor_nmi, 6),
            ";".join(f"{job}:{channel}@{run}" for run, job, channel in h.members),
        ]
        for h in hotspots
    ]


def _distances() -> str:
    """The channel measures' OPTICS distances for a caption: ``−ln NMI or on VI``."""
    return " or on ".join(m.distance_name for m in CHANNEL_MEASURES.values())


def hotspot_table(hotspots: Sequence[Hotspot]) -> Table:
    """The hotspots of every clustering (``hotspots.csv``; paper Sec. 4.1)."""
    return Table(
        name="hotspots",
        title="hotspots",
        columns=HOTSPOT_COLUMNS,
        rows=hotspot_rows(hotspots),
        caption=(
            "Hotspots: groups of channels, from many runs, that carry nearly the same "
            f"information (OPTICS on {_distances()}). size = channels in the hotspot, n runs = "
            "runs they come from, mean information bits = the members' mean information about "
            "the probe set, cohesion nmi = mean NMI between members (near 1: the same "
            "information; low: a loose group), best factor = the ground-truth factor the "
            "members share most information with, and that NMI. members = job:channel@run."
        ),
        file=HOTSPOTS_FILE,
        terminal=HOTSPOT_COLUMNS[:-1],
    )
