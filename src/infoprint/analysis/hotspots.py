"""Hotspots: channels that many runs learn alike, found by OPTICS (paper Sec. 4.1).

Murphy, Dillavou & Bassett (TMLR 2025) cluster the ensemble's channels with OPTICS
(Ankerst et al. 1999) on the precomputed distances −ln NMI and VI (the channel measures of
:mod:`infoprint.analysis.measures`); dense clusters are "hotspots" of information that is
repeatedly learned. OPTICS-xi finds clusters relative to their surroundings, so a loose
group of unrelated channels between two dense hotspots can form a cluster too; each hotspot
reports its cohesion (mean NMI between members) so such groups are easy to tell apart. The
paper uses min_samples = 20 for 50-run ensembles; ``min_samples="auto"`` keeps that ratio
(0.4 × runs, at least 2) so small ensembles still form hotspots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import OPTICS

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.measures import channel_measure


@dataclass
class Clustering:
    """OPTICS output over the kept channels for one distance."""

    measure: str
    min_samples: int
    ordering: np.ndarray  # [M] channel indices in reachability order
    reachability: np.ndarray  # [M] in channel order (inf for the first point of a region)
    labels: np.ndarray  # [M] hotspot id per channel, −1 for noise


@dataclass
class Hotspot:
    measure: str
    hotspot: int
    members: list[tuple[str, int, int]]  # (run id, job, channel)
    size: int
    n_runs: int
    mean_information: float
    cohesion: float  # mean NMI between distinct members: how alike the channels really are
    best_factor: str | None
    best_factor_nmi: float | None


def default_min_samples(n_runs: int, ratio: float = 0.4) -> int:
    """The paper's 20 for 50 runs, scaled to the ensemble size, at least 2."""
    return max(2, round(ratio * n_runs))


def distance_matrix(structure: EnsembleStructure, measure: str) -> np.ndarray:
    """Symmetric, zero-diagonal, non-negative distances for OPTICS: the distance of the
    channel measure ``measure`` (:data:`infoprint.analysis.measures.CHANNEL_MEASURES`)."""
    found = channel_measure(measure)
    d = found.distance(found.matrix(structure))
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    return d


def cluster(
    structure: EnsembleStructure, measure: str, min_samples: int | str = "auto", xi: float = 0.05
) -> Clustering | None:
    """OPTICS on the channel distances; None when there are too few channels to cluster."""
    n = structure.n_channels
    k = default_min_samples(structure.n_runs) if min_samples == "auto" else int(min_samples)
    if k < 2:
        raise ValueError(f"clustering.min_samples must be 'auto' or >= 2, got {min_samples!r}")
    if n < 2:
        return None
    k = min(k, n)
    optics = OPTICS(min_samples=k, metric="precomputed", cluster_method="xi", xi=xi)
    optics.fit(distance_matrix(structure, measure))
    return Clustering(
        measure=measure,
        min_samples=k,
        ordering=optics.ordering_,
        reachability=optics.reachability_,
        labels=optics.labels_,
    )


def _cohesion(nmi: np.ndarray) -> float:
    n = len(nmi)
    return float((nmi.sum() - np.trace(nmi)) / (n * (n - 1))) if n > 1 else 1.0


def hotspots(structure: EnsembleStructure, clustering: Clustering) -> list[Hotspot]:
    """Summarise each OPTICS cluster: members, size, information and best factor."""
    found = []
    for label in sorted(set(clustering.labels.tolist()) - {-1}):
        idx = np.flatnonzero(clustering.labels == label)
        best_factor = best_nmi = None
        if structure.factor_nmi is not None:
            mean_nmi = structure.factor_nmi[idx].mean(axis=0)
            k = int(np.argmax(mean_nmi))
            best_factor, best_nmi = structure.factor_names[k], float(mean_nmi[k])
        found.append(
            Hotspot(
                measure=clustering.measure,
                hotspot=int(label),
                members=[
                    (str(structure.run_ids[i]), int(structure.jobs[i]), int(structure.channels[i]))
                    for i in idx
                ],
                size=len(idx),
                n_runs=len(set(structure.run_ids[idx].tolist())),
                mean_information=float(structure.information[idx].mean()),
                cohesion=_cohesion(structure.nmi[np.ix_(idx, idx)]),
                best_factor=best_factor,
                best_factor_nmi=best_nmi,
            )
        )
    return found
