"""Normalised Hoyer sparsity of codes, as Mathieu et al. (2019) compute it.

Procedure (``hoyer_sparsity``):

1. Divide each latent dimension by its standard deviation over the data (``ddof=1``, as
   ``torch.Tensor.std``), **without centring**, so that every dimension has unit scale and
   sparsity is not won by merely shrinking some dimensions.
2. For each point ``z`` in ``d`` dimensions:
   ``Hoyer(z) = (sqrt(d) - ||z||_1 / ||z||_2) / (sqrt(d) - 1)``: 1 for a one-hot vector, 0
   for a vector with all entries of equal magnitude.
3. Average over points.

Dimensions with zero standard deviation are left unscaled (scale 1), and points whose
scaled code is exactly zero are skipped (the ratio is undefined). Needs ``d >= 2``.

Reference: E. Mathieu, T. Rainforth, N. Siddharth, Y. W. Teh. "Disentangling
disentanglement in variational autoencoders." ICML 2019 (Sec. 5 and their code's
``compute_sparsity(zs, norm=True)``); P. O. Hoyer, "Non-negative matrix factorization
with sparseness constraints", JMLR 2004.
"""

from __future__ import annotations

import numpy as np

from infoprint.metrics.sampling import as_codes

__all__ = ["hoyer_per_point", "hoyer_sparsity"]


def hoyer_per_point(codes: np.ndarray, *, normalise: bool = True) -> np.ndarray:
    """Per-point normalised Hoyer sparsity ``[N]`` (NaN for an all-zero code)."""
    z = as_codes(codes)
    d = z.shape[1]
    if d < 2:
        raise ValueError("Hoyer sparsity needs at least two latent dimensions")
    if normalise:
        std = z.std(axis=0, ddof=1) if z.shape[0] > 1 else np.ones(d)
        z = z / np.where(std > 0, std, 1.0)
    l1 = np.abs(z).sum(axis=1)
    l2 = np.sqrt(np.square(z).sum(axis=1))
    out = np.full(z.shape[0], np.nan)
    ok = l2 > 0
    out[ok] = (np.sqrt(d) - l1[ok] / l2[ok]) / (np.sqrt(d) - 1.0)
    return out


def hoyer_sparsity(codes: np.ndarray, *, normalise: bool = True) -> float:
    """Mean normalised Hoyer sparsity over points (module docstring)."""
    values = hoyer_per_point(codes, normalise=normalise)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")
