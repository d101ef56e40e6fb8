"""analyze(cfg): the ensemble analysis, from a fingerprint source to files, figures and W&B.

Steps (DESIGN §1): read fingerprints -> check they share a probe set -> information per
channel -> pairwise NMI / VI -> NMI with ground-truth factors -> OPTICS hotspots ->
results.npz, hotspots.csv, summary.json, structure figures -> per-run metrics (from
run.json) against the structure: run_metrics.csv, metrics_vs_structure.png -> a W&B run of
job_type "analysis". Runs without a usable fingerprint are reported as skipped, never fatal.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from infoprint import tracking
from infoprint.analysis.ensemble import EnsembleStructure, ensemble_structure
from infoprint.analysis.hotspots import MEASURES, Clustering, Hotspot, cluster, hotspots
from infoprint.analysis.results import (
    HOTSPOT_COLUMNS,
    format_hotspot_table,
    hotspot_rows,
    write_hotspots,
    write_results,
    write_summary,
)
from infoprint.analysis.run_metrics import (
    RunMetricsTable,
    run_metrics_table,
    spearman_correlations,
    write_run_metrics,
)
from infoprint.fingerprint.record import Fingerprint
from infoprint.plots.run_metrics import metrics_vs_structure_figure
from infoprint.plots.structure import save_figure, structure_figure
from infoprint.sources.base import SkippedRun

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class NoFingerprintsError(RuntimeError):
    """The source held no usable fingerprint."""


def _check(cfg: DictConfig) -> torch.dtype:
    if cfg.dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {cfg.dtype!r}")
    unknown = set(cfg.clustering.measures) - set(MEASURES)
    if unknown:
        raise ValueError(f"clustering.measures: unknown {sorted(unknown)}, allowed {MEASURES}")
    if cfg.information_threshold < 0:
        raise ValueError(f"information_threshold must be >= 0, got {cfg.information_threshold}")
    return _DTYPES[cfg.dtype]


def _sweep_of(fingerprints: list[Fingerprint]) -> str:
    sweeps = Counter(str(fp.meta.get("sweep", "")) for fp in fingerprints)
    return sweeps.most_common(1)[0][0] if len(sweeps) == 1 else "+".join(sorted(sweeps))


def _figures(
    out: Path, structure: EnsembleStructure, clusterings: list[Clustering]
) -> dict[str, Path]:
    paths = {}
    for c in clusterings:
        path = out / f"structure_{c.measure}.png"
        save_figure(structure_figure(structure, c), path)
        paths[f"structure/{c.measure}"] = path
    return paths


def _run_metrics(
    out: Path, table: RunMetricsTable
) -> tuple[dict[str, Any], dict[str, Path], dict[str, Path]]:
    """Summary section, files and figure of the per-run metrics (nothing without metrics)."""
    correlations = spearman_correlations(table)
    section = {"n_runs": len(table.rows), "spearman": correlations}
    if not table.rows:
        return section, {}, {}
    figure = out / "metrics_vs_structure.png"
    save_figure(metrics_vs_structure_figure(table, correlations), figure)
    return section, {"run_metrics": write_run_metrics(out, table)}, {"metrics_vs_structure": figure}


def analyze(cfg: DictConfig) -> dict[str, Any]:
    """Analyse one ensemble; returns the summary written to summary.json."""
    started = time.perf_counter()
    dtype = _check(cfg)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = instantiate(cfg.source)
    fingerprints = list(source.iter_fingerprints())
    skipped: list[SkippedRun] = list(source.skipped)
    for s in skipped:
        log.warning("skipped %s: %s", s.run, s.reason)
    if not fingerprints:
        raise NoFingerprintsError(
            f"no usable fingerprints in {source.describe()}"
            + (f"; skipped {len(skipped)} runs (see above)" if skipped else "")
        )
    log.info("analysing %d runs from %s", len(fingerprints), source.describe())
    structure = ensemble_structure(
        fingerprints,
        threshold=cfg.information_threshold,
        device=cfg.device,
        dtype=dtype,
        memory_budget=int(cfg.memory_budget_mb) * 2**20,
    )
    clusterings = [
        c
        for measure in cfg.clustering.measures
        if (c := cluster(structure, measure, cfg.clustering.min_samples, cfg.clustering.xi))
    ]
    found: list[Hotspot] = [h for c in clusterings for h in hotspots(structure, c)]

    files = {
        "results": write_results(out, structure, clusterings),
        "hotspots": write_hotspots(out, found),
    }
    figures = _figures(out, structure, clusterings)
    table = run_metrics_table(fingerprints, structure, clusterings)
    run_metrics, metric_files, metric_figures = _run_metrics(out, table)
    files |= metric_files
    figures |= metric_figures
    sweep = _sweep_of(fingerprints)
    summary = {
        "source": source.describe(),
        "sweep": sweep,
        "command": " ".join(sys.argv),
        "n_runs": len(fingerprints),
        "n_channels": int(sum(fp.n_channels for fp in fingerprints)),
        "n_kept_channels": structure.n_channels,
        "information_threshold": cfg.information_threshold,
        "probe_digest": fingerprints[0].probe_digest,
        "probe_size": fingerprints[0].n_points,
        "factor_names": list(structure.factor_names),
        "runs": [
            {"run_id": fp.run_id, "job_num": fp.meta.get("job_num"), "path": fp.path}
            for fp in fingerprints
        ],
        "skipped": [{"run": s.run, "reason": s.reason} for s in skipped],
        "hotspots": [{k: v for k, v in vars(h).items() if k != "members"} for h in found],
        "min_samples": {c.measure: c.min_samples for c in clusterings},
        "run_metrics": run_metrics,
        "files": {**files, **{k: v for k, v in figures.items()}},
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    summary["seconds"] = round(time.perf_counter() - started, 3)
    write_summary(out, summary)
    tables = {"hotspots": (HOTSPOT_COLUMNS, hotspot_rows(found))}
    if table.rows:
        tables["run_metrics"] = (table.columns, table.rows)
    _log_to_wandb(cfg, out, sweep, figures, tables, summary)
    print(f"\n{format_hotspot_table(found)}")
    if skipped:
        print(f"\nskipped {len(skipped)} runs:")
        for s in skipped:
            print(f"  {s.run}: {s.reason}")
    print(f"\nanalysis of {len(fingerprints)} runs ({source.describe()}) written to {out}")
    return summary


def _log_to_wandb(
    cfg: DictConfig,
    out: Path,
    sweep: str,
    figures: dict[str, Path],
    tables: dict[str, tuple[list[str], list[list[Any]]]],
    summary: dict[str, Any],
) -> None:
    run = tracking.start_run(
        project=cfg.logger.project,
        entity=cfg.logger.entity,
        mode=cfg.logger.mode,
        directory=out,
        run_id=None,
        name=f"{sweep}-analysis",
        group=sweep,
        job_type="analysis",
        config=OmegaConf.to_container(cfg, resolve=True),
    )
    if run is None:
        return
    exit_code = 1
    try:
        scalars = {k: summary[k] for k in ("n_runs", "n_channels", "n_kept_channels", "probe_size")}
        scalars["n_hotspots"] = len(summary["hotspots"])
        scalars |= {
            f"spearman/{metric}/{quantity}": c["rho"]
            for metric, by_quantity in summary["run_metrics"]["spearman"].items()
            for quantity, c in by_quantity.items()
            if c["rho"] is not None
        }
        tracking.log_analysis(figures, tables, scalars)
        exit_code = 0
    finally:
        tracking.finish_active_run(exit_code)
