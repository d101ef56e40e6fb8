"""The probe set: fixed data points on which every run of a sweep is fingerprinted.

Murphy, Dillavou & Bassett (TMLR 2025, Sec. 3) compare channels through their posteriors
on one shared set of inputs. The probe set is chosen by ``fingerprint.seed`` and
``fingerprint.size`` only, never by the training seed, so every run of a sweep sees the
same points; its digest (sha256 of the probe images' float32 bytes) is stored with every
fingerprint and checked before runs are compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from infoprint.data.base import ImageDataset, gather, has_factors


@dataclass(frozen=True)
class ProbeSet:
    indices: np.ndarray  # [N] int64, dataset indices
    images: np.ndarray  # [N, C, H, W] float32
    factors: np.ndarray | None  # [N, K] int64, None without ground truth
    factor_names: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.indices)

    @property
    def digest(self) -> str:
        return probe_digest(self.images)


def probe_digest(images: np.ndarray) -> str:
    """sha256 hex digest of the probe images as C-ordered float32 bytes."""
    return hashlib.sha256(np.ascontiguousarray(images, dtype=np.float32).tobytes()).hexdigest()


def select_embedding_sample(dataset: ImageDataset, size: int, seed: int) -> ProbeSet:
    """A uniform sample of ``size`` points for whole-space Monte Carlo comparison.

    Drawn from its own random stream (``[seed, 1]``), independent of the probe set's.
    """
    if not 2 <= size <= len(dataset):
        raise ValueError(
            f"fingerprint.embedding_size must be in [2, {len(dataset)}] (or 0 for none), got {size}"
        )
    rng = np.random.default_rng([seed, 1])
    indices = np.sort(rng.choice(len(dataset), size=size, replace=False)).astype(np.int64)
    images, _ = gather(dataset, indices)
    return ProbeSet(indices=indices, images=images, factors=None, factor_names=())


def select_probe_set(dataset: ImageDataset, size: int, seed: int) -> ProbeSet:
    """Draw ``size`` distinct points of ``dataset`` with ``seed`` (sorted by index).

    A dataset may define ``probe_indices(size, seed)`` to choose its own points (e.g. the
    ring's evenly spaced angles); otherwise points are drawn uniformly without replacement.
    """
    if size < 2:
        raise ValueError(f"fingerprint.size must be >= 2, got {size}")
    if size > len(dataset):
        raise ValueError(
            f"fingerprint.size={size} exceeds the {len(dataset)} points of dataset "
            f"{getattr(dataset, 'name', type(dataset).__name__)!r}"
        )
    if hasattr(dataset, "probe_indices"):
        indices = np.asarray(dataset.probe_indices(size, seed), dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(len(dataset), size=size, replace=False)).astype(np.int64)
    images, factors = gather(dataset, indices)
    with_factors = has_factors(dataset)
    return ProbeSet(
        indices=indices,
        images=images,
        factors=factors if with_factors else None,
        factor_names=tuple(dataset.factor_names) if with_factors else (),
    )
