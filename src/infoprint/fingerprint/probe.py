"""The probe set: fixed data points on which every run of a sweep is fingerprinted.

Murphy, Dillavou & Bassett (TMLR 2025, Sec. 3) compare channels through their posteriors
on one shared set of inputs. The probe set is chosen by ``fingerprint.seed`` and
``fingerprint.size`` only, never by the training seed, so every run of a sweep sees the
same points; its digest (sha256 of the probe images' float32 bytes) is stored with every
fingerprint and checked before runs are compared.

Any map-style dataset can give a probe set (``docs/architecture.md`` §4): infoprint's own
datasets (the ground-truth contract, ``infoprint.data.base``), or anyone's whose items are
``x``, ``(x,)`` or ``(x, factors, ...)`` with ``x`` a tensor or array. Factors are optional:
the items' second element when it is discrete (integer-valued), or a ``factors`` array
[len, K] on the dataset, which wins; names from the dataset's ``factor_names`` when it
has as many, else ``factor_0``, ``factor_1``, ...
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infoprint.data.base import gather, has_factors

log = logging.getLogger(__name__)


class ProbeSetError(ValueError):
    """A dataset that cannot give a probe set; the message says what it must provide."""


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


def dataset_name(dataset: Any) -> str:
    """The dataset's ``name`` attribute, else its class name (a wrapper's inner dataset's)."""
    name = getattr(dataset, "name", None)
    if isinstance(name, str) and name:
        return name
    inner = getattr(dataset, "dataset", None)  # torch.utils.data.Subset and kin
    return dataset_name(inner) if inner is not None else type(dataset).__name__


def dataset_size(dataset: Any) -> int:
    """``len(dataset)``, or a ProbeSetError for a dataset without one (an iterable)."""
    try:
        return len(dataset)
    except TypeError:
        raise ProbeSetError(
            f"the probe set needs a map-style dataset (len and indexing); "
            f"{type(dataset).__name__} has no len()"
        ) from None


def select_embedding_sample(dataset: Any, size: int, seed: int) -> ProbeSet:
    """A uniform sample of ``size`` points for whole-space Monte Carlo comparison.

    Drawn from its own random stream (``[seed, 1]``), independent of the probe set's.
    """
    n = dataset_size(dataset)
    if not 2 <= size <= n:
        raise ValueError(
            f"fingerprint.embedding_size must be in [2, {n}] (or 0 for none), got {size}"
        )
    rng = np.random.default_rng([seed, 1])
    indices = np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)
    images, _, _ = probe_items(dataset, indices)
    return ProbeSet(indices=indices, images=images, factors=None, factor_names=())


def select_probe_set(dataset: Any, size: int, seed: int) -> ProbeSet:
    """Draw ``size`` distinct points of ``dataset`` with ``seed`` (sorted by index).

    A dataset may define ``probe_indices(size, seed)`` to choose its own points (e.g. the
    ring's evenly spaced angles); otherwise points are drawn uniformly without replacement.
    """
    if size < 2:
        raise ValueError(f"fingerprint.size must be >= 2, got {size}")
    n = dataset_size(dataset)
    if size > n:
        raise ValueError(
            f"fingerprint.size={size} exceeds the {n} points of dataset {dataset_name(dataset)!r}"
        )
    if hasattr(dataset, "probe_indices"):
        indices = np.asarray(dataset.probe_indices(size, seed), dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)
    images, factors, names = probe_items(dataset, indices)
    return ProbeSet(indices=indices, images=images, factors=factors, factor_names=names)


def probe_items(
    dataset: Any, indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """Observations [n, ...] float32, factors [n, K] int64 (None without) and factor names
    of ``dataset`` at ``indices`` (see the module docstring for what a dataset may be)."""
    if callable(getattr(dataset, "images", None)) and callable(getattr(dataset, "factors", None)):
        images, factors = gather(dataset, indices)  # infoprint's datasets, vectorised
        if has_factors(dataset):
            return images, factors, tuple(dataset.factor_names)
        return images, None, ()
    items = [_split_item(dataset[int(i)], type(dataset).__name__) for i in indices]
    try:
        images = np.stack([x for x, _ in items]).astype(np.float32)
    except ValueError as err:
        raise ProbeSetError(f"the probe items of {dataset_name(dataset)!r}: {err}") from None
    factors = _array_factors(dataset, indices)
    if factors is None and all(f is not None for _, f in items):
        factors = _discrete([f for _, f in items], dataset_name(dataset))
    if factors is None:
        return images, None, ()
    return images, factors, _factor_names(dataset, factors.shape[1])


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _split_item(item: Any, kind: str) -> tuple[np.ndarray, Any]:
    """``x`` and the factor candidate (None) of one dataset item."""
    if isinstance(item, tuple | list):
        if not item:
            raise ProbeSetError(f"{kind} returned an empty item; expected x or (x, factors)")
        x, rest = item[0], item[1:]
        factors = rest[0] if rest else None
    else:
        x, factors = item, None
    if not isinstance(x, torch.Tensor | np.ndarray):
        raise ProbeSetError(
            f"{kind} items must be x, (x,) or (x, factors) with x a tensor or array; got "
            f"{type(x).__name__} (add a transform that returns tensors, e.g. ToTensor)"
        )
    return _as_array(x), factors


def _array_factors(dataset: Any, indices: np.ndarray) -> np.ndarray | None:
    """The dataset's own ``factors`` array [len, K] at ``indices``, if it has one."""
    table = getattr(dataset, "factors", None)
    if table is None or callable(table):
        return None
    table = _as_array(table)
    if table.ndim == 0 or len(table) != dataset_size(dataset):
        raise ProbeSetError(
            f"{dataset_name(dataset)}.factors must be an array with one row per item "
            f"({dataset_size(dataset)}), got shape {table.shape}"
        )
    return _discrete(list(table[indices]), f"{dataset_name(dataset)}.factors")


def _discrete(values: Sequence[Any], where: str) -> np.ndarray | None:
    """Integer factors [n, K], or None (logged) when the values are not discrete."""
    try:
        array = np.stack([_as_array(v) for v in values]).reshape(len(values), -1)
    except (TypeError, ValueError):
        log.warning("probe set: %s holds no numeric factors; fingerprints carry none", where)
        return None
    if array.dtype == bool:
        return array.astype(np.int64)
    integral = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating)
        and np.isfinite(array).all()
        and (array == np.round(array)).all()
    )
    if not integral:
        log.warning("probe set: %s is not discrete (integer-valued); no factors", where)
        return None
    return array.astype(np.int64)


def _factor_names(dataset: Any, k: int) -> tuple[str, ...]:
    names = getattr(dataset, "factor_names", None)
    if isinstance(names, Sequence) and not isinstance(names, str) and len(names) == k:
        return tuple(str(n) for n in names)
    return tuple(f"factor_{i}" for i in range(k))
