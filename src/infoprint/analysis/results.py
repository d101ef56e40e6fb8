"""Writing an analysis to disk: results.npz, hotspots.csv, summary.json, a printed table."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering, Hotspot

RESULTS_FILE = "results.npz"
HOTSPOTS_FILE = "hotspots.csv"
SUMMARY_FILE = "summary.json"
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
    """All matrices of the analysis, loadable with ``np.load(..., allow_pickle=False)``."""
    arrays: dict[str, np.ndarray] = {
        "run_ids": structure.run_ids.astype(str),
        "jobs": structure.jobs.astype(np.int64),
        "channels": structure.channels.astype(np.int64),
        "information": structure.information,
        "nmi": structure.nmi,
        "vi": structure.vi,
        "all_information": structure.all_information,
        "factor_names": np.asarray(structure.factor_names, dtype=str),
    }
    if structure.factor_nmi is not None:
        arrays["factor_nmi"] = structure.factor_nmi
        arrays["factor_information"] = structure.factor_information
    for c in clusterings:
        arrays[f"{c.measure}_ordering"] = c.ordering
        arrays[f"{c.measure}_reachability"] = c.reachability
        arrays[f"{c.measure}_labels"] = c.labels
    path = directory / RESULTS_FILE
    np.savez_compressed(path, **arrays)
    return path


def hotspot_rows(hotspots: Sequence[Hotspot]) -> list[list[Any]]:
    return [
        [
            h.measure,
            h.hotspot,
            h.size,
            h.n_runs,
            round(h.mean_information, 6),
            round(h.cohesion, 6),
            h.best_factor or "",
            "" if h.best_factor_nmi is None else round(h.best_factor_nmi, 6),
            ";".join(f"{job}:{channel}@{run}" for run, job, channel in h.members),
        ]
        for h in hotspots
    ]


def write_table(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """A CSV file with a header row; ``None`` cells are written empty."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


def write_hotspots(directory: Path, hotspots: Sequence[Hotspot]) -> Path:
    """One row per hotspot; members as ``job:channel@run_id`` joined by ';'."""
    return write_table(directory / HOTSPOTS_FILE, HOTSPOT_COLUMNS, hotspot_rows(hotspots))


def write_summary(directory: Path, summary: dict[str, Any]) -> Path:
    path = directory / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2, default=_jsonable))
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def format_hotspot_table(hotspots: Sequence[Hotspot]) -> str:
    """A short plain-text table of hotspots for the terminal."""
    header = (
        f"{'measure':<8}{'hotspot':>8}{'size':>6}{'runs':>6}{'bits':>8}{'cohesion':>9}"
        "  best factor (NMI)"
    )
    lines = [header, "-" * len(header)]
    for h in hotspots:
        factor = "-" if h.best_factor is None else f"{h.best_factor} ({h.best_factor_nmi:.2f})"
        lines.append(
            f"{h.measure:<8}{h.hotspot:>8}{h.size:>6}{h.n_runs:>6}"
            f"{h.mean_information:>8.2f}{h.cohesion:>9.2f}  {factor}"
        )
    if not hotspots:
        lines.append("(no hotspots)")
    return "\n".join(lines)
