"""Input checks and sampling helpers shared by the disentanglement metrics.

Conventions used throughout :mod:`infoprint.metrics`:

- ``codes`` is a float array ``[N, d]``: one row per data point, one column per latent
  dimension (in infoprint, the posterior means of the encoder).
- ``factors`` is an integer array ``[N, K]``: the ground-truth factor values (class indices)
  of the same data points.
- A *representation function* maps images ``[n, C, H, W]`` to codes ``[n, d]``.
- A *dataset* follows :class:`infoprint.data.base.GroundTruthDataset` (only
  ``factor_names``, ``factor_sizes``, ``sample_factors`` and
  ``sample_observations_from_factors`` are used here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

RepresentationFunction = Callable[[np.ndarray], np.ndarray]
"""images ``[n, C, H, W]`` -> codes ``[n, d]`` (posterior means)."""


class FactorSampler(Protocol):
    """The part of the ground-truth dataset protocol that the metrics use."""

    @property
    def factor_names(self) -> tuple[str, ...]: ...

    @property
    def factor_sizes(self) -> tuple[int, ...]: ...

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray: ...


def as_codes(codes: Any, name: str = "codes") -> np.ndarray:
    """Return ``codes`` as a finite float64 array ``[N, d]`` or raise ``ValueError``."""
    arr = np.asarray(codes, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [N, d]; got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def as_factors(factors: Any, name: str = "factors") -> np.ndarray:
    """Return ``factors`` as an int64 array ``[N, K]`` (a 1-D array becomes ``[N, 1]``)."""
    arr = np.asarray(factors)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D integer array [N, K]; got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty; got shape {arr.shape}")
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(
                f"{name} must hold integer class indices (discrete factors); got dtype {arr.dtype}"
            )
    return arr.astype(np.int64, copy=False)


def check_codes_factors(codes: Any, factors: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a ``(codes [N, d], factors [N, K])`` pair with matching ``N``."""
    c = as_codes(codes)
    f = as_factors(factors)
    if c.shape[0] != f.shape[0]:
        raise ValueError(
            f"codes and factors must have the same number of rows; got {c.shape[0]} and "
            f"{f.shape[0]}"
        )
    return c, f


def factor_labels(names: Sequence[str] | None, num_factors: int) -> list[str]:
    """Names for per-factor result keys: the given names or ``factor_0 .. factor_{K-1}``."""
    if names is None or len(names) == 0:
        return [f"factor_{k}" for k in range(num_factors)]
    if len(names) != num_factors:
        raise ValueError(f"got {len(names)} factor names for {num_factors} factors")
    return [str(n) for n in names]


def relabel(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map arbitrary integer labels [N] to ``0..m-1``; return them and ``m``."""
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), int(uniq.size)


def split_train_test(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: Any | None,
    factors_test: Any | None,
    test_fraction: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(codes, factors, codes_test, factors_test)``.

    If no test set is given, the last ``round(test_fraction * N)`` rows of the (already
    random, i.i.d.) sample are held out; this is deterministic.
    """
    if (codes_test is None) != (factors_test is None):
        raise ValueError("give both codes_test and factors_test, or neither")
    if codes_test is not None:
        ct, ft = check_codes_factors(codes_test, factors_test)
        if ct.shape[1] != codes.shape[1] or ft.shape[1] != factors.shape[1]:
            raise ValueError(
                f"test arrays must have the same columns as the training arrays; got codes "
                f"{ct.shape} vs {codes.shape} and factors {ft.shape} vs {factors.shape}"
            )
        return codes, factors, ct, ft
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}")
    n = codes.shape[0]
    n_test = round(test_fraction * n)
    if n_test < 1 or n - n_test < 2:
        raise ValueError(f"{n} points are too few to hold out a test set")
    return codes[: n - n_test], factors[: n - n_test], codes[n - n_test :], factors[n - n_test :]


def represent_batched(
    represent: RepresentationFunction, images: np.ndarray, batch_size: int
) -> np.ndarray:
    """Apply ``represent`` to ``images`` in batches; check and stack the codes."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    out = []
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size]
        z = np.asarray(represent(batch), dtype=np.float64)
        if z.ndim != 2 or z.shape[0] != batch.shape[0]:
            raise ValueError(
                f"the representation function must map images [n, C, H, W] to codes [n, d]; "
                f"for n={batch.shape[0]} it returned shape {z.shape}"
            )
        out.append(z)
    codes = np.concatenate(out, axis=0)
    if not np.all(np.isfinite(codes)):
        raise ValueError("the representation function returned NaN or infinite codes")
    return codes


def sample_codes_and_factors(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    n: int,
    rng: np.random.Generator,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` i.i.d. points: factors, their observations, and their codes.

    Follows disentanglement_lib's ``generate_batch_factor_code``: factors are drawn with
    ``dataset.sample_factors`` (uniformly and independently), rendered with
    ``dataset.sample_observations_from_factors`` and encoded with ``represent`` in batches
    of ``batch_size``. Returns ``(codes [n, d] float64, factors [n, K] int64)``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    factors = as_factors(dataset.sample_factors(n, rng), "dataset.sample_factors(...)")
    if factors.shape[0] != n:
        raise ValueError(f"dataset.sample_factors({n}, rng) returned {factors.shape[0]} rows")
    codes = []
    for start in range(0, n, batch_size):
        f = factors[start : start + batch_size]
        images = np.asarray(dataset.sample_observations_from_factors(f, rng))
        codes.append(represent_batched(represent, images, batch_size))
    return np.concatenate(codes, axis=0), factors


@dataclass(frozen=True)
class FixedFactorDraws:
    """What an interventional metric (FactorVAE, BetaVAE) draws from, and how much.

    Each of ``num_train`` training and ``num_eval`` evaluation points is made of
    ``batch_size`` images (64 in the papers) sharing one fixed factor; ``represent`` sees at
    most ``represent_batch_size`` images per call, which for a dataset whose observations are
    a deterministic function of the factors does not change the result. The defaults are
    disentanglement_lib's.
    """

    dataset: FactorSampler
    represent: RepresentationFunction
    rng: np.random.Generator
    batch_size: int = 64
    num_train: int = 10_000
    num_eval: int = 5_000
    represent_batch_size: int = 1024


def choose_fixed_factors(dataset: FactorSampler, num: int, rng: np.random.Generator) -> np.ndarray:
    """``[num]`` indices of the factor to hold fixed, uniform over the factors with more than
    one value (fixing a constant factor carries no signal)."""
    candidates = np.flatnonzero(np.asarray(dataset.factor_sizes) > 1)
    if candidates.size == 0:
        raise ValueError("the dataset has no factor with more than one value")
    return candidates[rng.integers(0, candidates.size, size=num)]


def random_state_from(rng: np.random.Generator) -> int:
    """An integer seed for scikit-learn estimators, drawn from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))
