"""A study: several ensembles analysed one by one, then compared.

``docs/architecture.md`` §10. Each ensemble (:mod:`infoprint.analysis.ensembles`) gets the
full analysis in ``<out>/ensembles/<name>/``; the study adds, in ``<out>``:

- ``study.csv``: one row per ensemble: its keys, runs, channels kept, mean and total
  information per run, the hotspots of every channel measure (count, sizes, fraction of kept
  channels and of their information in hotspots; :mod:`infoprint.analysis.measures`), the
  mean cohesion of the primary measure's (NMI) hotspots, per factor the best NMI of such a
  hotspot with it, and each per-run metric as mean and sd over the ensemble's runs;
- ``hotspot_links.csv``: every NMI hotspot of one ensemble against every one of another, by
  the NMI between their consensus channels (each hotspot's most central member, as in the
  traversals) in cross mode on the shared probe set (Murphy, Dillavou & Bassett, TMLR
  2025, Sec. 3), to follow which pieces of information persist, split or appear as a
  hyper-parameter grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infoprint.analysis.ensembles import Ensemble
from infoprint.analysis.hotspot_traversals import representative
from infoprint.analysis.measures import CHANNEL_MEASURES, PRIMARY_MEASURE, ChannelMeasure
from infoprint.analysis.outputs import Table
from infoprint.info import GaussianChannels, compare
from infoprint.pipeline.run import AnalysisContext
from infoprint.run.directory import METRICS_KEY

_PRIMARY = CHANNEL_MEASURES[PRIMARY_MEASURE]  # its hotspots are summarised and linked
LINK_COLUMNS = ["ensemble_a", "hotspot_a", "ensemble_b", "hotspot_b", "nmi"]
"""The columns of ``hotspot_links.csv`` (:func:`links_table`)."""


@dataclass
class EnsembleAnalysis:
    """One ensemble of a study: its runs, and its analysis (None with a note when it has
    a single run: no clustering can say anything)."""

    ensemble: Ensemble
    context: AnalysisContext | None
    note: str | None = None


def _hotspot_numbers(context: AnalysisContext, measure: ChannelMeasure) -> dict[str, Any]:
    """The study.csv columns of one channel measure (zeros when it was not clustered)."""
    structure, clustering = context.structure, context.clustering(measure.name)
    found = [h for h in context.hotspots if h.measure == measure.name]
    if clustering is None or not structure.n_channels:
        return {
            measure.column("hotspots"): 0,
            measure.column("sizes"): "",
            measure.column("frac_channels"): 0.0,
            measure.column("frac_information"): 0.0,
        }
    inside = clustering.labels >= 0
    total = float(structure.information.sum())
    return {
        measure.column("hotspots"): len(found),
        measure.column("sizes"): ";".join(str(h.size) for h in found),
        measure.column("frac_channels"): float(inside.mean()),
        measure.column("frac_information"): float(structure.information[inside].sum() / total)
        if total > 0
        else 0.0,
    }


def _metric_numbers(fingerprints: Sequence[Any]) -> dict[str, Any]:
    scores: dict[str, list[float]] = {}
    for fp in fingerprints:
        for name, value in (fp.meta.get(METRICS_KEY) or {}).items():
            if "/" not in name and value is not None:
                scores.setdefault(name, []).append(float(value))
    numbers = {}
    for name, values in sorted(scores.items()):
        numbers[f"metric_{name}_mean"] = float(np.mean(values))
        numbers[f"metric_{name}_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return numbers


def study_row(item: EnsembleAnalysis, factor_names: Sequence[str]) -> dict[str, Any]:
    """The study.csv row of one ensemble (see the module docstring)."""
    runs = item.ensemble.fingerprints
    row: dict[str, Any] = {
        "ensemble": item.ensemble.name,
        **item.ensemble.keys,
        "runs": len(runs),
        "note": item.note or "",
    }
    context = item.context
    if context is None:
        bits = [float(np.sum(fp.meta.get("information_bits") or [])) for fp in runs]
        row["total_information_per_run"] = float(np.mean(bits))
        return row | _metric_numbers(runs)
    structure = context.structure
    row["total_information_per_run"] = float(np.nanmean(np.nansum(structure.all_information, 1)))
    row["channels_kept"] = structure.n_channels
    row["mean_information_per_channel"] = (
        float(structure.information.mean()) if structure.n_channels else 0.0
    )
    for measure in CHANNEL_MEASURES.values():
        row |= _hotspot_numbers(context, measure)
    primary = [h for h in context.hotspots if h.measure == PRIMARY_MEASURE]
    row[_PRIMARY.column("mean_cohesion")] = (
        float(np.mean([h.cohesion for h in primary])) if primary else None
    )
    labels = context.clustering(PRIMARY_MEASURE).labels if primary else None
    for k, factor in enumerate(factor_names):
        if structure.factor_nmi is None or labels is None:
            row[f"best_hotspot_nmi_{factor}"] = None
            continue
        row[f"best_hotspot_nmi_{factor}"] = max(
            float(np.mean(structure.factor_nmi[labels == h.hotspot, k])) for h in primary
        )
    baselines = context.results.get("baselines")
    if baselines is not None:  # one column per measure: its mean over the run pairs
        row |= {f"baseline_{k}": v for k, v in baselines.section["mean"].items()}
    return row | _metric_numbers(runs)


def study_table(items: Sequence[EnsembleAnalysis]) -> Table:
    """``study.csv``: one row per ensemble, columns in first-seen order."""
    factor_names = next(
        (list(i.context.structure.factor_names) for i in items if i.context is not None), []
    )
    rows = [study_row(item, factor_names) for item in items]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    shown = [
        c
        for c in (
            "ensemble",
            "runs",
            "channels_kept",
            _PRIMARY.column("hotspots"),
            _PRIMARY.column("frac_channels"),
            _PRIMARY.column("mean_cohesion"),
            "total_information_per_run",
        )
        if c in columns
    ]
    return Table(
        name="study",
        title="study: one row per ensemble",
        columns=columns,
        rows=[[row.get(c) for c in columns] for row in rows],
        caption=(
            "One row per ensemble (runs sharing every grouping key): channels kept above the "
            "information threshold, hotspots per measure (count, sizes, fraction of kept "
            "channels and of their information inside hotspots), mean cohesion of the "
            f"{_PRIMARY.symbol} hotspots, per factor the best NMI of one of them with it, and each "
            "per-run metric as mean and sd; empty = not defined (e.g. a one-run ensemble)."
        ),
        file="study.csv",
        terminal=shown,
    )


@dataclass
class HotspotLinks:
    """Consensus channels of every ensemble's primary (NMI) hotspots, and their NMI matrix."""

    labels: list[tuple[str, int]]  # (ensemble, hotspot)
    nmi: np.ndarray  # [H, H]


