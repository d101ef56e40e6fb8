"""Fusion of sub-ensembles of runs into one embedding (Murphy, Dillavou & Bassett 2025, Sec. 4.4).

For every ensemble size in ``sizes`` (runs; ``"auto"``: 2, 3, 5, 10, 20, 50, 100, … below
the number of runs and then the whole sweep; listed sizes above the number of runs become
the whole sweep) and every repeat, a random subset of runs is drawn; its members are the
kept channels of those runs (information at least ``threshold`` bits, as in the ensemble
structure; on the ring every run has one channel), and a fused ``dim``-dimensional
embedding of the probe set is optimised for each objective with
:func:`infoprint.info.fuse`. All objectives fuse the same subsets. The continuity of each
fused embedding is measured along the probe order, which on the ring is the angle order
(for a probe set with no natural order it is still computed, but means little). The fused
embeddings of the largest ensemble (first repeat) are kept for figures and files.

:func:`fuse_channels` fuses any chosen channels, e.g. the members of one hotspot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoprint.analysis.ensemble import check_compatible
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import (
    FUSION_INITS,
    FUSION_OBJECTIVES,
    FUSION_OPTIMIZERS,
    FusedSpace,
    FusionTarget,
    GaussianChannels,
    continuity,
    fuse,
    information,
)

FUSION_FILE = "fusion.npz"
FUSION_COLUMNS = [
    "objective",
    "size",
    "repeat",
    "n_members",
    "continuity",
    "similarity",
    "information_bits",
]
AUTO_SIZES = "auto"
"""2, 3, 5, 10, 20, 50, 100, … below the number of runs, then all runs (the paper's sizes)."""
CLOSED_DATASETS = ("ring",)
"""Data sets whose probe order is a closed curve (continuity includes the pair (N−1, 0))."""


@dataclass
class FusionResult:
    """Continuity of fused sub-ensembles and the fused embeddings of the largest one."""

    objectives: tuple[str, ...]
    sizes: np.ndarray  # [S] runs per sub-ensemble
    subsets: np.ndarray  # [S, R, max size] run indices per sub-ensemble, −1 padded
    n_members: np.ndarray  # [S, R] channels fused
    continuity: np.ndarray  # [O, S, R], NaN where a subset had no kept channel
    similarity: np.ndarray  # [O, S, R] final mean similarity with the members
    information: np.ndarray  # [O, S, R] I(U) of the fused embedding, bits
    fused: dict[str, FusedSpace]  # objective -> embedding of the largest size, repeat 0
    member_continuity: np.ndarray  # [C] continuity of each kept channel on its own
    run_ids: list[str]
    probe_index: np.ndarray  # [N]
    factors: np.ndarray | None  # [N, K] ground-truth factors of the probe points
    factor_names: tuple[str, ...]
    closed: bool
    dim: int

    @property
    def repeats(self) -> int:
        return int(self.subsets.shape[1])

    def median_continuity(self) -> np.ndarray:
        """``[O, S]`` median continuity over repeats (NaN where none was fused)."""
        c = self.continuity
        out = np.full(c.shape[:2], np.nan)
        finite = np.isfinite(c).any(axis=-1)
        out[finite] = np.nanmedian(c[finite], axis=-1)
        return out


def _channels(fingerprints: Sequence[Fingerprint]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All channels side by side: mu, logvar ``[N, C]`` and the run index of each."""
    mu = np.concatenate([fp.mu for fp in fingerprints], axis=1)
    logvar = np.concatenate([fp.logvar for fp in fingerprints], axis=1)
    run = np.concatenate([np.full(fp.n_channels, r) for r, fp in enumerate(fingerprints)])
    return mu, logvar, run


def ensemble_sizes(sizes: Sequence[int] | str, n_runs: int, key: str = "fusion") -> np.ndarray:
    """Sorted distinct sub-ensemble sizes for a sweep of ``n_runs`` runs.

    ``"auto"``: 2, 3, 5, then 10, 20, 50 times powers of ten, as long as they are below
    ``n_runs``, and then ``n_runs`` itself (``[2, 3, 5, 10, 20, 40]`` for 40 runs). A list
    is capped at ``n_runs``.
    """
    if isinstance(sizes, str):
        if sizes != AUTO_SIZES:
            raise ValueError(
                f"{key}.sizes must be {AUTO_SIZES!r} or a list of sizes; got {sizes!r}"
            )
        auto, scale = [], 1
        while True:
            for step in (2, 3, 5) if scale == 1 else (1, 2, 5):
                if step * scale >= n_runs:
                    return np.array([*auto, n_runs], dtype=np.int64)
                auto.append(step * scale)
            scale *= 10
    if not sizes or min(sizes) < 1:
        raise ValueError(f"{key}.sizes must be a non-empty list of sizes >= 1; got {sizes}")
    return np.unique(np.minimum(np.asarray(sizes, dtype=np.int64), n_runs))


@dataclass(frozen=True)
class FusionOptions:
    """How sub-ensembles are drawn and fused; checked on construction.

    ``sizes`` and ``repeats`` draw the sub-ensembles (:func:`ensemble_sizes`); ``seed``
    draws them and seeds random starts; ``closed`` says whether the probe order is a
    closed curve (``None``: yes for the ring data set); the rest are the options of
    :func:`infoprint.info.fuse`. Errors name ``<config_key>.<option>``, the key of the
    option in conf/analyze.yaml.
    """

    sizes: Sequence[int] | str = AUTO_SIZES
    repeats: int = 5
    objectives: Sequence[str] = FUSION_OBJECTIVES
    dim: int = 2
    steps: int = 300
    lr: float = 0.02
    optimizer: str = "adam"
    init: str = "spectral"
    init_scale: float | None = None
    closed: bool | None = None
    seed: int = 0
    config_key: str = field(default="fusion", compare=False)

    def __post_init__(self) -> None:
        key = self.config_key
        ensemble_sizes(self.sizes, 1, key)
        unknown = sorted(set(self.objectives) - set(FUSION_OBJECTIVES))
        if unknown or not self.objectives:
            raise ValueError(
                f"{key}.objectives must be a non-empty subset of {FUSION_OBJECTIVES}; got "
                f"{list(self.objectives)}"
            )
        if self.optimizer not in FUSION_OPTIMIZERS:
            raise ValueError(
                f"{key}.optimizer must be one of {sorted(FUSION_OPTIMIZERS)}; got "
                f"{self.optimizer!r}"
            )
        if self.init not in FUSION_INITS:
            raise ValueError(f"{key}.init must be one of {FUSION_INITS}; got {self.init!r}")
        for name, low in (("repeats", 1), ("dim", 1), ("steps", 0), ("seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{key}.{name} must be an integer >= {low}; got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"{key}.lr must be > 0; got {self.lr!r}")
        if self.init_scale is not None and not self.init_scale > 0:
            raise ValueError(
                f"{key}.init_scale must be null (automatic) or > 0; got {self.init_scale!r}"
            )
        if self.closed is not None and not isinstance(self.closed, bool):
            raise ValueError(
                f"{key}.closed must be null (automatic), true or false; got {self.closed!r}"
            )

    def fuse_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`infoprint.info.fuse` (objective and seed aside)."""
        return {
            "dim": self.dim,
            "steps": self.steps,
            "lr": self.lr,
            "optimizer": self.optimizer,
            "init": self.init,
            "init_scale": self.init_scale,
        }


def _is_closed(fingerprints: Sequence[Fingerprint], closed: bool | None) -> bool:
    if closed is not None:
        return bool(closed)
    return all(fp.meta.get("dataset") in CLOSED_DATASETS for fp in fingerprints)


def fuse_ensemble(
    fingerprints: Sequence[Fingerprint],
    options: FusionOptions | None = None,
    *,
    threshold: float = 0.01,
    device: str = "auto",
    dtype: torch.dtype = torch.float32,
) -> FusionResult:
    """Fuse random sub-ensembles of runs for every size, repeat and objective.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4, with
    ``options`` (default :class:`FusionOptions()`); channels under ``threshold`` bits are
    left out. ``closed=None`` treats the probe order as a closed curve for the ring data
    set and as open otherwise. ``seed`` draws the subsets; fusion k (in size, repeat
    order) starts from seed + k when ``init="random"``; with the deterministic spectral
    start a subset drawn again (the whole sweep, every repeat) is fused once and its
    result repeated.
    """
    check_compatible(fingerprints)
    options = options or FusionOptions()
    objectives, repeats, seed = tuple(options.objectives), options.repeats, options.seed
    n_runs = len(fingerprints)
    sizes_used = ensemble_sizes(options.sizes, n_runs)
    is_closed = _is_closed(fingerprints, options.closed)
    mu, logvar, run_of = _channels(fingerprints)
    bits = information(GaussianChannels(mu, logvar), device=device, dtype=dtype).numpy()
    kept = bits >= threshold

    rng = np.random.default_rng(seed)
    shape = (len(sizes_used), repeats)
    subsets = np.full((*shape, sizes_used.max()), -1, dtype=np.int64)
    n_members = np.zeros(shape, dtype=np.int64)
    cont = np.full((len(objectives), *shape), np.nan)
    sim = np.full((len(objectives), *shape), np.nan)
    bits_u = np.full((len(objectives), *shape), np.nan)
    fused: dict[str, FusedSpace] = {}
    for s, size in enumerate(sizes_used):
        for r in range(repeats):
            runs = np.sort(rng.choice(n_runs, size=int(size), replace=False))
            subsets[s, r, :size] = runs
            channels = np.flatnonzero(kept & np.isin(run_of, runs))
            n_members[s, r] = len(channels)
            if not len(channels):
                continue
            drawn_before = np.flatnonzero((subsets[s, :r] == subsets[s, r]).all(-1))
            if options.init == "spectral" and len(drawn_before):
                # The same subset from the same deterministic start (always so for the whole
                # sweep): the same result, not fused again.
                for table in (cont, sim, bits_u):
                    table[:, s, r] = table[:, s, drawn_before[0]]
                continue
            target = FusionTarget.from_channels(
                GaussianChannels(mu[:, channels], logvar[:, channels]), device=device, dtype=dtype
            )
            for o, objective in enumerate(objectives):
                space = fuse(
                    target,
                    objective=objective,
                    seed=seed + s * repeats + r,
                    **options.fuse_options(),
                )
                cont[o, s, r] = continuity(space.mu, space.logvar, closed=is_closed)
                sim[o, s, r] = space.value
                bits_u[o, s, r] = space.information
                if s == len(sizes_used) - 1 and r == 0:
                    fused[objective] = space
    first = fingerprints[0]
    return FusionResult(
        objectives=objectives,
        sizes=sizes_used,
        subsets=subsets,
        n_members=n_members,
        continuity=cont,
        similarity=sim,
        information=bits_u,
        fused=fused,
        member_continuity=np.array(
            [continuity(mu[:, [c]], logvar[:, [c]], closed=is_closed) for c in np.flatnonzero(kept)]
        ),
        run_ids=[fp.run_id for fp in fingerprints],
        probe_index=first.probe_index,
        factors=first.factors,
        factor_names=first.factor_names,
        closed=is_closed,
        dim=options.dim,
    )


def fuse_channels(
    fingerprints: Sequence[Fingerprint],
    members: Sequence[tuple[str, int]],
    *,
    objective: str = "exp_neg_vi",
    dim: int = 2,
    steps: int = 300,
    lr: float = 0.02,
    optimizer: str = "adam",
    init: str = "spectral",
    init_scale: float | None = None,
    seed: int = 0,
    device: str = "auto",
    dtype: torch.dtype = torch.float32,
) -> FusedSpace:
    """Fuse chosen channels ``[(run_id, channel), ...]`` of a sweep, e.g. one hotspot's.

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 4.4; options as in
    :func:`infoprint.info.fuse`. A hotspot's members are ``(run_id, job, channel)``:
    pass ``[(run, channel) for run, _, channel in hotspot.members]``.
    """
    check_compatible(fingerprints)
    if not members:
        raise ValueError("fuse_channels needs at least one (run_id, channel) member")
    by_run = {fp.run_id: fp for fp in fingerprints}
    columns = []
    for run_id, channel in members:
        fp = by_run.get(run_id)
        if fp is None:
            raise ValueError(
                f"member ({run_id!r}, {channel}): no fingerprint with run id {run_id!r}"
            )
        if not 0 <= channel < fp.n_channels:
            raise ValueError(
                f"member ({run_id!r}, {channel}): run {run_id} has channels 0..{fp.n_channels - 1}"
            )
        columns.append((fp.mu[:, channel], fp.logvar[:, channel]))
    mu = np.stack([c[0] for c in columns], axis=1)
    logvar = np.stack([c[1] for c in columns], axis=1)
    return fuse(
        GaussianChannels(mu, logvar),
        objective=objective,
        dim=dim,
        steps=steps,
        lr=lr,
        optimizer=optimizer,
        init=init,
        init_scale=init_scale,
        seed=seed,
        device=device,
        dtype=dtype,
    )


def fusion_rows(result: FusionResult) -> list[list[object]]:
    """One row per fused sub-ensemble, in :data:`FUSION_COLUMNS` order (for CSV / W&B)."""
    return [
        [
            objective,
            int(size),
            r,
            int(result.n_members[s, r]),
            round(float(result.continuity[o, s, r]), 6),
            round(float(result.similarity[o, s, r]), 6),
            round(float(result.information[o, s, r]), 6),
        ]
        for o, objective in enumerate(result.objectives)
        for s, size in enumerate(result.sizes)
        for r in range(result.repeats)
    ]


def fusion_summary(result: FusionResult) -> dict[str, object]:
    """The summary.json section: sizes, and per objective the median continuity per size."""
    median = result.median_continuity()
    members = result.member_continuity
    return {
        "sizes": [int(s) for s in result.sizes],
        "repeats": result.repeats,
        "closed": result.closed,
        "median_continuity": {
            objective: [None if np.isnan(v) else round(float(v), 4) for v in median[o]]
            for o, objective in enumerate(result.objectives)
        },
        "member_median_continuity": round(float(np.median(members)), 4) if len(members) else None,
    }


def format_fusion_table(result: FusionResult) -> str:
    """Median continuity over repeats, objective × ensemble size (lower is better)."""
    median = result.median_continuity()
    head = f"{'fusion continuity':<20}" + "".join(f"{int(s):>8d}" for s in result.sizes)
    lines = [f"{head}  runs fused (median of {result.repeats})", "-" * len(head)]
    lines += [
        f"{objective:<20}" + "".join(f"{v:8.2f}" for v in median[o])
        for o, objective in enumerate(result.objectives)
    ]
    if len(result.member_continuity):
        lines.append(
            f"{'one run alone':<20}{np.median(result.member_continuity):8.2f}"
            f"  (median of {len(result.member_continuity)} channels)"
        )
    return "\n".join(lines)


def write_fusion(directory: Path, result: FusionResult) -> Path:
    """``fusion.npz``: the continuity table and the fused embeddings (``mu_<objective>``,
    ``logvar_<objective>``), loadable with ``np.load(..., allow_pickle=False)``."""
    arrays: dict[str, np.ndarray] = {
        "objectives": np.asarray(result.objectives, dtype=str),
        "sizes": result.sizes,
        "subsets": result.subsets,
        "n_members": result.n_members,
        "continuity": result.continuity,
        "similarity": result.similarity,
        "information": result.information,
        "member_continuity": result.member_continuity,
        "run_ids": np.asarray(result.run_ids, dtype=str),
        "probe_index": result.probe_index,
        "closed": np.asarray(result.closed),
    }
    for objective, space in result.fused.items():
        arrays[f"mu_{objective}"] = space.mu.numpy()
        arrays[f"logvar_{objective}"] = space.logvar.numpy()
    path = Path(directory) / FUSION_FILE
    np.savez_compressed(path, **arrays)
    return path
