"""The MIG family: MIG, DMIG, DLIG and XMIG, with their mutual-information estimators.

All information quantities here are in **nats**; every score is a ratio of two of them,
so the unit cancels.

Mutual information between codes and factors
--------------------------------------------
``I[n, i] = I(z_n; a_i)`` between latent dimension ``z_n`` and factor ``a_i`` is estimated
in one of two ways (``estimator=``):

- ``"histogram"`` (default; disentanglement_lib, Locatello et al. 2019): each code column
  is discretised on its own into ``num_bins`` (20) equal-width bins spanning its observed
  range -- exactly ``np.digitize(z, np.histogram(z, num_bins)[1][:-1])`` -- and the
  plug-in (maximum-likelihood) MI between the bin labels and the factor labels is taken,
  identical to ``sklearn.metrics.mutual_info_score`` on the same labels.
- ``"knn"``: the k-nearest-neighbour estimator of Ross (2014) for a continuous variable
  and a discrete one, ``sklearn.feature_selection.mutual_info_classif`` with
  ``discrete_features=False`` and ``n_neighbors`` (3) -- what latte-metrics uses for
  discrete attributes.

Factor entropies ``H(a_i)`` and conditional entropies ``H(a_i | a_l) = H(a_i) - I(a_i; a_l)``
are by default (``entropy_estimator="plugin"``) the exact plug-in values on the sample
(factors are discrete). latte-metrics instead estimates them with the kNN estimator,
treating the factor as a continuous feature (``H(a) = I(a; a)``, ``I(a_i; a_l)`` from
``mutual_info_classif(a_i[:, None], a_l)``); that is ``entropy_estimator="knn"``. The two
entropy estimates differ by about 0.1% for H and a few % for conditional entropies on
samples of ~1000 points.

Matching latte-metrics exactly (``convention="latte"``)
--------------------------------------------------------
``mig``/``dmig``/``dlig``/``xmig`` with ``**LATTE_OPTIONS`` (``estimator="knn"``,
``entropy_estimator="knn"``, ``convention="latte"``), ``reg_dim`` as given to latte and
``random_state`` equal to latte's ``latte.seed(...)`` reproduce latte-metrics 0.0.1a6's
functions called with ``discrete=True`` to the last bit (pinned in
``tests/unit/metrics/test_metrics_conformance.py``). Two conventions need the
``convention`` switch; with the default ``"infoprint"`` they differ:

- **Ties for the runner-up.** The gap itself does not depend on ties, but DMIG divides by
  ``H(a_i | a_l)`` for the factor ``a_l`` regularised by the runner-up latent, and DLIG by
  ``H(a_i | a_l)`` for the runner-up factor. Ties are common: scikit-learn clips negative
  kNN MI estimates to 0, so uninformative latents often share the value 0. ``"infoprint"``
  takes the lowest index among tied runner-ups; ``"latte"`` reads the runner-up off
  ``np.argsort`` exactly as latte's ``_top2gap`` does. NumPy's default sort is not stable
  and its order of ties depends on the build and the CPU (SIMD sorting; on AVX-512 even
  4 entries are not kept in index order), so this mode agrees with latte-metrics run on
  the same machine, not with any fixed index rule. The two conventions gave DMIG values
  up to 6.0e-3 apart on random 500-point cases.
- **DLIG's MI estimates.** latte re-estimates ``I(z_d; a_m)`` for DLIG one latent at a
  time (``mutual_info_classif(z[:, [d]], a_m)``); ``"infoprint"`` reuses the ``[d, K]``
  matrix estimated with all latents at once. scikit-learn adds ``1e-10``-scale noise to
  break ties, drawn per call for all columns together, so the two differ wherever codes
  have tied distances (e.g. quantised codes): up to 2.7e-2 in DLIG on codes rounded to
  two decimals, up to 1.3e-5 on the codes of trained demo runs, which tie too (21-28
  duplicate rows in 4,500); 0 only on codes without ties. With ``convention="latte"``
  and the kNN estimator DLIG makes latte's per-pair calls (:func:`latent_rows_mutual_info`).

Other conventions, the same in both modes: scores are per factor (DLIG: per regularising
latent) and the headline is their mean; latte-metrics returns the per-factor array and
divides by whatever the denominator is, while infoprint leaves undefined entries (zero or
negative denominator, or a constant factor) out of the mean (NaN if none is left);
``random_state`` defaults to 0 (latte's default is ``None``, i.e. unseeded, until
``latte.seed()`` sets 42).

The scores (latte-metrics definitions, Watcharasupat & Lerch 2021)
-----------------------------------------------------------------
Let ``I`` be the ``[d, K]`` MI matrix and ``H`` the factor entropies. ``reg_dim[i]`` is the
latent dimension said to *regularise* (encode) factor ``i``.

- **MIG** (Chen et al. 2018), per factor ``i``:
  ``(I[j, i] - I[k, i]) / H(a_i)`` with ``j = argmax_n I[n, i]`` and
  ``k = argmax_{n != j} I[n, i]``. If ``reg_dim`` is given, ``j = reg_dim[i]`` instead (then
  the gap may be negative).
- **DMIG** (dependency-aware MIG), per factor ``i``: ``j = reg_dim[i]``,
  ``k = argmax_{n != j} I[n, i]``, gap ``I[j, i] - I[k, i]`` divided by ``H(a_i | a_l)``
  where ``a_l`` is the factor regularised by ``z_k`` (the first such factor), or by
  ``H(a_i)`` if ``z_k`` regularises no factor.
- **DLIG** (dependency-aware latent information gap), per regularising latent
  ``z_d = z_{reg_dim[i]}``: over *factors*, ``(I[d, i] - I[d, l]) / H(a_i | a_l)`` with
  ``l = argmax_{m != i} I[d, m]``. Needs at least two factors.
- **XMIG** (dependency-blind MIG), per factor ``i``: ``j = reg_dim[i]``,
  ``(I[j, i] - max_{n not in reg_dim} I[n, i]) / H(a_i)``: the subtrahend is restricted to
  latents that regularise no factor. Needs at least one such latent.

Ties for the runner-up go to the lower index (``convention="infoprint"``) or follow
``np.argsort`` (``"latte"``; see above); ``reg_dim="auto"`` takes the lowest index among
tied maxima. Note that DMIG and XMIG are per *factor* (the minuend is the factor's
regularising latent) and only DLIG is per latent; the normaliser of DLIG is the
conditional entropy ``H(a_i | a_l)``, not the latent's entropy. These follow
latte-metrics' code (``_top2gap``, ``_xgap``). With the histogram estimator plain MIG is
disentanglement_lib's ``discrete_mig`` exactly (also pinned in the conformance tests).

Each metric is the mean of its per-factor values. As in latte-metrics, ``reg_dim=None``
means plain MIG for :func:`mig` and ``reg_dim = [0, 1, ..., K-1]`` for DMIG, DLIG and XMIG
(the first K latents regularise the factors in order, as in a supervised model).
For unsupervised models, whose latents are in no particular order, infoprint adds
``reg_dim="auto"``: ``reg_dim[i] = argmax_n I[n, i]`` (each factor's most informative
latent; two factors may share one). With ``"auto"``, MIG equals plain MIG and all four
scores are invariant to permuting the latents; the registry uses it for DMIG, DLIG and
XMIG.

Factors with zero entropy on the sample (constant factors) and per-factor values with a
zero denominator are left out of the mean (they are undefined); if nothing is left the
score is NaN.

References
----------
R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud. "Isolating sources of disentanglement in
variational autoencoders." NeurIPS 2018.
F. Locatello et al. "Challenging common assumptions in the unsupervised learning of
disentangled representations." ICML 2019 (disentanglement_lib).
K. N. Watcharasupat, A. Lerch. "Evaluation of latent space disentanglement in the presence
of interdependent attributes." ISMIR LBD 2021; K. N. Watcharasupat, "Controllable music:
supervised learning of disentangled representations for music generation", 2021
(latte-metrics, ``latte.functional.disentanglement.mutual_info``).
B. C. Ross. "Mutual information between discrete and continuous data sets." PLoS ONE 2014.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from infoprint.metrics.sampling import check_codes_factors, factor_labels, relabel

Estimator = Literal["histogram", "knn"]
EntropyEstimator = Literal["plugin", "knn"]
Convention = Literal["infoprint", "latte"]
RegDim = Sequence[int] | Literal["auto"] | None

_EPS = 1e-12

LATTE_OPTIONS: dict[str, str] = {
    "estimator": "knn",
    "entropy_estimator": "knn",
    "convention": "latte",
}
"""Options with which the MIG family reproduces latte-metrics 0.0.1a6 (``discrete=True``)."""

__all__ = [
    "LATTE_OPTIONS",
    "conditional_entropies",
    "discrete_entropy",
    "discrete_mutual_info",
    "dlig",
    "dlig_scores",
    "dmig",
    "dmig_scores",
    "factor_conditional_entropies",
    "factor_entropies",
    "histogram_discretize",
    "latent_rows_mutual_info",
    "mig",
    "mig_family",
    "mig_scores",
    "mutual_info_matrix",
    "resolve_reg_dim",
    "xmig",
    "xmig_scores",
]


# --------------------------------------------------------------------------- estimators


def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Discretise each code column into ``num_bins`` equal-width bins (disentanglement_lib).

    Column ``n`` becomes ``np.digitize(z_n, np.histogram(z_n, num_bins)[1][:-1])``: labels
    ``1..num_bins`` over the column's observed range (the maximum falls in the last bin).
    Returns an int64 array of the same shape ``[N, d]``.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2:
        raise ValueError(f"codes must be a 2-D array [N, d]; got shape {codes.shape}")
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1; got {num_bins}")
    out = np.empty(codes.shape, dtype=np.int64)
    for n in range(codes.shape[1]):
        edges = np.histogram(codes[:, n], bins=num_bins)[1]
        out[:, n] = np.digitize(codes[:, n], edges[:-1])
    return out


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """Plug-in entropy (nats) of each column of an integer array ``[N, K]`` -> ``[K]``."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    out = np.empty(labels.shape[1])
    for i in range(labels.shape[1]):
        counts = np.bincount(relabel(labels[:, i])[0])
        p = counts[counts > 0] / labels.shape[0]
        out[i] = max(0.0, float(-np.sum(p * np.log(p))))
    return out


