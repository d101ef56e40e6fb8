"""The channel structure of an ensemble: information, NMI, VI and factor NMI per channel.

Murphy, Dillavou & Bassett (TMLR 2025), Sec. 3-4: every latent channel of every run is a
channel observed on the shared probe set; channels below an information threshold are
dropped (they carry nothing to compare), the rest are compared pairwise (NMI, VI) and
against the ground-truth factors, which enter as discrete channels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from infoprint.analysis.cache import BlockCache
from infoprint.analysis.structure_blocks import ensemble_blocks
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import DEFAULT_MEMORY_BUDGET, nmi_from_mutual, resolve_device


class IncompatibleFingerprintsError(ValueError):
    """Fingerprints taken on different probe sets cannot be compared."""


@dataclass
class EnsembleStructure:
    """Channel-level comparison of an ensemble; rows are the kept channels."""

    run_ids: np.ndarray  # [M] str, the run of each kept channel
    jobs: np.ndarray  # [M] int, the job number of that run
    channels: np.ndarray  # [M] int, the channel index within its run
    information: np.ndarray  # [M] bits
    nmi: np.ndarray  # [M, M]
    vi: np.ndarray  # [M, M] bits
    factor_names: tuple[str, ...]
    factor_nmi: np.ndarray | None  # [M, K]
    factor_information: np.ndarray | None  # [K] bits: entropy of each factor on the probe set
    all_information: np.ndarray  # [R, d_max] bits of every channel (NaN past a run's width)
    n_runs: int
    threshold: float

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def labels(self) -> list[str]:
        return [f"{j}:{c}" for j, c in zip(self.jobs, self.channels, strict=True)]


def check_compatible(fingerprints: Sequence[Fingerprint]) -> None:
    """All fingerprints must share the probe set (digest), its points and factor names."""
    if not fingerprints:
        raise IncompatibleFingerprintsError("no fingerprints to analyse")
    by_digest: dict[str, list[str]] = defaultdict(list)
    for fp in fingerprints:
        by_digest[fp.probe_digest].append(str(fp.path or fp.run_id))
    if len(by_digest) > 1:
        groups = "; ".join(
            f"digest {digest[:12]}…: {len(runs)} runs (e.g. {runs[0]})"
            for digest, runs in by_digest.items()
        )
        raise IncompatibleFingerprintsError(
            f"fingerprints were taken on different probe sets and cannot be compared: "
            f"{groups}. Analyse each group separately, or re-fingerprint with the same "
            f"fingerprint.size/fingerprint.seed and dataset."
        )
    first = fingerprints[0]
    for fp in fingerprints[1:]:
        if not np.array_equal(fp.probe_index, first.probe_index):
            raise IncompatibleFingerprintsError(
                f"{fp.path}: probe_index differs from {first.path} despite equal digests"
            )
        if fp.factor_names != first.factor_names:
            raise IncompatibleFingerprintsError(
                f"{fp.path}: factor names {fp.factor_names} differ from "
                f"{first.factor_names} in {first.path}"
            )


def _job_num(fp: Fingerprint) -> int:
    """The run's job number from run.json, -1 when it has none (an integer or nothing)."""
    job = fp.meta.get("job_num")
    return job if isinstance(job, int) and not isinstance(job, bool) else -1


def ensemble_structure(
    fingerprints: Sequence[Fingerprint],
    threshold: float = 0.01,
    device: str = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    cache: BlockCache | None = None,
) -> EnsembleStructure:
    """Compare every channel of every run (above ``threshold`` bits) with every other.

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 3: NMI = I(U;V) / sqrt(I(U;U') I(V;V')),
    VI = I(U;U') + I(V;V') − 2 I(U;V), from run-pair blocks
    (:func:`~infoprint.analysis.structure_blocks.ensemble_blocks`); with ``cache``, blocks
    of earlier analyses are reused and only new ones computed, to the same bits.
    """
    check_compatible(fingerprints)
    blocks = ensemble_blocks(
        fingerprints, threshold, resolve_device(device), dtype, memory_budget, cache
    )
    kept = blocks.kept
    run_ids = np.concatenate(
        [[fp.run_id] * len(k) for fp, k in zip(fingerprints, kept, strict=True)]
    )
    jobs = np.concatenate(
        [[_job_num(fp)] * len(k) for fp, k in zip(fingerprints, kept, strict=True)]
    )
    width = max(fp.n_channels for fp in fingerprints)
    all_information = np.full((len(fingerprints), width), np.nan)
    for r, bits in enumerate(blocks.all_information):
        all_information[r, : len(bits)] = bits
    mutual = torch.from_numpy(blocks.mutual)
    shared = torch.diagonal(mutual)
    nmi = nmi_from_mutual(mutual, shared, shared).numpy()
    vi = (shared[:, None] + shared[None, :] - 2.0 * mutual).numpy()
    factor_nmi = None
    if blocks.factor_mutual is not None and blocks.factor_shared is not None:
        with_factors = torch.from_numpy(blocks.factor_mutual)
        factor_nmi = nmi_from_mutual(with_factors, shared, torch.from_numpy(blocks.factor_shared))
    return EnsembleStructure(
        run_ids=run_ids.astype(str),
        jobs=jobs.astype(int),
        channels=np.concatenate([np.asarray(k, dtype=int) for k in kept]),
        information=np.concatenate(
            [bits[k] for bits, k in zip(blocks.all_information, kept, strict=True)]
        ),
        nmi=nmi,
        vi=vi,
        factor_names=fingerprints[0].factor_names if factor_nmi is not None else (),
        factor_nmi=None if factor_nmi is None else factor_nmi.numpy(),
        factor_information=blocks.factor_information,
        all_information=all_information,
        n_runs=len(fingerprints),
        threshold=threshold,
    )
