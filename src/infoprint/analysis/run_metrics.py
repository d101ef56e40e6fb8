"""Per-run disentanglement metrics against each run's place in the channel structure.

The field scores whole models (MIG, FactorVAE score, SAP, DCI, ...; Locatello et al.
2019); Murphy, Dillavou & Bassett (TMLR 2025) look at channels and the hotspots they form
across an ensemble. This module joins the two per run: the scores the metrics callback
stored in each run's ``run.json`` under ``metrics``, and from the ensemble structure

- ``active_channels``: the run's channels above the information threshold (the ones the
  analysis compares),
- ``total_information_bits``: the sum of the information (bits) of all its channels (an
  upper bound on the information of the whole latent space, equal to it only when the
  channels share nothing),
- ``hotspot_channels_<measure>``: how many of its channels OPTICS placed in a hotspot on
  that measure (nmi, vi),

and relates them with Spearman's rank correlation (Spearman 1904), which assumes nothing
about the scale of either side, with a permutation p-value (exact for up to 7 runs), which
unlike the usual t approximation holds for the handful of runs an ensemble may have.
Runs without recorded metrics are left out of the table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import permutation_test, rankdata

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering
from infoprint.analysis.outputs import Table, write_table
from infoprint.fingerprint.record import Fingerprint
from infoprint.run.directory import METRICS_KEY

RUN_METRICS_FILE = "run_metrics.csv"
PERMUTATIONS = 9999
ID_COLUMNS = ["run_id", "sweep", "job_num", "seed", "model"]
HPARAM_PREFIX = "hparam/"


@dataclass
class RunMetricsTable:
    """One row per run with metrics: identity, hyper-parameters, structure, metrics."""

    columns: list[str]
    rows: list[list[Any]]
    structure_columns: list[str]
    metric_columns: list[str]  # every recorded key, e.g. "mig" and "mig/posX"

    @property
    def headline_metrics(self) -> list[str]:
        """The metrics' headline scores (keys without a ``/detail``)."""
        return [c for c in self.metric_columns if "/" not in c]

    def table(self) -> Table:
        """The rows as a result table (``run_metrics.csv``)."""
        return Table(
            name="run_metrics",
            title="runs: metrics against channel structure",
            columns=self.columns,
            rows=self.rows,
            caption=(
                "One row per run with recorded disentanglement metrics (run.json): its "
                "identity, hyper-parameters (hparam/…), its place in the channel structure "
                "(active channels above the information threshold, total information in bits, "
                "channels in hotspots per measure) and its metric scores; empty = not recorded."
            ),
            file=RUN_METRICS_FILE,
        )

    def values(self, column: str) -> np.ndarray:
        """A numeric column as float [n_runs]; missing values are NaN."""
        j = self.columns.index(column)
        return np.array([np.nan if row[j] is None else float(row[j]) for row in self.rows])


def run_structure(
    fingerprints: Sequence[Fingerprint],
    structure: EnsembleStructure,
    clusterings: Sequence[Clustering],
) -> dict[str, dict[str, float]]:
    """Per run id: active channels, total information (bits), hotspot channels per measure.

    ``structure`` must come from ``fingerprints`` in the same order (its
    ``all_information`` rows are the fingerprints).
    """
    out = {}
    for r, fp in enumerate(fingerprints):
        bits = structure.all_information[r, : fp.n_channels]
        row = {
            "active_channels": int(np.sum(bits >= structure.threshold)),
            "total_information_bits": float(np.sum(bits)),
        }
        mine = structure.run_ids == fp.run_id
        for c in clusterings:
            row[f"hotspot_channels_{c.measure}"] = int(np.sum(mine & (c.labels >= 0)))
        out[fp.run_id] = row
    return out


def run_metrics_table(
    fingerprints: Sequence[Fingerprint],
    structure: EnsembleStructure,
    clusterings: Sequence[Clustering],
) -> RunMetricsTable:
    """Join each run's recorded metrics with its structure; runs without metrics are left out."""
    per_run = run_structure(fingerprints, structure, clusterings)
    scored = [fp for fp in fingerprints if fp.meta.get(METRICS_KEY)]
    structure_columns = ["active_channels", "total_information_bits"]
    structure_columns += [f"hotspot_channels_{c.measure}" for c in clusterings]
    metric_columns = sorted({k for fp in scored for k in fp.meta[METRICS_KEY]})
    hparams = sorted({k for fp in scored for k in fp.meta.get("hyperparameters") or {}})
    columns = [*ID_COLUMNS, *(HPARAM_PREFIX + k for k in hparams)]
    columns += [*structure_columns, *metric_columns]
    rows = []
    for fp in scored:
        metrics, given = fp.meta[METRICS_KEY], fp.meta.get("hyperparameters") or {}
        rows.append(
            [fp.meta.get(k) for k in ID_COLUMNS]
            + [given.get(k) for k in hparams]
            + [per_run[fp.run_id][k] for k in structure_columns]
            + [_number(metrics.get(k)) for k in metric_columns]
        )
    return RunMetricsTable(columns, rows, structure_columns, metric_columns)


def spearman_correlations(table: RunMetricsTable) -> dict[str, dict[str, dict[str, Any]]]:
    """``{metric: {structure column: {"rho", "p", "n"}}}`` for every headline metric.

    Computed on the runs where both values are finite; ``rho`` and ``p`` are None when
    fewer than 3 such runs remain or either side is constant (rank correlation undefined).
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for metric in table.headline_metrics:
        y = table.values(metric)
        out[metric] = {}
        for quantity in table.structure_columns:
            x = table.values(quantity)
            ok = np.isfinite(x) & np.isfinite(y)
            rho = p = None
            if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0:
                rho, p = spearman(x[ok], y[ok])
            out[metric][quantity] = {"rho": rho, "p": p, "n": int(ok.sum())}
    return out


def spearman(
    x: np.ndarray, y: np.ndarray, n_resamples: int = PERMUTATIONS, seed: int = 0
) -> tuple[float, float]:
    """Spearman's ρ (Pearson correlation of mid-ranks) and its two-sided permutation p.

    The null distribution permutes the pairing of ``x`` with ``y``: all n! pairings when
    n! <= ``n_resamples`` (exact), else ``n_resamples`` random ones drawn with ``seed``.
    Neither side may be constant.
    """
    y_ranks = _centred_ranks(y)

    def rho(xs: np.ndarray, axis: int = -1) -> np.ndarray:  # scipy passes axis=-1
        x_ranks = _centred_ranks(xs)
        return (x_ranks * y_ranks).sum(-1) / np.sqrt((x_ranks**2).sum(-1) * (y_ranks**2).sum())

    test = permutation_test(
        (x,), rho, permutation_type="pairings", vectorized=True, n_resamples=n_resamples, rng=seed
    )
    return float(test.statistic), float(test.pvalue)


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    ranks = rankdata(values, axis=-1)
    return ranks - ranks.mean(axis=-1, keepdims=True)


def write_run_metrics(directory: Path, table: RunMetricsTable) -> Path:
    """``run_metrics.csv``: one row per run with metrics; missing values are empty."""
    return write_table(table.table(), directory)


def _number(value: Any) -> float | None:
    """A recorded metric value as a float; None for missing or non-finite (null) values."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)