def _mi_labels(a: np.ndarray, na: int, b: np.ndarray, nb: int) -> float:
    """Plug-in MI (nats) between two label vectors in ``0..na-1`` and ``0..nb-1``."""
    n = a.shape[0]
    joint = np.bincount(a * nb + b, minlength=na * nb).reshape(na, nb).astype(np.float64)
    pa = joint.sum(axis=1, keepdims=True)
    pb = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    # sum_ab p(a,b) log(p(a,b) / (p(a) p(b))) with counts: log(n * c_ab / (c_a c_b)).
    mi = np.sum(joint[nz] * (np.log(joint[nz]) + np.log(n) - np.log((pa * pb)[nz]))) / n
    return max(0.0, float(mi))


def discrete_mutual_info(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Plug-in MI (nats) between every column of ``x [N, p]`` and of ``y [N, q]`` -> ``[p, q]``.

    Same value as ``sklearn.metrics.mutual_info_score(x[:, i], y[:, j])``.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same rows; got {x.shape[0]} and {y.shape[0]}")
    xs = [relabel(x[:, i]) for i in range(x.shape[1])]
    ys = [relabel(y[:, j]) for j in range(y.shape[1])]
    out = np.empty((x.shape[1], y.shape[1]))
    for i, (xi, nxi) in enumerate(xs):
        for j, (yj, nyj) in enumerate(ys):
            out[i, j] = _mi_labels(xi, nxi, yj, nyj)
    return out


def conditional_entropies(factors: np.ndarray) -> np.ndarray:
    """``C[i, l] = H(a_i | a_l) = H(a_i) - I(a_i; a_l)`` (nats, plug-in), shape ``[K, K]``."""
    factors = np.asarray(factors)
    h = discrete_entropy(factors)
    mi = discrete_mutual_info(factors, factors)
    return np.maximum(h[:, None] - mi, 0.0)


def mutual_info_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    estimator: Estimator = "histogram",
    num_bins: int = 20,
    n_neighbors: int = 3,
    random_state: int | None = 0,
) -> np.ndarray:
    """MI (nats) between each latent and each factor, ``[d, K]`` (see the module docstring).

    ``estimator="histogram"``: 20-bin discretisation + plug-in MI (disentanglement_lib).
    ``estimator="knn"``: ``sklearn.feature_selection.mutual_info_classif`` (Ross 2014) with
    ``n_neighbors`` and ``random_state`` (it adds tiny noise to break ties).
    """
    codes, factors = check_codes_factors(codes, factors)
    if estimator == "histogram":
        return discrete_mutual_info(histogram_discretize(codes, num_bins), factors)
    if estimator == "knn":
        from sklearn.feature_selection import mutual_info_classif

        out = np.empty((codes.shape[1], factors.shape[1]))
        for i in range(factors.shape[1]):
            if np.unique(factors[:, i]).size < 2:
                out[:, i] = 0.0
                continue
            out[:, i] = mutual_info_classif(
                codes,
                factors[:, i],
                discrete_features=False,
                n_neighbors=n_neighbors,
                random_state=random_state,
            )
        return np.maximum(out, 0.0)
    raise ValueError(f"estimator must be 'histogram' or 'knn'; got {estimator!r}")


