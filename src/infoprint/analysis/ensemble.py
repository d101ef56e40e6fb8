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

from infoprint.fingerprint.record import Fingerprint
from infoprint.info import (
    DEFAULT_MEMORY_BUDGET,
    DiscreteChannels,
    GaussianChannels,
    compare,
    information,
)


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
) -> EnsembleStructure:
    """Compare every channel of every run (above ``threshold`` bits) with every other."""
    check_compatible(fingerprints)
    opts = {"device": device, "dtype": dtype, "memory_budget": memory_budget}
    mu = np.concatenate([fp.mu for fp in fingerprints], axis=1)
    logvar = np.concatenate([fp.logvar for fp in fingerprints], axis=1)
    run_ids = np.concatenate([[fp.run_id] * fp.n_channels for fp in fingerprints])
    jobs = np.concatenate([[_job_num(fp)] * fp.n_channels for fp in fingerprints])
    channels = np.concatenate([np.arange(fp.n_channels) for fp in fingerprints])
    bits = information(GaussianChannels(mu, logvar), **opts).numpy()

    width = max(fp.n_channels for fp in fingerprints)
    all_information = np.full((len(fingerprints), width), np.nan)
    offsets = np.cumsum([0] + [fp.n_channels for fp in fingerprints])
    for r, fp in enumerate(fingerprints):
        all_information[r, : fp.n_channels] = bits[offsets[r] : offsets[r + 1]]

    keep = np.flatnonzero(bits >= threshold)
    kept = GaussianChannels(mu[:, keep], logvar[:, keep])
    if len(keep):
        pairs = compare(kept, **opts)
        nmi, vi = pairs.nmi.numpy(), pairs.vi.numpy()
    else:
        nmi = vi = np.zeros((0, 0))
    factors = fingerprints[0].factors
    factor_nmi = factor_information = None
    if factors is not None and factors.shape[1] and len(keep):
        truth = DiscreteChannels(factors)
        with_factors = compare(kept, truth, **opts)
        factor_nmi = with_factors.nmi.numpy()
        factor_information = with_factors.information_b.numpy()
    return EnsembleStructure(
        run_ids=run_ids[keep],
        jobs=jobs[keep],
        channels=channels[keep],
        information=bits[keep],
        nmi=nmi,
        vi=vi,
        factor_names=fingerprints[0].factor_names if factor_nmi is not None else (),
        factor_nmi=factor_nmi,
        factor_information=factor_information,
        all_information=all_information,
        n_runs=len(fingerprints),
        threshold=threshold,
    )
