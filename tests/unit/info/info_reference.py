"""Independent slow NumPy implementation of the information measures (for tests only).

Follows Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3 literally: build
each channel's N x N Bhattacharyya coefficient matrix with the log-determinant formula of
docs/architecture.md §5, then loop over pairs of channels.
"""

from __future__ import annotations

import numpy as np


def bhattacharyya_matrix(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """D[i, j] for points with diagonal Gaussians ``mu``/``logvar`` [N, d] (float64)."""
    mu = np.asarray(mu, np.float64).reshape(len(mu), -1)
    var = np.exp(np.asarray(logvar, np.float64).reshape(len(mu), -1))
    n = len(mu)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            sbar = (var[i] + var[j]) / 2.0
            dm = mu[i] - mu[j]
            out[i, j] = 0.125 * np.sum(dm * dm / sbar) + 0.5 * (
                np.sum(np.log(sbar)) - 0.5 * (np.sum(np.log(var[i])) + np.sum(np.log(var[j])))
            )
    return out


def coefficient_matrix(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    return np.exp(-bhattacharyya_matrix(mu, logvar))


def discrete_matrix(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    return (labels[:, None] == labels[None, :]).astype(np.float64)


def info_from_matrix(c: np.ndarray) -> float:
    n = len(c)
    return float(-np.mean(np.log2(c.sum(1) / n)))


def pairwise_reference(cs_a: list[np.ndarray], cs_b: list[np.ndarray] | None = None) -> np.ndarray:
    """Per-pair loop: J[a, b] = I(U_a V_b) from the products of coefficient matrices."""
    cs_b = cs_a if cs_b is None else cs_b
    out = np.zeros((len(cs_a), len(cs_b)))
    for a, ca in enumerate(cs_a):
        for b, cb in enumerate(cs_b):
            out[a, b] = info_from_matrix(ca * cb)
    return out


def compare_reference(
    cs_a: list[np.ndarray], cs_b: list[np.ndarray], min_bits: float = 1e-6
) -> dict[str, np.ndarray]:
    """All-pairs NMI / VI; NMI is 0 where 2 I - I(UU') <= min_bits for either channel."""
    ia = np.array([info_from_matrix(c) for c in cs_a])
    ib = np.array([info_from_matrix(c) for c in cs_b])
    sa = np.array([info_from_matrix(c * c) for c in cs_a])
    sb = np.array([info_from_matrix(c * c) for c in cs_b])
    joint = pairwise_reference(cs_a, cs_b)
    nmi = np.zeros_like(joint)
    vi = np.zeros_like(joint)
    for a in range(len(cs_a)):
        for b in range(len(cs_b)):
            ua, ub = 2 * ia[a] - sa[a], 2 * ib[b] - sb[b]
            if ua > min_bits and ub > min_bits:
                nmi[a, b] = (ia[a] + ib[b] - joint[a, b]) / np.sqrt(ua * ub)
            vi[a, b] = 2 * joint[a, b] - sa[a] - sb[b]
    return {
        "information_a": ia,
        "information_b": ib,
        "self_a": sa,
        "self_b": sb,
        "joint": joint,
        "nmi": nmi,
        "vi": vi,
    }


def gaussian_channel_matrices(mu: np.ndarray, logvar: np.ndarray) -> list[np.ndarray]:
    return [coefficient_matrix(mu[:, [k]], logvar[:, [k]]) for k in range(mu.shape[1])]
