"""Gaussian stochastic shape metric: 2-Wasserstein distance after optimal orthogonal alignment.

Duong, Zhou, Nassar, Berman, Olieslagers & Williams, "Representational dissimilarity metric
spaces for stochastic neural networks", ICLR 2023, Sec. 3 (Eq. 6 and its α-interpolation):
for two spaces with Gaussian responses N(μ_i, Σ_i) and N(μ'_i, Σ'_i) on the same probe points,

    d_α² = min_{T ∈ O(D)} (1/N) Σ_i [ α ‖μ_i − T μ'_i‖² + (2 − α) B²(Σ_i, T Σ'_i Tᵀ) ],

with the squared Bures distance B²(A, B) = tr A + tr B − 2 tr (A^{1/2} B A^{1/2})^{1/2}.
α = 1 is the 2-Wasserstein distance between the Gaussians (the setting of Murphy, Dillavou
& Bassett, TMLR 2025, Fig. 2); α = 2 compares means only, α = 0 covariances only.

Conventions here (stated, since they differ in places from the authors' notebook, which
uses ``netrep.metrics.GaussianStochasticMetric``):

* Covariances are ``diag(exp(logvar))``. The notebook passes ``exp(−logvar)`` (a precision)
  as the covariance; that is a bug, not a convention, and is not reproduced.
* Means are centred per space (the metric is then invariant to translations too, as a
  shape metric should be; Williams et al., NeurIPS 2021).
* Spaces of different dimension are zero-padded to the larger one (extra dimensions with
  mean 0 and variance 0), as netrep does for deterministic shape metrics; the notebook
  leaves such pairs out (NaN).

Optimisation: the minimisation is non-convex. Writing B²(A, B) = min_{P ∈ O(D)}
‖A^{1/2} − B^{1/2} P‖²_F, it alternates between the per-point Procrustes rotations P_i and
the global Procrustes alignment T (as netrep does), from several starts (the Procrustes
alignment of the means, the identity and random orthogonal matrices), keeping the best. The
returned value is re-evaluated exactly at the final T.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ortho_group

__all__ = ["gaussian_shape_metric", "wasserstein_shape_metric"]


def _procrustes(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Orthogonal P minimising ‖a − b P‖_F (batched over leading axes)."""
    u, _, vt = np.linalg.svd(np.swapaxes(b, -1, -2) @ a)
    return u @ vt


def _sqrtm_psd(cov: np.ndarray) -> np.ndarray:
    """Symmetric square roots of a batch ``[N, D, D]`` of PSD matrices."""
    w, v = np.linalg.eigh(cov)
    return (v * np.sqrt(np.clip(w, 0.0, None))[:, None, :]) @ np.swapaxes(v, -1, -2)