def consensus_channels(item: EnsembleAnalysis) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(hotspot, mu [N], logvar [N]) of each primary (NMI) hotspot's most central member."""
    context = item.context
    clustering = None if context is None else context.clustering(PRIMARY_MEASURE)
    if clustering is None:
        return []
    by_id = {fp.run_id: fp for fp in item.ensemble.fingerprints}
    found = []
    for hotspot in (h for h in context.hotspots if h.measure == PRIMARY_MEASURE):
        index = representative(context.structure, clustering, hotspot.hotspot)
        fp = by_id[str(context.structure.run_ids[index])]
        channel = int(context.structure.channels[index])
        found.append((hotspot.hotspot, fp.mu[:, channel], fp.logvar[:, channel]))
    return found


def hotspot_links(items: Sequence[EnsembleAnalysis], device: str = "auto") -> HotspotLinks | None:
    """NMI between the consensus channels of all ensembles' hotspots (None when fewer than
    two hotspots, or when the ensembles are on different probe sets)."""
    digests = {i.ensemble.fingerprints[0].probe_digest for i in items}
    if len(digests) > 1:
        return None
    labels, mus, logvars = [], [], []
    for item in items:
        for hotspot, mu, logvar in consensus_channels(item):
            labels.append((item.ensemble.name, hotspot))
            mus.append(mu)
            logvars.append(logvar)
    if len(labels) < 2:
        return None
    channels = GaussianChannels(np.stack(mus, axis=1), np.stack(logvars, axis=1))
    nmi = compare(channels, device=device, dtype=torch.float64).nmi.numpy()
    return HotspotLinks(labels, nmi)


def links_table(links: HotspotLinks) -> Table:
    """``hotspot_links.csv``: every pair of hotspots from different ensembles, by NMI."""
    rows = []
    for i, (ens_a, hot_a) in enumerate(links.labels):
        for j, (ens_b, hot_b) in enumerate(links.labels):
            if ens_a != ens_b:
                rows.append([ens_a, hot_a, ens_b, hot_b, float(links.nmi[i, j])])
    return Table(
        name="hotspot_links",
        title="hotspots linked across ensembles",
        columns=LINK_COLUMNS,
        rows=rows,
        caption=(
            f"Each {_PRIMARY.symbol} hotspot of one ensemble against each of another: NMI between "
            "their consensus channels (the hotspot's most central member) on the shared probe "
            "set. Near 1: the same piece of information in both ensembles."
        ),
        file="hotspot_links.csv",
    )
