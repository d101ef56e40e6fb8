"""Kernel and distance-matrix similarity of representations: CKA and RSA.

Baselines against which Murphy, Dillavou & Bassett ("Comparing the information content of
probabilistic representation spaces", TMLR 2025, arXiv 2405.21042, Sec. 4.1 and Fig. 2)
justify NMI / VI. All functions compare two representations of the same N probe points
and return a float; they are pure numpy.

* HSIC (Gretton et al., ALT 2005), biased estimator: ``HSIC_0(K, L) = tr(K H L H)/(N−1)²``
  with the centring matrix ``H = I − 11ᵀ/N``.
* Debiased HSIC (Song et al., JMLR 2012, Eq. 5): with K̃, L̃ the Gram matrices with zeroed
  diagonals,
  ``HSIC_1 = [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((N−1)(N−2)) − 2/(N−2)·1ᵀK̃L̃1] / (N(N−3))``.
* CKA (Kornblith et al., ICML 2019, Eq. 4): ``HSIC(K, L)/sqrt(HSIC(K, K) HSIC(L, L))``;
  linear CKA uses ``K = XXᵀ``; the paper's kernel CKA uses the Bhattacharyya coefficient
  matrix ``C_ij = exp(−D_B(i, j))`` of each space as its kernel (notebook
  ``Similarity_comparison_synthetic.ipynb``, ``cka_bhat``).
* RSA (Kriegeskorte et al., Front. Syst. Neurosci. 2008): the Spearman rank correlation
  of the upper triangles of the two representational distance matrices.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

from .bhattacharyya import bhattacharyya_coefficient

__all__ = [
    "bhattacharyya_cka",
    "cka",
    "hsic",
    "linear_cka",
    "rsa",
    "rsa_spaces",
]


def _gram(k: np.ndarray, name: str) -> np.ndarray:
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"{name} must be a square [N, N] matrix; got {k.shape}")
    return k


def hsic(k_a: np.ndarray, k_b: np.ndarray, *, debiased: bool = False) -> float:
    """HSIC of two ``[N, N]`` Gram matrices: biased (Gretton 2005) or debiased (Song 2012).

    The biased form is ``tr(KHLH)/(N−1)²``; the debiased one is Song et al. (2012), Eq. 5
    (needs N ≥ 4). The normalisation cancels in :func:`cka`.
    """
    k, l_ = _gram(k_a, "k_a"), _gram(k_b, "k_b")
    n = k.shape[0]
    if l_.shape != k.shape:
        raise ValueError(f"Gram matrices differ in shape: {k.shape} vs {l_.shape}")
    if not debiased:
        kc = k - k.mean(0, keepdims=True) - k.mean(1, keepdims=True) + k.mean()
        return float(np.sum(kc * l_) / (n - 1) ** 2)  # tr(HKH L) = Σ (HKH)∘L
    if n < 4:
        raise ValueError(f"debiased HSIC needs N >= 4 points; got {n}")
    kt, lt = k.copy(), l_.copy()
    np.fill_diagonal(kt, 0.0)
    np.fill_diagonal(lt, 0.0)
    ks, ls = kt.sum(0), lt.sum(0)
    value = (
        np.sum(kt * lt) + ks.sum() * ls.sum() / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * float(ks @ ls)
    )
    return float(value / (n * (n - 3)))


def cka(k_a: np.ndarray, k_b: np.ndarray, *, debiased: bool = False) -> float:
    """Centred kernel alignment of two Gram matrices (Kornblith et al., ICML 2019, Eq. 4).

    ``HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with :func:`hsic`. NaN when either
    representation has zero (or, debiased, non-positive) self-HSIC, i.e. is constant.
    """
    ab = hsic(k_a, k_b, debiased=debiased)
    aa, bb = hsic(k_a, k_a, debiased=debiased), hsic(k_b, k_b, debiased=debiased)
    if aa <= 0.0 or bb <= 0.0:
        return float("nan")
    return ab / float(np.sqrt(aa * bb))


def _points(x: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be [N, d]; got shape {a.shape}")
    return a


def linear_cka(x: np.ndarray, y: np.ndarray, *, debiased: bool = False) -> float:
    """Linear CKA of ``x [N, d_x]`` and ``y [N, d_y]`` (Kornblith et al., 2019).

    Invariant to orthogonal transformations and isotropic scaling of either space (and to
    translation: the Gram matrices are centred). Dimensions may differ.
    """
    x, y = _points(x, "x"), _points(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y are on different probe sets: N = {len(x)} vs {len(y)}")
    return cka(x @ x.T, y @ y.T, debiased=debiased)


def bhattacharyya_cka(
    mu_a: np.ndarray,
    logvar_a: np.ndarray,
    mu_b: np.ndarray,
    logvar_b: np.ndarray,
    *,
    debiased: bool = False,
) -> float:
    """CKA with each space's Bhattacharyya coefficient matrix as kernel.

    Murphy, Dillavou & Bassett (TMLR 2025), Fig. 2 (``cka_bhat`` in the authors'
    notebook): ``K_ij = exp(−D_B(q_a(·|x_i), q_a(·|x_j)))``, likewise L for space b, then
    :func:`cka`. Uses :func:`~infoprint.info.bhattacharyya.bhattacharyya_coefficient`
    (diagonal Gaussians, float64).
    """
    return cka(_coefficients(mu_a, logvar_a), _coefficients(mu_b, logvar_b), debiased=debiased)


def _coefficients(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    m, lv = _points(mu, "mu"), _points(logvar, "logvar")
    return bhattacharyya_coefficient(torch.tensor(m), torch.tensor(lv)).numpy()


def rsa(d_a: np.ndarray, d_b: np.ndarray) -> float:
    """Representational similarity: Spearman ρ of the upper triangles of two RDMs.

    Kriegeskorte, Mur & Bandettini (2008). ``d_a``, ``d_b`` are ``[N, N]`` dissimilarity
    matrices (only the strict upper triangle is read; ties get average ranks). Symmetric,
    and unchanged by any strictly increasing transformation of either matrix.
    """
    d_a, d_b = _gram(d_a, "d_a"), _gram(d_b, "d_b")
    if d_a.shape != d_b.shape:
        raise ValueError(f"RDMs differ in shape: {d_a.shape} vs {d_b.shape}")
    iu = np.triu_indices(d_a.shape[0], k=1)
    a, b = d_a[iu], d_b[iu]
    if np.ptp(a) == 0.0 or np.ptp(b) == 0.0:
        return float("nan")
    return float(spearmanr(a, b)[0])


def rsa_spaces(x: np.ndarray, y: np.ndarray, *, metric: str = "euclidean") -> float:
    """:func:`rsa` of the distance matrices of two point sets ``[N, d_x]``, ``[N, d_y]``.

    ``metric`` is any :func:`scipy.spatial.distance.pdist` metric (applied to the means).
    """
    x, y = _points(x, "x"), _points(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y are on different probe sets: N = {len(x)} vs {len(y)}")
    return rsa(squareform(pdist(x, metric)), squareform(pdist(y, metric)))