def _pad(mu: np.ndarray, cov: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    n, k = mu.shape
    if k == d:
        return mu, cov
    mu_p = np.zeros((n, d))
    mu_p[:, :k] = mu
    cov_p = np.zeros((n, d, d))
    cov_p[:, :k, :k] = cov
    return mu_p, cov_p


Array = np.ndarray


def _objective(mu_a: Array, s_a: Array, mu_b: Array, s_b: Array, t: Array, alpha: float) -> float:
    """(1/N) Σ α‖μ_a − μ_b T‖² + (2 − α) B²; rows are points, T acts on the right.

    With the right action the aligned covariance is Tᵀ Σ_b T and its root Tᵀ S_b T. The
    Bures fidelity tr (S_a Σ S_a)^{1/2} is the nuclear norm of S_a (Tᵀ S_b T).
    """
    mean_term = np.sum((mu_a - mu_b @ t) ** 2, axis=1)
    s_bt = np.swapaxes(t, -1, -2) @ s_b @ t
    fidelity = np.linalg.svd(s_a @ s_bt, compute_uv=False).sum(-1)
    bures = np.einsum("nij,nij->n", s_a, s_a) + np.einsum("nij,nij->n", s_b, s_b) - 2 * fidelity
    return float(np.mean(alpha * mean_term + (2.0 - alpha) * bures))


def _align(
    mu_a: Array,
    s_a: Array,
    mu_b: Array,
    s_b: Array,
    t: Array,
    alpha: float,
    n_iter: int,
    tol: float,
) -> Array:
    """Alternating Procrustes from the start ``t``; returns the final alignment T."""
    wm, ws = np.sqrt(alpha), np.sqrt(2.0 - alpha)
    a = np.concatenate([wm * mu_a, ws * s_a.reshape(-1, s_a.shape[-1])])
    loss = np.inf
    for _ in range(n_iter):
        # B²(Σ_a, TᵀΣ_bT) = min_P ‖S_a − TᵀS_b P‖²; with P_i fixed, transpose each block:
        # ‖S_a − P_iᵀ S_b T‖², so T solves one Procrustes problem on the stacked rows.
        p = _procrustes(np.swapaxes(t, -1, -2) @ s_b, s_a)
        b = np.concatenate(
            [wm * mu_b, ws * (np.swapaxes(p, -1, -2) @ s_b).reshape(-1, s_b.shape[-1])]
        )
        t = _procrustes(b, a)
        new = float(np.sum((a - b @ t) ** 2))
        if loss - new < tol * max(new, 1e-300):
            break
        loss = new
    return t


def wasserstein_shape_metric(
    mu_a: np.ndarray,
    cov_a: np.ndarray,
    mu_b: np.ndarray,
    cov_b: np.ndarray,
    *,
    alpha: float = 1.0,
    n_restarts: int = 10,
    n_iter: int = 200,
    tol: float = 1e-10,
    seed: int = 0,
) -> float:
    """Gaussian stochastic shape metric d_α for full covariances (Duong et al., ICLR 2023).

    Args:
        mu_a, mu_b: ``[N, d_a]``, ``[N, d_b]`` posterior means on the same probe points.
        cov_a, cov_b: ``[N, d, d]`` posterior covariances (PSD).
        alpha: in [0, 2]; 1 gives the 2-Wasserstein distance.
        n_restarts: random orthogonal starts in addition to the means' Procrustes alignment
            and the identity.
        n_iter, tol: alternating iterations per start and relative stopping tolerance.
        seed: seeds the random starts.

    Returns:
        d_α ≥ 0, in the units of the means.
    """
    if not 0.0 <= alpha <= 2.0:
        raise ValueError(f"alpha must lie in [0, 2]; got {alpha}")
    ma, mb = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    ca, cb = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    if ma.ndim != 2 or mb.ndim != 2 or len(ma) != len(mb):
        raise ValueError(f"means must be [N, d] on the same N; got {ma.shape}, {mb.shape}")
    if ca.shape != (*ma.shape, ma.shape[1]) or cb.shape != (*mb.shape, mb.shape[1]):
        raise ValueError(f"covariances must be [N, d, d]; got {ca.shape}, {cb.shape}")
    d = max(ma.shape[1], mb.shape[1])
    ma, ca = _pad(ma - ma.mean(0), ca, d)
    mb, cb = _pad(mb - mb.mean(0), cb, d)
    sa, sb = _sqrtm_psd(ca), _sqrtm_psd(cb)
    rng = np.random.default_rng(seed)
    starts = [_procrustes(mb, ma), np.eye(d)]
    if d > 1:
        starts += [ortho_group.rvs(d, random_state=rng) for _ in range(n_restarts)]
    best = min(
        _objective(ma, sa, mb, sb, _align(ma, sa, mb, sb, t0, alpha, n_iter, tol), alpha)
        for t0 in starts
    )
    return float(np.sqrt(max(best, 0.0)))


def gaussian_shape_metric(
    mu_a: np.ndarray,
    logvar_a: np.ndarray,
    mu_b: np.ndarray,
    logvar_b: np.ndarray,
    **kwargs: float | int,
) -> float:
    """:func:`wasserstein_shape_metric` of two diagonal Gaussian spaces ``mu/logvar [N, d]``.

    Covariances are ``diag(exp(logvar))`` (variances, not the precisions ``exp(−logvar)``
    of the authors' notebook). Keyword arguments as in :func:`wasserstein_shape_metric`.
    """
    mus, covs = [], []
    for mu, lv in ((mu_a, logvar_a), (mu_b, logvar_b)):
        m = np.asarray(mu, np.float64).reshape(len(mu), -1)
        v = np.exp(np.asarray(lv, np.float64).reshape(m.shape))
        mus.append(m)
        covs.append(v[:, :, None] * np.eye(m.shape[1]))
    return wasserstein_shape_metric(mus[0], covs[0], mus[1], covs[1], **kwargs)  # type: ignore[arg-type]
