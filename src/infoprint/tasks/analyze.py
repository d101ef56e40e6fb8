"""analyze(cfg): the ensemble analysis, from a fingerprint source to files, figures and W&B.

Steps (DESIGN §1): read fingerprints -> check they share a probe set -> information per
channel -> pairwise NMI / VI -> NMI with ground-truth factors -> OPTICS hotspots ->
results.npz, hotspots.csv, summary.json, structure figures -> per-run metrics (from
run.json) against the structure: run_metrics.csv, metrics_vs_structure.png -> optional
whole-space Monte Carlo comparison of runs, traversals of each hotspot, each hotspot's
channels fused into one, and fusion of sub-ensembles (paper Sec. 4.4) -> report.html ->
a W&B run of job_type "analysis". Runs without a usable fingerprint are reported as
skipped, never fatal.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf

from infoprint import tracking
from infoprint.analysis.ensemble import EnsembleStructure, ensemble_structure
from infoprint.analysis.fusion import (
    FUSION_COLUMNS,
    FusionOptions,
    format_fusion_table,
    fuse_ensemble,
    fusion_rows,
    fusion_summary,
    write_fusion,
)
from infoprint.analysis.hotspot_fusion import (
    HOTSPOT_FUSION_COLUMNS,
    HOTSPOT_FUSION_FILE,
    format_hotspot_fusion_table,
    fuse_hotspots,
    hotspot_fusion_rows,
)
from infoprint.analysis.hotspot_traversals import hotspot_traversals
from infoprint.analysis.hotspots import MEASURES, Clustering, Hotspot, cluster, hotspots
from infoprint.analysis.report import write_report
from infoprint.analysis.results import (
    HOTSPOT_COLUMNS,
    format_hotspot_table,
    hotspot_rows,
    write_hotspots,
    write_results,
    write_summary,
    write_table,
)
from infoprint.analysis.run_metrics import (
    RunMetricsTable,
    run_metrics_table,
    spearman_correlations,
    write_run_metrics,
)
from infoprint.analysis.whole_space import compare_whole_spaces, write_whole_space
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import FUSION_OBJECTIVES
from infoprint.plots.fusion import continuity_figure, fused_space_figure
from infoprint.plots.hotspot_traversals import traversal_figure, traversal_grid_figure
from infoprint.plots.run_metrics import metrics_vs_structure_figure
from infoprint.plots.structure import save_figure, structure_figure
from infoprint.plots.whole_space import whole_space_figure
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
    if cfg.fusion.enabled:
        _fusion_options(cfg)
    if cfg.hotspot_fusion.enabled:
        h = cfg.hotspot_fusion
        if h.measure not in MEASURES:
            raise ValueError(f"hotspot_fusion.measure must be one of {MEASURES}, got {h.measure!r}")
        if h.objective not in FUSION_OBJECTIVES:
            raise ValueError(
                f"hotspot_fusion.objective must be one of {FUSION_OBJECTIVES}, got {h.objective!r}"
            )
        FusionOptions(dim=h.dim, steps=h.steps, lr=h.lr, config_key="hotspot_fusion")
    return _DTYPES[cfg.dtype]


def _fusion_options(cfg: DictConfig) -> FusionOptions:
    """The ``fusion`` block, checked (errors name the key)."""
    options = OmegaConf.to_container(cfg.fusion, resolve=True)
    del options["enabled"]
    return FusionOptions(**options)


def _sweep_of(fingerprints: list[Fingerprint]) -> str:
    sweeps = Counter(str(fp.meta.get("sweep", "")) for fp in fingerprints)
    return sweeps.most_common(1)[0][0] if len(sweeps) == 1 else "+".join(sorted(sweeps))


@dataclass
class Outputs:
    """What an analysis has produced so far: files, figures, tables and summary sections."""

    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, tuple[list[str], list[list[Any]]]] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    printed: list[str] = field(default_factory=list)  # tables for the terminal, in order

    def figure(self, key: str, fig: Figure, name: str) -> None:
        path = self.out / name
        save_figure(fig, path)
        self.figures[key] = path


def _structure(
    outputs: Outputs,
    structure: EnsembleStructure,
    clusterings: list[Clustering],
    found: list[Hotspot],
) -> None:
    outputs.files["results"] = write_results(outputs.out, structure, clusterings)
    outputs.files["hotspots"] = write_hotspots(outputs.out, found)
    outputs.tables["hotspots"] = (HOTSPOT_COLUMNS, hotspot_rows(found))
    for c in clusterings:
        outputs.figure(
            f"structure/{c.measure}", structure_figure(structure, c), f"structure_{c.measure}.png"
        )


def _run_metrics(outputs: Outputs, table: RunMetricsTable) -> None:
    """Per-run metrics against the structure (nothing is written without metrics)."""
    correlations = spearman_correlations(table)
    outputs.sections["run_metrics"] = {"n_runs": len(table.rows), "spearman": correlations}
    if not table.rows:
        return
    outputs.files["run_metrics"] = write_run_metrics(outputs.out, table)
    outputs.tables["run_metrics"] = (table.columns, table.rows)
    outputs.figure(
        "metrics_vs_structure",
        metrics_vs_structure_figure(table, correlations),
        "metrics_vs_structure.png",
    )


def _whole_space(outputs: Outputs, cfg: DictConfig, fingerprints: list[Fingerprint]) -> None:
    result = compare_whole_spaces(
        fingerprints,
        n_samples=cfg.whole_space.n_samples,
        seed=cfg.whole_space.seed,
        device=cfg.device,
        memory_budget=int(cfg.memory_budget_mb) * 2**20,
    )
    outputs.files["whole_space"] = write_whole_space(outputs.out, result)
    outputs.figure("whole_space", whole_space_figure(result), "whole_space.png")
    outputs.sections["whole_space"] = {
        "sample": result.sample,
        "n_points": result.n_points,
        "n_samples": result.n_samples,
        "information_bits": result.information,
        "information_se": result.information_se,
    }


def _traversals(
    outputs: Outputs,
    cfg: DictConfig,
    structure: EnsembleStructure,
    clusterings: list[Clustering],
    found: list[Hotspot],
    fingerprints: list[Fingerprint],
) -> None:
    clustering = next((c for c in clusterings if c.measure == cfg.traversals.measure), None)
    if clustering is None:
        return
    done, missing = hotspot_traversals(
        structure, clustering, found, fingerprints, cfg.traversals.n_bases, cfg.traversals.steps
    )
    for reason in missing:
        log.warning("no traversal for %s", reason)
    for t in done:
        key = f"{t.hotspot.measure}_{t.hotspot.hotspot}"
        outputs.figure(f"traversals/{key}", traversal_figure(t), f"traversal_{key}.png")
    if done:
        outputs.figure("traversals/all", traversal_grid_figure(done), "traversals.png")
    outputs.sections["traversals"] = {
        "made": [f"{t.hotspot.measure}/{t.hotspot.hotspot}" for t in done],
        "missing": missing,
    }


def _fusion(
    outputs: Outputs, cfg: DictConfig, fingerprints: list[Fingerprint], dtype: torch.dtype
) -> None:
    result = fuse_ensemble(
        fingerprints,
        _fusion_options(cfg),
        threshold=cfg.information_threshold,
        device=cfg.device,
        dtype=dtype,
    )
    outputs.files["fusion"] = write_fusion(outputs.out, result)
    outputs.tables["fusion"] = (FUSION_COLUMNS, fusion_rows(result))
    outputs.figure("fusion/space", fused_space_figure(result), "fusion_space.png")
    outputs.figure("fusion/continuity", continuity_figure(result), "fusion_continuity.png")
    outputs.sections["fusion"] = fusion_summary(result)
    outputs.printed.append(format_fusion_table(result))


def _hotspot_fusion(
    outputs: Outputs,
    cfg: DictConfig,
    fingerprints: list[Fingerprint],
    found: list[Hotspot],
    dtype: torch.dtype,
) -> None:
    h = cfg.hotspot_fusion
    fused = fuse_hotspots(
        fingerprints,
        found,
        measure=h.measure,
        objective=h.objective,
        dim=h.dim,
        steps=h.steps,
        lr=h.lr,
        device=cfg.device,
        dtype=dtype,
    )
    rows = hotspot_fusion_rows(fused)
    path = outputs.out / HOTSPOT_FUSION_FILE
    outputs.files["hotspot_fusion"] = write_table(path, HOTSPOT_FUSION_COLUMNS, rows)
    outputs.tables["hotspot_fusion"] = (HOTSPOT_FUSION_COLUMNS, rows)
    outputs.sections["hotspot_fusion"] = [
        dict(zip(HOTSPOT_FUSION_COLUMNS, r, strict=True)) for r in rows
    ]
    outputs.printed.append(format_hotspot_fusion_table(fused, h.objective))


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

    outputs = Outputs(out)
    _structure(outputs, structure, clusterings, found)
    _run_metrics(outputs, run_metrics_table(fingerprints, structure, clusterings))
    if cfg.whole_space.enabled:
        _whole_space(outputs, cfg, fingerprints)
    if cfg.traversals.enabled:
        _traversals(outputs, cfg, structure, clusterings, found, fingerprints)
    if cfg.hotspot_fusion.enabled and found:
        _hotspot_fusion(outputs, cfg, fingerprints, found, dtype)
    if cfg.fusion.enabled:
        _fusion(outputs, cfg, fingerprints, dtype)
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
        **outputs.sections,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    outputs.files["report"] = write_report(out, summary, outputs.figures, outputs.tables)
    summary["files"] = {**outputs.files, **outputs.figures}
    summary["seconds"] = round(time.perf_counter() - started, 3)
    write_summary(out, summary)
    _log_to_wandb(cfg, out, sweep, outputs.figures, outputs.tables, summary)
    print(f"\n{format_hotspot_table(found)}")
    for table in outputs.printed:
        print(f"\n{table}")
    if skipped:
        print(f"\nskipped {len(skipped)} runs:")
        for s in skipped:
            print(f"  {s.run}: {s.reason}")
    print(f"\nanalysis of {len(fingerprints)} runs ({source.describe()}) written to {out}")
    print(f"report: {outputs.files['report']}")
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