def latent_rows_mutual_info(
    codes: np.ndarray,
    factors: np.ndarray,
    latents: Sequence[int],
    *,
    n_neighbors: int = 3,
    random_state: int | None = 0,
) -> np.ndarray:
    """kNN MI of single latents with every factor, each pair estimated on its own: ``[d, K]``.

    Row ``n`` (for ``n`` in ``latents``; other rows are NaN) holds
    ``mutual_info_classif(codes[:, [n]], factors[:, m], discrete_features=False)`` for each
    factor ``m`` -- latte-metrics' ``_attr_latent_mutual_info``, which DLIG uses. It differs
    from the same entries of :func:`mutual_info_matrix` (``estimator="knn"``) only through
    the ``1e-10``-scale noise scikit-learn adds to break ties, whose draw depends on how
    many columns are estimated together: 0 on codes without ties, up to 5.3e-5 nats on the
    codes of trained demo runs (21-28 duplicate rows in 4,500), up to 1.6e-2 nats on codes
    rounded to two decimals (500 points).
    """
    codes, factors = check_codes_factors(codes, factors)
    out = np.full((codes.shape[1], factors.shape[1]), np.nan)
    for n in sorted({int(n) for n in latents}):
        for m in range(factors.shape[1]):
            out[n, m] = _knn_mi(codes[:, n], factors[:, m], n_neighbors, random_state)
    return out


