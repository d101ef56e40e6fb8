"""One channel per hotspot: the ensemble's consensus of what the hotspot encodes.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4 applied to one
hotspot (Sec. 4.1): the member channels of a hotspot carry nearly the same information,
each with its own errors; fusing them (:func:`infoprint.analysis.fusion.fuse_channels`)
gives one ``dim``-dimensional embedding of the probe set that agrees best with all of them.
Its NMI with the ground-truth factors, next to the members' mean NMI, shows whether the
runs together encode a factor better than each run alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.fusion import fuse_channels
from infoprint.analysis.hotspots import Clustering, Hotspot, distance_matrix
from infoprint.analysis.measures import PRIMARY_MEASURE
from infoprint.analysis.outputs import Table
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import DiscreteChannels, FusedSpace, GaussianSpaces, compare

HOTSPOT_FUSION_FILE = "hotspot_fusion.csv"
HOTSPOT_FUSION_COLUMNS = [
    "measure",
    "hotspot",
    "size",
    "member_bits",
    "fused_bits",
    "similarity",
    "best_factor",
    "member_nmi",
    "fused_nmi",
]


@dataclass
class HotspotFusion:
    """A hotspot's fused channel and its NMI with the ground-truth factors."""

    hotspot: Hotspot
    space: FusedSpace
    factor_nmi: np.ndarray | None  # [K] NMI with every factor; None without factors
    best_factor_nmi: float | None  # NMI with the hotspot's best factor (the members' best)


def central_members(
    structure: EnsembleStructure, clustering: Clustering, hotspot: Hotspot, k: int
) -> Hotspot:
    """``hotspot`` with only its ``k`` most central members (smallest summed distance to the
    others in the hotspot's own measure); its size and numbers stay those of the whole."""
    index = np.flatnonzero(clustering.labels == hotspot.hotspot)
    if len(index) <= k:
        return hotspot
    d = distance_matrix(structure, clustering.measure)[np.ix_(index, index)]
    chosen = index[np.argsort(d.sum(axis=1), kind="stable")[:k]]
    members = [
        (str(structure.run_ids[i]), int(structure.jobs[i]), int(structure.channels[i]))
        for i in sorted(chosen)
    ]
    return replace(hotspot, members=members)


def fuse_hotspots(
    fingerprints: Sequence[Fingerprint],
    found: Sequence[Hotspot],
    *,
    measure: str = PRIMARY_MEASURE,
    dim: int = 1,
    device: str = "auto",
    dtype: torch.dtype = torch.float32,
    **fusion: Any,
) -> list[HotspotFusion]:
    """Fuse the members of every hotspot of ``measure`` into ``dim`` dimensions; ``fusion``
    are the other keyword arguments of :func:`infoprint.info.fuse` (objective, steps, lr,
    ...), with its defaults."""
    factors, names = fingerprints[0].factors, list(fingerprints[0].factor_names)
    truth = DiscreteChannels(factors) if factors is not None and factors.shape[1] else None
    fused = []
    for hotspot in found:
        if hotspot.measure != measure:
            continue
        members = [(run, channel) for run, _, channel in hotspot.members]
        space = fuse_channels(fingerprints, members, dim=dim, device=device, dtype=dtype, **fusion)
        factor_nmi = best = None
        if truth is not None:
            spaces = GaussianSpaces(space.mu[None], space.logvar[None])
            factor_nmi = compare(spaces, truth, device=device, dtype=dtype).nmi[0].numpy()
            if hotspot.best_factor is not None:
                best = float(factor_nmi[names.index(hotspot.best_factor)])
        fused.append(HotspotFusion(hotspot, space, factor_nmi, best))
    return fused


def hotspot_fusion_rows(fused: Sequence[HotspotFusion]) -> list[list[object]]:
    """One row per hotspot in :data:`HOTSPOT_FUSION_COLUMNS` order (empty without factors)."""

    def number(value: float | None) -> object:
        return "" if value is None else round(value, 6)

    return [
        [
            f.hotspot.measure,
            f.hotspot.hotspot,
            f.hotspot.size,
            round(f.hotspot.mean_information, 6),
            round(f.space.information, 6),
            round(f.space.value, 6),
            f.hotspot.best_factor or "",
            number(f.hotspot.best_factor_nmi),
            number(f.best_factor_nmi),
        ]
        for f in fused
    ]


def hotspot_fusion_table(fused: Sequence[HotspotFusion], objective: str) -> Table:
    """``hotspot_fusion.csv``: per hotspot, the members' mean against the fused channel."""
    return Table(
        name="hotspot_fusion",
        title=f"fused hotspots ({objective})",
        columns=HOTSPOT_FUSION_COLUMNS,
        rows=hotspot_fusion_rows(fused),
        caption=(
            f"Each hotspot's channels fused into one channel that agrees best with all of them "
            f"(objective {objective}; paper Sec. 4.4): the ensemble's consensus of what the "
            "hotspot encodes. member bits / fused bits = information of the members (mean) and "
            "of the fused channel; similarity = the objective's final mean over the members; "
            "member nmi / fused nmi = NMI with the best factor, of the members (mean) and of "
            "the fused channel. Fused above members: the runs together know the factor better "
            "than each run alone."
        ),
        file=HOTSPOT_FUSION_FILE,
        terminal=[c for c in HOTSPOT_FUSION_COLUMNS if c != "similarity"],
    )
