"""Unsupervised disentanglement ranking (UDR): consistency of latent channels across runs.

Duan, Matthey, Saraiva, Watters, Burgess, Lerchner & Higgins, "Unsupervised model selection
for variational disentangled representation learning", ICLR 2020 (arXiv 1905.12614), Sec. 3,
as implemented in google-research/disentanglement_lib
(``disentanglement_lib/evaluation/udr/metrics/udr.py``, ``compute_udr_sklearn``):

1. Standardise each run's codes (means) per dimension; drop the dimensions whose average
   KL divergence to the prior is at or below ``kl_threshold`` (0.01), the inactive ones.
2. Similarity matrix R between the dimensions of runs a and b: either the absolute
   Spearman correlations ``R_ij = |ρ(z_a,i, z_b,j)|`` or the absolute coefficients of a
   Lasso regression (α = 0.1) predicting run b's codes from run a's, ``R_ij = |W_ji|``.
3. Relative strength (disentanglement_lib's ``relative_strength_disentanglement``):
   ``UDR_ab = ½ [mean_j max_i R_ij² / Σ_i R_ij + mean_i max_j R_ij² / Σ_j R_ij]`` where
   0/0 (an all-zero row or column) counts as 0.
4. A run's score is the median of its pairwise scores with the other runs.

This follows disentanglement_lib's formula, not the paper's Eq. 2 (which also weights each
dimension by its KL). Note that the score is not scale invariant: for identical runs with
uncorrelated dimensions the Spearman variant gives 1, the Lasso variant 1 − α = 0.9 (the
Lasso shrinks every coefficient by α). Unlike disentanglement_lib, runs may differ in
their number of dimensions.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.linear_model import Lasso

__all__ = [
    "UDR_METHODS",
    "gaussian_kl_per_dim",
    "relative_strength",
    "udr",
    "udr_runs",
    "udr_similarity",
]

UDR_METHODS = ("spearman", "lasso")
KL_THRESHOLD = 0.01
LASSO_ALPHA = 0.1


def gaussian_kl_per_dim(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Average KL(N(μ, σ²) ‖ N(0, 1)) per dimension in nats, ``[d]`` from ``[N, d]``."""
    mu, lv = np.asarray(mu, np.float64), np.asarray(logvar, np.float64)
    return np.mean(0.5 * (mu**2 + np.exp(lv) - 1.0 - lv), axis=0)


def _standardise(z: np.ndarray) -> np.ndarray:
    """Zero mean, unit (population) standard deviation per column, like StandardScaler."""
    sd = z.std(0)
    return (z - z.mean(0)) / np.where(sd > 0, sd, 1.0)


