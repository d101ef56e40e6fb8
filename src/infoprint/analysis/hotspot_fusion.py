"""One channel per hotspot: the ensemble's consensus of what the hotspot encodes.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4 applied to one
hotspot (Sec. 4.1): the member channels of a hotspot carry nearly the same information,
each with its own errors; fusing them (:func:`infoprint.analysis.fusion.fuse_channels`)
gives one ``dim``-dimensional embedding of the probe set that agrees best with all of them.
Its NMI with the ground-truth factors, next to the members' mean NMI, shows whether the
runs together encode a factor better than each run alone.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from infoprint.analysis.cache import BlockCache, cache_scope, set_key
from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.fusion import fuse_channels
from infoprint.analysis.hotspots import Clustering, Hotspot, distance_matrix
from infoprint.analysis.measures import PRIMARY_MEASURE
from infoprint.analysis.outputs import Table
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import (
    DiscreteChannels,
    FusedSpace,
    GaussianSpaces,
    fuse,
    nmi_from_mutual,
    resolve_device,
)
from infoprint.info.blocks import run_pair_information
from infoprint.store.records import ArraySpec

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
    cache: BlockCache | None = None,
    **fusion: Any,
) -> list[HotspotFusion]:
    """Fuse the members of every hotspot of ``measure`` into ``dim`` dimensions; ``fusion``
    are the other keyword arguments of :func:`infoprint.info.fuse` (objective, steps, lr,
    ...), with its defaults. With ``cache``, a hotspot whose members were fused with the
    same settings before is taken from it (the same bits: fusion repeats exactly)."""
    factors, names = fingerprints[0].factors, list(fingerprints[0].factor_names)
    truth = DiscreteChannels(factors) if factors is not None and factors.shape[1] else None
    dev = resolve_device(device)
    first = fingerprints[0]
    scope = cache_scope(
        "hotspot_fusion", dtype, dev, probe=first.probe_digest, n_points=first.n_points,
        dim=dim, fusion=json.dumps(fusion, sort_keys=True, default=str),
        workers=torch.get_num_threads(),
    )  # fmt: skip
    found = [h for h in found if h.measure == measure]
    members = [[(run, channel) for run, _, channel in h.members] for h in found]
    keys = [_members_key(fingerprints, m) for m in members]
    stored = [
        None if cache is None else cache.fused(scope, key, _specs(first, m, dim, fusion))
        for m, key in zip(members, keys, strict=True)
    ]
    missing = [i for i, s in enumerate(stored) if s is None]
    for i in missing:
        space = fuse_channels(fingerprints, members[i], dim=dim, device=dev, dtype=dtype, **fusion)
        factor_nmi = None if truth is None else _factor_nmi(space, truth, dev, dtype)
        stored[i] = _arrays(space, factor_nmi)
    fused = []
    for hotspot, key, arrays in zip(found, keys, stored, strict=True):
        if cache is not None:
            cache.keep_fused(scope, key, arrays)
        space, factor_nmi = _from_arrays(arrays, fusion)
        best = None
        if factor_nmi is not None and hotspot.best_factor is not None:
            best = float(factor_nmi[names.index(hotspot.best_factor)])
        fused.append(HotspotFusion(hotspot, space, factor_nmi, best))
    return fused


def _factor_nmi(space: FusedSpace, truth: DiscreteChannels, device: torch.device,
                dtype: torch.dtype) -> np.ndarray:  # fmt: skip
    """NMI of the fused embedding (one whole-space channel) with every factor, by run-pair
    blocks (:mod:`infoprint.info.blocks`: the same bits every time)."""
    spaces = GaussianSpaces(space.mu[None], space.logvar[None])
    bits = run_pair_information(
        [spaces, truth], [(0, 0), (0, 1), (1, 1)], device=device, dtype=dtype
    )
    shared = (torch.diagonal(bits.mutual[(i, i)]) for i in (0, 1))
    return nmi_from_mutual(bits.mutual[(0, 1)], *shared)[0].numpy()


def _members_key(fingerprints: Sequence[Fingerprint], members: Sequence[tuple[str, int]]) -> bytes:
    """The key of a fusion's members: the SHA-256 of their channels' arrays, in order."""
    by_run = {fp.run_id: fp for fp in fingerprints}
    arrays = []
    for run, channel in members:
        fp = by_run[run]
        arrays += [fp.mu[:, channel], fp.logvar[:, channel]]
    return set_key(*arrays)


def _specs(first: Fingerprint, members: Sequence[tuple[str, int]], dim: int,
           fusion: dict[str, Any]) -> dict[str, ArraySpec]:  # fmt: skip
    """What a stored fused hotspot must hold, exactly."""
    floats = frozenset({"float32", "float64"})
    k = first.factors.shape[1] if first.factors is not None else 0
    steps = int(_setting(fusion, "steps"))
    return {
        "mu": ArraySpec(floats, (first.n_points, dim)),
        "logvar": ArraySpec(floats, (first.n_points, dim)),
        "similarity": ArraySpec(floats, (len(members),)),
        "trace": ArraySpec(floats, (steps,)),
        "information": ArraySpec(frozenset({"float64"}), (1,)),
        "seed": ArraySpec(frozenset({"int64"}), (1,)),
        "factor_nmi": ArraySpec(frozenset({"float64"}), (k,), required=False),
    }


def _setting(fusion: dict[str, Any], name: str) -> Any:
    """A fusion setting: the one given, else :func:`infoprint.info.fuse`'s default."""
    return fusion.get(name, inspect.signature(fuse).parameters[name].default)


def _arrays(space: FusedSpace, factor_nmi: np.ndarray | None) -> dict[str, np.ndarray]:
    arrays = {
        "mu": space.mu.numpy(),
        "logvar": space.logvar.numpy(),
        "similarity": space.similarity.numpy(),
        "trace": space.trace.numpy(),
        "information": np.asarray([space.information], np.float64),
        "seed": np.asarray([space.seed], np.int64),
    }
    if factor_nmi is not None:
        arrays["factor_nmi"] = np.asarray(factor_nmi, np.float64)
    return arrays


def _from_arrays(
    arrays: dict[str, np.ndarray], fusion: dict[str, Any]
) -> tuple[FusedSpace, np.ndarray | None]:
    space = FusedSpace(
        mu=torch.from_numpy(arrays["mu"]),
        logvar=torch.from_numpy(arrays["logvar"]),
        objective=str(_setting(fusion, "objective")),
        similarity=torch.from_numpy(arrays["similarity"]),
        information=float(arrays["information"][0]),
        trace=torch.from_numpy(arrays["trace"]),
        seed=int(arrays["seed"][0]),
    )
    return space, arrays.get("factor_nmi")


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
