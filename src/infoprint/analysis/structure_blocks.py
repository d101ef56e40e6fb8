"""An ensemble's information and I(U;V) in run-pair blocks, from the cache or computed.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3-4. Two passes of
:func:`~infoprint.info.blocks.run_pair_information`: the information of every channel of
every run (and of the factors), which decides the kept channels (``threshold`` bits), then
I(U;V) between the kept channels of every pair of runs (a run with itself included) and
between each run and the factors. Each block depends on its own sets only, so blocks found
in the analysis cache (:class:`~infoprint.analysis.cache.BlockCache`) are taken as they
are and only the missing ones are computed: an incremental analysis equals a full one bit
for bit. A pair of runs is always computed in one orientation (the smaller set key on the
left) and transposed where needed, so the order of the runs does not change any bit.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from infoprint.analysis.cache import BlockCache, PairKey, cache_scope, set_key
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import DiscreteChannels, GaussianChannels
from infoprint.info.blocks import run_pair_information, run_pair_working
from infoprint.info.engine import default_workers
from infoprint.info.pairwise import pairwise_information

log = logging.getLogger(__name__)


@dataclass
class EnsembleBlocks:
    """The blocks assembled over the kept channels (M) and the factors (K), float64 bits."""

    all_information: list[np.ndarray]  # per run, [width] I(U) of every channel
    kept: list[np.ndarray]  # per run, indices of its kept channels
    mutual: np.ndarray  # [M, M] I(U;V), symmetric; its diagonal is I(U;U')
    factor_mutual: np.ndarray | None  # [M, K]
    factor_information: np.ndarray | None  # [K] H(F)
    factor_shared: np.ndarray | None  # [K] I(F;F')


@dataclass
class _Sets:
    """The channel sets of one ensemble and their keys: runs first, the factors last."""

    keys: list[bytes]
    full: list[object]  # every channel of each set
    fingerprints: Sequence[Fingerprint]
    has_factors: bool

    def kept_set(self, i: int, kept: np.ndarray) -> object:
        if i == len(self.fingerprints):
            return self.full[i]
        fp = self.fingerprints[i]
        return GaussianChannels(fp.mu[:, kept], fp.logvar[:, kept])


def ensemble_blocks(
    fingerprints: Sequence[Fingerprint],
    threshold: float,
    device: torch.device,
    dtype: torch.dtype,
    memory_budget: int,
    cache: BlockCache | None = None,
) -> EnsembleBlocks:
    """The ensemble's blocks (module docstring); ``cache`` supplies and keeps them."""
    sets = _sets(fingerprints)
    first = fingerprints[0]
    scope = cache_scope(
        "structure", dtype, device, probe=first.probe_digest, n_points=first.n_points,
        threshold=float(threshold).hex(),
    )  # fmt: skip
    opts = {"device": device, "dtype": dtype, "memory_budget": memory_budget}
    information = _information(sets, scope, cache, opts)
    kept = [np.flatnonzero(information[k] >= threshold) for k in sets.keys[: len(fingerprints)]]
    if sets.has_factors:
        kept.append(np.arange(len(information[sets.keys[-1]])))
    if _fits(sets, kept, opts):
        mutual = _mutual(sets, kept, scope, cache, opts)
        if cache is not None:
            cache.keep(scope, information, mutual)
    else:
        if cache is not None:
            cache.keep(scope, information, {})
        log.warning(
            "the run-pair pass over %d runs does not fit memory_budget=%d bytes: NMI and VI "
            "come from the tiled pass, which no later analysis can reuse (raise "
            "memory_budget_mb to cache them)",
            len(fingerprints),
            memory_budget,
        )
        mutual = _tiled_mutual(sets, kept, opts)
    return _assemble(sets, kept, information, mutual)


def _sets(fingerprints: Sequence[Fingerprint]) -> _Sets:
    keys = [set_key(fp.mu, fp.logvar) for fp in fingerprints]
    full: list[object] = [GaussianChannels(fp.mu, fp.logvar) for fp in fingerprints]
    factors = fingerprints[0].factors
    has_factors = factors is not None and factors.shape[1] > 0
    if has_factors:
        keys.append(set_key(factors))
        full.append(DiscreteChannels(factors))
    return _Sets(keys, full, fingerprints, has_factors)


def _information(
    sets: _Sets, scope: str, cache: BlockCache | None, opts: dict
) -> dict[bytes, np.ndarray]:
    """I(U) of every channel of every set: the cache's, else one pass over the others."""
    found: dict[bytes, np.ndarray] = {}
    missing = []
    for i, key in enumerate(sets.keys):
        hit = None if cache is None else cache.information(scope, key, sets.full[i].n_channels)
        if hit is None:
            missing.append(i)
        else:
            found[key] = hit
    if missing:
        bits = run_pair_information([sets.full[i] for i in missing], [], **opts)
        for i, values in zip(missing, bits.information, strict=True):
            found[sets.keys[i]] = values.numpy()
    return found


