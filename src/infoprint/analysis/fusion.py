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

from infoprint.analysis import checks
from infoprint.analysis.ensemble import check_compatible
from infoprint.analysis.outputs import Table
from infoprint.errors import ConfigError
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
from infoprint.store.atomic import atomic_savez

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
            raise ConfigError(
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
        raise ConfigError(f"{key}.sizes must be a non-empty list of sizes >= 1; got {sizes}")
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
    objectives: Sequence[str] = FUSION_OBJECTIVES.names()
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
            raise ConfigError(
                f"{key}.objectives must be a non-empty subset of {FUSION_OBJECTIVES.names()}; got "
                f"{list(self.objectives)}"
            )
        checks.choice(f"{key}.optimizer", self.optimizer, FUSION_OPTIMIZERS)
        checks.choice(f"{key}.init", self.init, FUSION_INITS)
        for name, low in (("repeats", 1), ("dim", 1), ("steps", 0), ("seed", 0)):
            checks.integer(f"{key}.{name}", getattr(self, name), low)
        checks.positive(f"{key}.lr", self.lr)
        if self.init_scale is not None and not (
            isinstance(self.init_scale, int | float) and self.init_scale > 0
        ):
            raise ConfigError(
                f"{key}.init_scale must be null (automatic) or > 0; got {self.init_scale!r}"
            )
        if self.closed is not None and not isinstance(self.closed, bool):
            raise ConfigError(
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


def draw_subsets(sizes: np.ndarray, repeats: int, n_runs: int, seed: int) -> np.ndarray:
    """``[S, R, max size]`` sorted run indices of each sub-ensemble, −1 padded (drawn with
    ``seed``, size by size, repeat by repeat)."""
    rng = np.random.default_rng(seed)
    subsets = np.full((len(sizes), repeats, sizes.max()), -1, dtype=np.int64)
    for s, size in enumerate(sizes):
        for r in range(repeats):
            subsets[s, r, :size] = np.sort(rng.choice(n_runs, size=int(size), replace=False))
    return subsets


@dataclass
class _Scores:
    """Per objective, size and repeat: continuity, similarity and I(U); the kept embeddings."""

    continuity: np.ndarray
    similarity: np.ndarray
    information: np.ndarray
    fused: dict[str, FusedSpace] = field(default_factory=dict)

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> _Scores:
        return cls(np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan))

    def copy_repeat(self, s: int, r: int, earlier: int) -> None:
        for table in (self.continuity, self.similarity, self.information):
            table[:, s, r] = table[:, s, earlier]


def _fuse_subsets(
    mu: np.ndarray,
    logvar: np.ndarray,
    members: list[list[np.ndarray]],
    subsets: np.ndarray,
    objectives: tuple[str, ...],
    options: FusionOptions,
    closed: bool,
    **compute: Any,
) -> _Scores:
    """Fuse ``members[s][r]`` (channel indices) for every objective; see :func:`fuse_ensemble`."""
    n_sizes, repeats = subsets.shape[:2]
    scores = _Scores.empty((len(objectives), n_sizes, repeats))
    for s in range(n_sizes):
        for r in range(repeats):
            chosen = members[s][r]
            if not len(chosen):
                continue
            drawn_before = np.flatnonzero((subsets[s, :r] == subsets[s, r]).all(-1))
            if options.init == "spectral" and len(drawn_before):
                # The same subset from the same deterministic start (always so for the whole
                # sweep): the same result, not fused again.
                scores.copy_repeat(s, r, int(drawn_before[0]))
                continue
            target = FusionTarget.from_channels(
                GaussianChannels(mu[:, chosen], logvar[:, chosen]), **compute
            )
            for o, objective in enumerate(objectives):
                seed = options.seed + s * repeats + r
                space = fuse(target, objective=objective, seed=seed, **options.fuse_options())
                scores.continuity[o, s, r] = continuity(space.mu, space.logvar, closed=closed)
                scores.similarity[o, s, r] = space.value
                scores.information[o, s, r] = space.information
                if s == n_sizes - 1 and r == 0:
                    scores.fused[objective] = space
    return scores


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
    sizes = ensemble_sizes(options.sizes, len(fingerprints))
    closed = _is_closed(fingerprints, options.closed)
    mu, logvar, run_of = _channels(fingerprints)
    bits = information(GaussianChannels(mu, logvar), device=device, dtype=dtype).numpy()
    kept = bits >= threshold
    subsets = draw_subsets(sizes, options.repeats, len(fingerprints), options.seed)
    members = [
        [np.flatnonzero(kept & np.isin(run_of, runs[runs >= 0])) for runs in by_size]
        for by_size in subsets
    ]
    objectives = tuple(options.objectives)
    scores = _fuse_subsets(
        mu, logvar, members, subsets, objectives, options, closed, device=device, dtype=dtype
    )
    first = fingerprints[0]
    return FusionResult(
        objectives=objectives,
        sizes=sizes,
        subsets=subsets,
        n_members=np.array([[len(m) for m in by_size] for by_size in members], dtype=np.int64),
        continuity=scores.continuity,
        similarity=scores.similarity,
        information=scores.information,
        fused=scores.fused,
        member_continuity=np.array(
            [continuity(mu[:, [c]], logvar[:, [c]], closed=closed) for c in np.flatnonzero(kept)]
        ),
        run_ids=[fp.run_id for fp in fingerprints],
        probe_index=first.probe_index,
        factors=first.factors,
        factor_names=first.factor_names,
        closed=closed,
        dim=options.dim,
    )


def fuse_channels(
    fingerprints: Sequence[Fingerprint], members: Sequence[tuple[str, int]], **options: Any
) -> FusedSpace:
    """Fuse chosen channels ``[(run_id, channel), ...]`` of a sweep, e.g. one hotspot's.

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 4.4; ``options`` are the keyword
    arguments of :func:`infoprint.info.fuse` (objective, dim, steps, lr, optimizer, init,
    init_scale, seed, device, dtype), with its defaults. A hotspot's members are
    ``(run_id, job, channel)``: pass ``[(run, channel) for run, _, channel in
    hotspot.members]``.
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
    return fuse(GaussianChannels(mu, logvar), **options)


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


def fusion_table(result: FusionResult) -> Table:
    """Every fused sub-ensemble: objective, size, repeat, members and scores."""
    columns = FUSION_COLUMNS
    return Table(
        "fusion",
        "fused sub-ensembles",
        columns,
        fusion_rows(result),
        caption=(
            "One row per fused sub-ensemble (paper Sec. 4.4): size = runs drawn, n members = "
            "their channels above the information threshold, continuity = largest "
            "Bhattacharyya distance between neighbouring probe points over its 90th "
            "percentile (1 is a smooth curve; a cut makes it large), similarity = the "
            "objective's final mean over the members, information bits = I(U) of the fused "
            "embedding. The arrays are in fusion.npz."
        ),
    )


def continuity_table(result: FusionResult) -> Table:
    """Median continuity over repeats, objective × ensemble size (lower is better)."""
    median = result.median_continuity()
    sizes = [str(int(s)) for s in result.sizes]
    rows: list[list[object]] = [
        [objective, *(float(v) for v in median[o])] for o, objective in enumerate(result.objectives)
    ]
    alone = result.member_continuity
    if len(alone):
        rows.append(["one run alone", float(np.median(alone)), *([None] * (len(sizes) - 1))])
    return Table(
        name="fusion_continuity",
        title=f"fusion continuity (median of {result.repeats} repeats; lower is better)",
        columns=["objective", *sizes],
        rows=rows,
        caption=(
            "Median continuity of the fused embedding over the repeats, per objective "
            "(rows) and number of runs fused (columns); lower is more continuous, 1 is "
            "ideal. 'one run alone' is the median over every kept channel on its own "
            f"({len(alone)} channels): fusing helps where a row falls below it."
        ),
        terminal=["objective", *sizes],
    )


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
    return atomic_savez(path, arrays)
