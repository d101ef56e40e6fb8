"""Baseline similarity measures of probabilistic representations, for runs and channels.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 4.1 / Fig. 2, compare NMI and
VI with the measures already in use. Every measure here takes two diagonal Gaussian spaces
``(mu [N, d_a], logvar [N, d_a])`` and ``(mu [N, d_b], logvar [N, d_b])`` on the same probe
points and returns one float:

============================  =======================================================  =====
name                          measure (module)                                          kind
============================  =======================================================  =====
``cka_linear``                linear CKA of the means, biased HSIC (baselines_kernel)   sim.
``cka_linear_debiased``       linear CKA, debiased HSIC (Song et al. 2012)              sim.
``cka_bhattacharyya``         CKA with Bhattacharyya coefficients as kernel             sim.
``cka_bhattacharyya_debiased``  the same, debiased HSIC                                 sim.
``rsa``                       Spearman ρ of the Euclidean distance matrices of means    sim.
``shape_wasserstein``         Gaussian stochastic shape metric, α = 1 (baselines_shape) dist.
``udr_spearman``              UDR, Spearman variant (baselines_udr)                     sim.
``udr_lasso``                 UDR, Lasso variant                                        sim.
============================  =======================================================  =====

A run is a whole latent space; a channel is one of its dimensions. :func:`space_matrix`
evaluates a measure on every pair of runs, :func:`channel_matrix` on every pair of channels
of two runs (each channel a 1-D space). The information ground truth is
:func:`~infoprint.info.montecarlo.montecarlo_compare`; the JSD between classifiers needs
one trained classifier per space and lives in :mod:`.baselines_classifier`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from infoprint.registry import Registry

from .baselines_kernel import bhattacharyya_cka, linear_cka, rsa_spaces
from .baselines_shape import gaussian_shape_metric
from .baselines_udr import gaussian_kl_per_dim, udr

__all__ = [
    "DISTANCE_MEASURES",
    "MEASURES",
    "SpaceMeasure",
    "channel_matrix",
    "space_matrix",
]

SpaceMeasure = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]
Space = tuple[np.ndarray, np.ndarray]


def _udr(method: str) -> SpaceMeasure:
    def measure(mu_a: np.ndarray, lv_a: np.ndarray, mu_b: np.ndarray, lv_b: np.ndarray) -> float:
        """UDR with each dimension's average KL to N(0, 1) deciding which are active."""
        kl_a, kl_b = gaussian_kl_per_dim(mu_a, lv_a), gaussian_kl_per_dim(mu_b, lv_b)
        return udr(mu_a, mu_b, kl_a=kl_a, kl_b=kl_b, method=method)

    return measure


MEASURES: Registry[SpaceMeasure] = Registry("baseline measure")
MEASURES.add("cka_linear", lambda ma, la, mb, lb: linear_cka(ma, mb))
MEASURES.add("cka_linear_debiased", lambda ma, la, mb, lb: linear_cka(ma, mb, debiased=True))
MEASURES.add("cka_bhattacharyya", lambda ma, la, mb, lb: bhattacharyya_cka(ma, la, mb, lb))
MEASURES.add(
    "cka_bhattacharyya_debiased",
    lambda ma, la, mb, lb: bhattacharyya_cka(ma, la, mb, lb, debiased=True),
)
MEASURES.add("rsa", lambda ma, la, mb, lb: rsa_spaces(ma, mb))
MEASURES.add("shape_wasserstein", gaussian_shape_metric)
MEASURES.add("udr_spearman", _udr("spearman"))
MEASURES.add("udr_lasso", _udr("lasso"))
"""The baseline measures by name; each maps (mu_a, logvar_a, mu_b, logvar_b) to a float."""

DISTANCE_MEASURES = frozenset({"shape_wasserstein"})
"""Measures that are distances (0 for equivalent spaces); the others are similarities."""


def _as_2d(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, np.float64)
    return a.reshape(len(a), -1)


def space_matrix(spaces: Sequence[Space], measure: str | SpaceMeasure) -> np.ndarray:
    """``[R, R]`` matrix of a measure between every pair of R whole spaces (runs).

    ``measure`` is a name in :data:`MEASURES` or a callable of the same signature. Entry
    ``[a, b]`` is ``measure(space_a, space_b)``; every ordered pair is evaluated, so
    asymmetric measures (the Lasso UDR) keep both directions.
    """
    fn = MEASURES[measure] if isinstance(measure, str) else measure
    pairs = [(_as_2d(mu), _as_2d(lv)) for mu, lv in spaces]
    out = np.empty((len(pairs), len(pairs)))
    for a, (ma, la) in enumerate(pairs):
        for b, (mb, lb) in enumerate(pairs):
            out[a, b] = fn(ma, la, mb, lb)
    return out


def channel_matrix(space_a: Space, space_b: Space, measure: str | SpaceMeasure) -> np.ndarray:
    """``[d_a, d_b]`` matrix of a measure between every channel of run a and of run b.

    Each channel is the 1-D space ``(mu[:, k:k+1], logvar[:, k:k+1])`` on the probe set.
    """
    ma, la = (_as_2d(x) for x in space_a)
    mb, lb = (_as_2d(x) for x in space_b)
    chans_a = [(ma[:, k : k + 1], la[:, k : k + 1]) for k in range(ma.shape[1])]
    chans_b = [(mb[:, k : k + 1], lb[:, k : k + 1]) for k in range(mb.shape[1])]
    fn = MEASURES[measure] if isinstance(measure, str) else measure
    return np.array([[fn(*ca, *cb) for cb in chans_b] for ca in chans_a])