# --------------------------------------------------------------------- scores on matrices


def _gap(
    scores: np.ndarray, forced: int | None, convention: Convention = "infoprint"
) -> tuple[float, int]:
    """latte's ``_top2gap``: ``scores[j] - max_{n != j} scores[n]`` and the runner-up index.

    ``j`` is ``forced`` if given, otherwise the top (so the gap is top-1 minus top-2). The
    gap does not depend on how ties are broken; the runner-up index does (DMIG and DLIG use
    it to pick the conditioning factor):

    - ``"infoprint"``: ``j = argmax`` and the runner-up ``argmax_{n != j}``, ties to the
      lowest index (the first maximum).
    - ``"latte"``: latte-metrics' rule verbatim, in terms of ``o = np.argsort(scores)``
      (NumPy's default, unstable sort): if ``forced`` is ``None`` or ``o[-1] == forced``
      the runner-up is ``o[-2]``, otherwise it is ``o[-1]``. Among tied scores this is
      whatever order ``np.argsort`` leaves them in -- not index order, and dependent on
      the NumPy build and CPU (SIMD sorting), so only a run on the same machine agrees
      with latte-metrics bit for bit.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if convention == "latte":
        order = np.argsort(scores)
        top = int(order[-1])
        if forced is None or top == int(forced):
            return float(scores[top] - scores[order[-2]]), int(order[-2])
        return float(scores[int(forced)] - scores[top]), top
    if convention != "infoprint":
        raise ValueError(f"convention must be 'infoprint' or 'latte'; got {convention!r}")
    j = int(np.argmax(scores)) if forced is None else int(forced)
    rest = scores.copy()
    rest[j] = -np.inf
    k = int(np.argmax(rest))
    return float(scores[j] - scores[k]), k


def _ratio(num: float, den: float) -> float:
    return num / den if den > _EPS else float("nan")


def resolve_reg_dim(mi: np.ndarray, reg_dim: RegDim, *, fill: bool) -> list[int] | None:
    """Turn a ``reg_dim`` option into a list of latent indices (one per factor) or ``None``.

    ``None`` -> ``list(range(K))`` when ``fill`` (DMIG/DLIG/XMIG, as latte-metrics) else
    ``None`` (plain MIG). ``"auto"`` -> each factor's most informative latent
    ``argmax_n mi[n, i]``. A sequence is checked (length K, indices in ``0..d-1``).
    """
    d, k = mi.shape
    if reg_dim is None:
        if not fill:
            return None
        if k > d:
            raise ValueError(f"reg_dim=None needs at least as many latents as factors ({d} < {k})")
        return list(range(k))
    if isinstance(reg_dim, str):
        if reg_dim != "auto":
            raise ValueError(f"reg_dim must be None, 'auto' or a list of ints; got {reg_dim!r}")
        return [int(n) for n in np.argmax(mi, axis=0)]
    out = [int(n) for n in reg_dim]
    if len(out) != k:
        raise ValueError(f"reg_dim must have one latent index per factor ({k}); got {out}")
    if min(out) < 0 or max(out) >= d:
        raise ValueError(f"reg_dim indices must be in 0..{d - 1}; got {out}")
    return out


def mig_scores(
    mi: np.ndarray, entropies: np.ndarray, reg_dim: Sequence[int] | None = None
) -> np.ndarray:
    """Per-factor MIG ``[K]`` from an MI matrix ``[d, K]`` and factor entropies ``[K]``."""
    d, k = mi.shape
    if d < 2:
        raise ValueError("MIG needs at least two latent dimensions")
    out = np.empty(k)
    for i in range(k):
        gap, _ = _gap(mi[:, i], None if reg_dim is None else reg_dim[i])
        out[i] = _ratio(gap, entropies[i])
    return out


def dmig_scores(
    mi: np.ndarray,
    entropies: np.ndarray,
    cond_entropies: np.ndarray,
    reg_dim: Sequence[int],
    convention: Convention = "infoprint",
) -> np.ndarray:
    """Per-factor DMIG ``[K]``; ``cond_entropies[i, l] = H(a_i | a_l)``.

    ``convention`` breaks ties for the runner-up latent (see :func:`_gap`).
    """
    d, k = mi.shape
    if d < 2:
        raise ValueError("DMIG needs at least two latent dimensions")
    reg = list(reg_dim)
    out = np.empty(k)
    for i in range(k):
        gap, zk = _gap(mi[:, i], reg[i], convention)
        den = cond_entropies[i, reg.index(zk)] if zk in reg else entropies[i]
        out[i] = _ratio(gap, den) if entropies[i] > _EPS else float("nan")
    return out


def dlig_scores(
    mi: np.ndarray,
    cond_entropies: np.ndarray,
    reg_dim: Sequence[int],
    convention: Convention = "infoprint",
) -> np.ndarray:
    """Per-regularising-latent DLIG ``[K]`` (entry ``i`` is for latent ``reg_dim[i]``).

    Only the rows ``mi[reg_dim[i], :]`` are read. ``convention`` breaks ties for the
    runner-up factor (see :func:`_gap`).
    """
    _, k = mi.shape
    if k < 2:
        raise ValueError("DLIG needs at least two factors")
    out = np.empty(k)
    for i, zd in enumerate(reg_dim):
        gap, l_ = _gap(mi[zd, :], i, convention)
        out[i] = _ratio(gap, cond_entropies[i, l_])
    return out


def xmig_scores(mi: np.ndarray, entropies: np.ndarray, reg_dim: Sequence[int]) -> np.ndarray:
    """Per-factor XMIG ``[K]``: subtrahend over latents that regularise no factor."""
    d, k = mi.shape
    free = np.setdiff1d(np.arange(d), np.asarray(list(reg_dim), dtype=np.int64))
    if free.size == 0:
        raise ValueError(
            f"XMIG needs at least one latent that regularises no factor; reg_dim={list(reg_dim)} "
            f"covers all {d} latents"
        )
    out = np.empty(k)
    for i in range(k):
        gap = float(mi[reg_dim[i], i] - np.max(mi[free, i]))
        out[i] = _ratio(gap, entropies[i])
    return out


# ------------------------------------------------------------------- scores on raw arrays


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if finite.size else float("nan")


def factor_entropies(
    factors: np.ndarray,
    *,
    entropy_estimator: EntropyEstimator = "plugin",
    n_neighbors: int = 3,
    random_state: int | None = 0,
) -> np.ndarray:
    """Factor entropies ``H(a_i)`` (nats), ``[K]``.

    ``"plugin"``: exact plug-in entropy of the discrete factor on the sample.
    ``"knn"``: latte-metrics' estimate ``I(a_i; a_i)`` with
    ``mutual_info_classif(a_i[:, None], a_i, discrete_features=False)`` (kNN, the factor
    treated as a continuous feature); close to the plug-in value.
    """
    factors = np.asarray(factors)
    if entropy_estimator == "plugin":
        return discrete_entropy(factors)
    if entropy_estimator == "knn":
        return np.array(
            [
                _knn_mi(factors[:, i], factors[:, i], n_neighbors, random_state)
                for i in range(factors.shape[1])
            ]
        )
    raise ValueError(f"entropy_estimator must be 'plugin' or 'knn'; got {entropy_estimator!r}")


def factor_conditional_entropies(
    factors: np.ndarray,
    entropies: np.ndarray,
    *,
    entropy_estimator: EntropyEstimator = "plugin",
    n_neighbors: int = 3,
    random_state: int | None = 0,
) -> np.ndarray:
    """``C[i, l] = H(a_i | a_l) = H(a_i) - I(a_i; a_l)``, ``[K, K]`` (see
    :func:`factor_entropies` for the two estimators; latte-metrics' ``_conditional_entropy``
    for ``"knn"``)."""
    factors = np.asarray(factors)
    if entropy_estimator == "plugin":
        return conditional_entropies(factors)
    if entropy_estimator != "knn":
        raise ValueError(f"entropy_estimator must be 'plugin' or 'knn'; got {entropy_estimator!r}")
    k = factors.shape[1]
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            mi_ij = _knn_mi(factors[:, i], factors[:, j], n_neighbors, random_state)
            out[i, j] = entropies[i] - mi_ij
    return out


def _knn_mi(feature: np.ndarray, target: np.ndarray, n_neighbors: int, rs: int | None) -> float:
    from sklearn.feature_selection import mutual_info_classif

    if np.unique(target).size < 2:
        return 0.0
    value = mutual_info_classif(
        feature[:, None].astype(np.float64),
        target,
        discrete_features=False,
        n_neighbors=n_neighbors,
        random_state=rs,
    )[0]
    return float(value)


@dataclass
class _Prepared:
    codes: np.ndarray
    mi: np.ndarray
    entropies: np.ndarray
    factors: np.ndarray
    estimator: Estimator
    entropy_estimator: EntropyEstimator
    n_neighbors: int
    random_state: int | None
    convention: Convention

    def conditional(self) -> np.ndarray:
        return factor_conditional_entropies(
            self.factors,
            self.entropies,
            entropy_estimator=self.entropy_estimator,
            n_neighbors=self.n_neighbors,
            random_state=self.random_state,
        )

    def dlig_mi(self, reg: Sequence[int]) -> np.ndarray:
        """The MI rows DLIG reads: re-estimated one pair at a time in latte's convention
        with the kNN estimator (as latte-metrics does), else the shared matrix."""
        if self.convention == "latte" and self.estimator == "knn":
            return latent_rows_mutual_info(
                self.codes,
                self.factors,
                reg,
                n_neighbors=self.n_neighbors,
                random_state=self.random_state,
            )
        return self.mi


@dataclass(frozen=True)
class MIGOptions:
    """The estimators and convention shared by the MIG family (see ``_OPTIONS_DOC``)."""

    estimator: Estimator = "histogram"
    num_bins: int = 20
    n_neighbors: int = 3
    random_state: int | None = 0
    entropy_estimator: EntropyEstimator = "plugin"
    convention: Convention = "infoprint"

    def __post_init__(self) -> None:
        if self.convention not in ("infoprint", "latte"):
            raise ValueError(f"convention must be 'infoprint' or 'latte'; got {self.convention!r}")


def _prepare(codes: np.ndarray, factors: np.ndarray, o: MIGOptions) -> _Prepared:
    codes, factors = check_codes_factors(codes, factors)
    mi = mutual_info_matrix(
        codes,
        factors,
        estimator=o.estimator,
        num_bins=o.num_bins,
        n_neighbors=o.n_neighbors,
        random_state=o.random_state,
    )
    h = factor_entropies(
        factors,
        entropy_estimator=o.entropy_estimator,
        n_neighbors=o.n_neighbors,
        random_state=o.random_state,
    )
    return _Prepared(
        codes,
        mi,
        h,
        factors,
        o.estimator,
        o.entropy_estimator,
        o.n_neighbors,
        o.random_state,
        o.convention,
    )


_OPTIONS_DOC = """
    Options (all metrics of the family): ``estimator`` ("histogram" with ``num_bins``, or
    "knn" with ``n_neighbors`` and ``random_state``) for ``I(z_n; a_i)``;
    ``entropy_estimator`` ("plugin", or "knn" as latte-metrics) for the factor
    (conditional) entropies; ``convention`` ("infoprint", or "latte": runner-up ties by
    ``np.argsort`` and DLIG's MI per latent, as latte-metrics); ``reg_dim`` as in the
    module docstring. ``**LATTE_OPTIONS`` reproduces latte-metrics 0.0.1a6 exactly."""


def mig(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    reg_dim: RegDim = None,
    **options: Any,
) -> float:
    """Mutual Information Gap (Chen et al. 2018): mean over factors of the normalised gap.

    ``MIG = mean_i (I(a_i; z_j) - I(a_i; z_k)) / H(a_i)``, ``j``/``k`` the most and
    second-most informative latents for factor ``i`` (``j = reg_dim[i]`` if given). With
    the default 20-bin histogram estimator this is disentanglement_lib's ``compute_mig``.
    ``reg_dim=None`` is the plain MIG.
    """
    p = _prepare(codes, factors, MIGOptions(**options))
    return _mean(mig_scores(p.mi, p.entropies, resolve_reg_dim(p.mi, reg_dim, fill=False)))


def dmig(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    reg_dim: RegDim = None,
    **options: Any,
) -> float:
    """Dependency-aware MIG (latte-metrics' ``dmig``), mean over factors.

    ``DMIG_i = (I(a_i; z_j) - I(a_i; z_k)) / H(a_i | a_l)``, ``j = reg_dim[i]``,
    ``k = argmax_{n != j} I(a_i; z_n)``, ``a_l`` the factor regularised by ``z_k`` (or
    ``H(a_i)`` if none). ``reg_dim=None`` -> ``range(K)``; ``"auto"`` -> argmax-MI latents.
    """
    p = _prepare(codes, factors, MIGOptions(**options))
    reg = resolve_reg_dim(p.mi, reg_dim, fill=True)
    assert reg is not None
    return _mean(dmig_scores(p.mi, p.entropies, p.conditional(), reg, p.convention))


def dlig(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    reg_dim: RegDim = None,
    **options: Any,
) -> float:
    """Dependency-aware latent information gap (latte-metrics' ``dlig``), mean over latents.

    For each regularising latent ``z_d = z_{reg_dim[i]}``:
    ``(I(a_i; z_d) - I(a_l; z_d)) / H(a_i | a_l)``, ``l = argmax_{m != i} I(a_m; z_d)``.
    ``reg_dim=None`` -> ``range(K)``; ``"auto"`` -> argmax-MI latents. Needs K >= 2.
    """
    p = _prepare(codes, factors, MIGOptions(**options))
    reg = resolve_reg_dim(p.mi, reg_dim, fill=True)
    assert reg is not None
    return _mean(dlig_scores(p.dlig_mi(reg), p.conditional(), reg, p.convention))


def xmig(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    reg_dim: RegDim = None,
    **options: Any,
) -> float:
    """Dependency-blind MIG (latte-metrics' ``xmig``), mean over factors.

    ``XMIG_i = (I(a_i; z_j) - max_{n not in reg_dim} I(a_i; z_n)) / H(a_i)``,
    ``j = reg_dim[i]``. ``reg_dim=None`` -> ``range(K)``; ``"auto"`` -> argmax-MI latents.
    Needs a latent outside ``reg_dim``.
    """
    p = _prepare(codes, factors, MIGOptions(**options))
    reg = resolve_reg_dim(p.mi, reg_dim, fill=True)
    assert reg is not None
    return _mean(xmig_scores(p.mi, p.entropies, reg))


for _f in (mig, dmig, dlig, xmig):
    _f.__doc__ = (_f.__doc__ or "") + _OPTIONS_DOC


def mig_family(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    metrics: Sequence[str] = ("mig", "dmig", "dlig", "xmig"),
    reg_dim: RegDim = "auto",
    estimator: Estimator = "histogram",
    num_bins: int = 20,
    n_neighbors: int = 3,
    random_state: int | None = 0,
    entropy_estimator: EntropyEstimator = "plugin",
    convention: Convention = "infoprint",
    factor_names: Sequence[str] | None = None,
) -> dict[str, float]:
    """Several MIG-family scores from one MI matrix, with per-factor values.

    Returns ``{"mig": ..., "mig/<factor>": ..., "dmig": ..., ...}`` for the requested
    ``metrics``. Each value equals what the single-metric function (:func:`mig`,
    :func:`dmig`, ...) returns for the same options: ``reg_dim=None`` is plain MIG and
    ``range(K)`` for the others; ``"auto"`` is plain MIG and argmax-MI latents for the
    others. DLIG is skipped when there is one factor, XMIG when ``reg_dim`` covers every
    latent. Per-factor entries that are undefined (zero denominator) are omitted; DLIG's
    per-entry keys name the factor whose regularising latent they describe.
    """
    unknown = sorted(set(metrics) - {"mig", "dmig", "dlig", "xmig"})
    if unknown:
        raise ValueError(f"unknown MIG-family metrics {unknown}; allowed: mig, dmig, dlig, xmig")
    p = _prepare(
        codes,
        factors,
        MIGOptions(estimator, num_bins, n_neighbors, random_state, entropy_estimator, convention),
    )
    mi, h = p.mi, p.entropies
    d, k = mi.shape
    names = factor_labels(factor_names, k)
    per: dict[str, np.ndarray] = {}
    if "mig" in metrics:
        per["mig"] = mig_scores(mi, h, resolve_reg_dim(mi, reg_dim, fill=False))
    if not {"dmig", "dlig", "xmig"} & set(metrics):
        return _collect(per, names)
    reg = resolve_reg_dim(mi, reg_dim, fill=True)
    assert reg is not None
    need_cond = "dmig" in metrics or ("dlig" in metrics and k >= 2)
    cond = p.conditional() if need_cond else np.zeros((k, k))
    if "dmig" in metrics:
        per["dmig"] = dmig_scores(mi, h, cond, reg, convention)
    if "dlig" in metrics and k >= 2:
        per["dlig"] = dlig_scores(p.dlig_mi(reg), cond, reg, convention)
    if "xmig" in metrics and len(set(reg)) < d:
        per["xmig"] = xmig_scores(mi, h, reg)
    return _collect(per, names)


def _collect(per: dict[str, np.ndarray], names: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, values in per.items():
        out[name] = _mean(values)
        for fname, v in zip(names, values, strict=True):
            if np.isfinite(v):
                out[f"{name}/{fname}"] = float(v)
    return out