def _spearman_matrix(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """``|ρ_ij|`` between columns of za and zb (average ranks for ties); 0 for constants."""
    ra = _standardise(np.apply_along_axis(rankdata, 0, za))
    rb = _standardise(np.apply_along_axis(rankdata, 0, zb))
    return np.abs(ra.T @ rb) / len(za)


def udr_similarity(
    za: np.ndarray,
    zb: np.ndarray,
    *,
    method: str = "spearman",
    seed: int = 0,
) -> np.ndarray:
    """UDR's similarity matrix ``R [d_a, d_b]`` between the dimensions of two runs' codes.

    ``method="spearman"``: absolute Spearman correlations. ``method="lasso"``: absolute
    Lasso(α = 0.1) coefficients of ``zb`` regressed on ``za`` (disentanglement_lib's
    ``lasso_correlation_matrix``). Codes are standardised first (as UDR does).
    """
    za, zb = _codes(za, "za"), _codes(zb, "zb")
    if len(za) != len(zb):
        raise ValueError(f"codes are on different probe sets: N = {len(za)} vs {len(zb)}")
    za, zb = _standardise(za), _standardise(zb)
    if method == "spearman":
        return _spearman_matrix(za, zb)
    if method == "lasso":
        model = Lasso(alpha=LASSO_ALPHA, random_state=seed).fit(za, zb)
        return np.abs(np.atleast_2d(model.coef_)).T
    raise ValueError(f"method must be one of {UDR_METHODS}; got {method!r}")


def relative_strength(r: np.ndarray) -> float:
    """disentanglement_lib's ``relative_strength_disentanglement`` of ``R [d_a, d_b]``.

    ``½ [mean over columns of max² / sum + mean over rows of max² / sum]``; an all-zero
    row or column contributes 0. NaN if R has no rows or columns.
    """
    r = np.asarray(r, np.float64)
    if r.size == 0:
        return float("nan")

    def side(axis: int) -> float:
        total = r.sum(axis)
        peak = r.max(axis) ** 2
        return float(np.mean(np.divide(peak, total, out=np.zeros_like(total), where=total > 0)))

    return 0.5 * (side(0) + side(1))


def udr(
    za: np.ndarray,
    zb: np.ndarray,
    *,
    kl_a: np.ndarray | None = None,
    kl_b: np.ndarray | None = None,
    method: str = "spearman",
    kl_threshold: float = KL_THRESHOLD,
    seed: int = 0,
) -> float:
    """Pairwise UDR score of two runs (disentanglement_lib's formula; module docstring).

    Args:
        za, zb: ``[N, d_a]``, ``[N, d_b]`` codes (posterior means) on the same probe points.
        kl_a, kl_b: ``[d]`` average KL per dimension (e.g. :func:`gaussian_kl_per_dim`);
            dimensions with KL ≤ ``kl_threshold`` are inactive. ``None``: all active.
        method: ``"spearman"`` or ``"lasso"``.
    """
    za, zb = _codes(za, "za"), _codes(zb, "zb")
    active_a = _active(kl_a, za.shape[1], kl_threshold)
    active_b = _active(kl_b, zb.shape[1], kl_threshold)
    # disentanglement_lib zeroes inactive dimensions before the regression, then drops them
    r = udr_similarity(za * active_a, zb * active_b, method=method, seed=seed)
    return relative_strength(r[active_a][:, active_b])


def udr_runs(
    codes: list[np.ndarray],
    *,
    kls: list[np.ndarray] | None = None,
    method: str = "spearman",
    kl_threshold: float = KL_THRESHOLD,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs UDR of R runs and each run's score (median over the other runs).

    Returns ``(pairwise [R, R], model_scores [R])``. The diagonal of ``pairwise`` is NaN
    (a run is not compared with itself); ``pairwise[a, b]`` regresses b on a (for the
    Lasso variant the matrix is not symmetric).
    """
    n_runs = len(codes)
    if n_runs < 2:
        raise ValueError("UDR needs at least two runs")
    kls_: list[np.ndarray | None] = list(kls) if kls is not None else [None] * n_runs
    pairwise = np.full((n_runs, n_runs), np.nan)
    for a in range(n_runs):
        for b in range(n_runs):
            if a != b:
                pairwise[a, b] = udr(
                    codes[a],
                    codes[b],
                    kl_a=kls_[a],
                    kl_b=kls_[b],
                    method=method,
                    kl_threshold=kl_threshold,
                    seed=seed,
                )
    scores = np.array([np.median(np.delete(pairwise[:, r], r)) for r in range(n_runs)])
    return pairwise, scores


def _codes(z: np.ndarray, name: str) -> np.ndarray:
    z = np.asarray(z, np.float64)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2:
        raise ValueError(f"{name} must be [N, d]; got shape {z.shape}")
    return z


def _active(kl: np.ndarray | None, d: int, threshold: float) -> np.ndarray:
    if kl is None:
        return np.ones(d, dtype=bool)
    kl = np.asarray(kl, np.float64)
    if kl.shape != (d,):
        raise ValueError(f"KL must have shape ({d},); got {kl.shape}")
    return kl > threshold