def _pairs(sets: _Sets, kept: list[np.ndarray]) -> list[tuple[int, int]]:
    """The pairs of sets whose blocks the structure needs, each in its one orientation:
    runs with kept channels with each other (and themselves), then with the factors."""
    runs = [i for i in range(len(sets.fingerprints)) if len(kept[i])]
    pairs = []
    for x, i in enumerate(runs):
        for j in runs[x:]:
            pairs.append((i, j) if sets.keys[i] <= sets.keys[j] else (j, i))
    if sets.has_factors and runs:
        f = len(sets.keys) - 1
        pairs += [(i, f) for i in runs] + [(f, f)]
    return pairs


def _mutual(
    sets: _Sets, kept: list[np.ndarray], scope: str, cache: BlockCache | None, opts: dict
) -> dict[PairKey, np.ndarray]:
    """I(U;V) of every pair's kept channels: the cache's, else one pass over the others."""
    found: dict[PairKey, np.ndarray] = {}
    missing = []
    for a, b in _pairs(sets, kept):
        key, shape = (sets.keys[a], sets.keys[b]), (len(kept[a]), len(kept[b]))
        hit = None if cache is None else cache.mutual(scope, key, shape)
        if hit is None:
            missing.append((a, b))
        else:
            found[key] = hit
    if missing:
        involved = sorted({i for pair in missing for i in pair})
        at = {i: x for x, i in enumerate(involved)}
        bits = run_pair_information(
            [sets.kept_set(i, kept[i]) for i in involved],
            [(at[a], at[b]) for a, b in missing],
            **opts,
        )
        for a, b in missing:
            found[(sets.keys[a], sets.keys[b])] = bits.mutual[(at[a], at[b])].numpy()
    return found


def _fits(sets: _Sets, kept: list[np.ndarray], opts: dict) -> bool:
    """Whether the pair pass over every kept set fits the memory budget."""
    dev = opts["device"]
    workers = default_workers(dev, None)
    widths = [len(k) for k in kept if len(k)]
    itemsize = torch.empty((), dtype=opts["dtype"]).element_size()
    pairs = len(_pairs(sets, kept))
    need = run_pair_working(sets.fingerprints[0].n_points, widths, widths, pairs, itemsize)
    return need * workers <= opts["memory_budget"]


def _tiled_mutual(sets: _Sets, kept: list[np.ndarray], opts: dict) -> dict[PairKey, np.ndarray]:
    """The blocks of :func:`_mutual` from the tiled pairwise pass over all kept channels at
    once (:func:`~infoprint.info.pairwise.pairwise_information`): for ensembles whose pair
    pass does not fit the memory budget. Its bits depend on the whole ensemble, so these
    blocks are not cached."""
    n_runs = len(sets.fingerprints)
    runs = [i for i in range(n_runs) if len(kept[i])]
    ends = np.cumsum([0, *(len(kept[i]) for i in runs)])
    offsets = dict(zip(runs, itertools.pairwise(ends), strict=True))
    fps = sets.fingerprints
    together = GaussianChannels(
        np.concatenate([fps[i].mu[:, kept[i]] for i in runs], axis=1),
        np.concatenate([fps[i].logvar[:, kept[i]] for i in runs], axis=1),
    )
    within = pairwise_information(together, None, **opts).mutual.double().numpy()
    with_factors = None
    if sets.has_factors:
        with_factors = pairwise_information(together, sets.full[-1], **opts)
    found: dict[PairKey, np.ndarray] = {}
    for a, b in _pairs(sets, kept):
        key = (sets.keys[a], sets.keys[b])
        if b == n_runs and a == n_runs:
            found[key] = np.diag(with_factors.shared_b.double().numpy())
        elif b == n_runs:
            found[key] = with_factors.mutual.double().numpy()[slice(*offsets[a])]
        else:
            found[key] = within[slice(*offsets[a]), slice(*offsets[b])]
    return found


def _assemble(
    sets: _Sets,
    kept: list[np.ndarray],
    information: dict[bytes, np.ndarray],
    mutual: dict[PairKey, np.ndarray],
) -> EnsembleBlocks:
    """The blocks laid out over the kept channels in run order; diagonal blocks mirrored
    from their upper triangle."""
    n_runs = len(sets.fingerprints)
    offsets = np.cumsum([0, *(len(k) for k in kept[:n_runs])])
    matrix = np.zeros((offsets[-1], offsets[-1]))
    factor = None
    if sets.has_factors:
        factor = np.zeros((offsets[-1], len(kept[-1])))
    runs = [i for i in range(n_runs) if len(kept[i])]
    for x, i in enumerate(runs):
        ri = slice(offsets[i], offsets[i + 1])
        for j in runs[x:]:
            rj = slice(offsets[j], offsets[j + 1])
            block = mutual.get((sets.keys[i], sets.keys[j]))
            block = mutual[(sets.keys[j], sets.keys[i])].T if block is None else block
            if i == j:
                block = np.triu(block) + np.triu(block, 1).T
            matrix[ri, rj], matrix[rj, ri] = block, block.T
        if factor is not None:
            factor[ri] = mutual[(sets.keys[i], sets.keys[-1])]
    factor_info = factor_shared = None
    if factor is not None and runs:
        factor_info = information[sets.keys[-1]]
        factor_shared = np.diagonal(mutual[(sets.keys[-1], sets.keys[-1])]).copy()
    all_information = [information[k] for k in sets.keys[:n_runs]]
    return EnsembleBlocks(
        all_information, kept[:n_runs], matrix, factor, factor_info, factor_shared
    )
