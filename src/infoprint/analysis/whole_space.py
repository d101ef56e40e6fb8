"""Run-by-run comparison of whole latent spaces (Murphy, Dillavou & Bassett 2025, Sec. 4.3).

Each run's full latent space is one channel; the Monte Carlo estimator of
:func:`infoprint.info.montecarlo_compare` gives its information and the NMI / VI between
every pair of runs, with standard errors. A run's stored embedding sample is used when
every run has one on the same points, otherwise the probe set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infoprint.fingerprint.record import Fingerprint
from infoprint.info import DEFAULT_MEMORY_BUDGET, montecarlo_compare
from infoprint.store.atomic import atomic_savez

WHOLE_SPACE_FILE = "whole_space.npz"


@dataclass
class WholeSpaceComparison:
    run_ids: list[str]
    sample: str  # "embedding" or "probe"
    n_points: int
    information: np.ndarray  # [R] bits
    information_se: np.ndarray
    nmi: np.ndarray  # [R, R]
    nmi_se: np.ndarray
    vi: np.ndarray  # [R, R] bits
    vi_se: np.ndarray
    n_samples: int


def _shared_embedding(fingerprints: Sequence[Fingerprint]) -> bool:
    first = fingerprints[0].embedding_index
    return first is not None and all(
        fp.embedding_index is not None and np.array_equal(fp.embedding_index, first)
        for fp in fingerprints
    )


def compare_whole_spaces(
    fingerprints: Sequence[Fingerprint],
    n_samples: int = 2000,
    seed: int = 0,
    device: str = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> WholeSpaceComparison:
    """Monte Carlo information, NMI and VI (with errors) between the runs' latent spaces."""
    embedding = _shared_embedding(fingerprints)
    spaces = [fp.whole_space() if embedding else (fp.mu, fp.logvar) for fp in fingerprints]
    mc = montecarlo_compare(
        spaces, n_samples=n_samples, seed=seed, device=device, memory_budget=memory_budget
    )
    return WholeSpaceComparison(
        run_ids=[fp.run_id for fp in fingerprints],
        sample="embedding" if embedding else "probe",
        n_points=len(spaces[0][0]),
        information=mc.information.numpy(),
        information_se=mc.information_se.numpy(),
        nmi=mc.nmi.numpy(),
        nmi_se=mc.nmi_se.numpy(),
        vi=mc.vi.numpy(),
        vi_se=mc.vi_se.numpy(),
        n_samples=n_samples,
    )


def write_whole_space(directory: Path, result: WholeSpaceComparison) -> Path:
    path = directory / WHOLE_SPACE_FILE
    arrays = {
        "run_ids": np.asarray(result.run_ids, dtype=str),
        "information": result.information,
        "information_se": result.information_se,
        "nmi": result.nmi,
        "nmi_se": result.nmi_se,
        "vi": result.vi,
        "vi_se": result.vi_se,
    }
    return atomic_savez(path, arrays)
