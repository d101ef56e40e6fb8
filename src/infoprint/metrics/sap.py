"""Separated Attribute Predictability (SAP; Kumar et al. 2018), as in disentanglement_lib.

Procedure (``sap``):

1. Score matrix ``S [d, K]``. Discrete factors (default, disentanglement_lib's
   classification variant): for every latent ``n`` and factor ``k`` fit
   ``sklearn.svm.LinearSVC(C=0.01, class_weight="balanced")`` on the single feature
   ``z_n`` of the training points to predict ``a_k``; ``S[n, k]`` is its accuracy on the
   test points. With ``continuous_factors=True`` (the paper's regression variant) ``S[n, k]``
   is the squared correlation ``cov(z_n, a_k)^2 / (var z_n var a_k)`` on the training
   points (0 when ``var z_n <= 1e-12``); the test set is then unused.
2. ``SAP = mean_k (top-1 - top-2 of S[:, k])``.

Note on scale (a property of the classification variant, not a bug): an uninformative
latent still predicts at chance level, so even a perfect code scores at most
``1 - chance accuracy`` per factor (about 0.5 for a balanced binary factor), and a
one-feature linear one-vs-rest classifier cannot separate the middle values of a factor
with many ordered values, so perfect codes of such factors score lower still. Use
``continuous_factors=True`` for a score that reaches 1 on linear codes.

If no test set is given, the last ``test_fraction`` (1/3, i.e. disentanglement_lib's
10,000 train / 5,000 test) of the sample is held out. A factor that is constant on the
training points gets the accuracy of predicting that constant (identical for every
latent, so its gap is 0).

Conventions against disentanglement_lib 1.5 (``_compute_sap``): identical on the same
arrays with the same scikit-learn (pinned in ``tests/unit/metrics/test_metrics_conformance.py``).
``LinearSVC``'s default ``dual`` became ``"auto"`` in scikit-learn 1.5 (primal when there
are more points than features, as here); disentanglement_lib's era used ``dual=True``,
which gave the same score on the pinned case. Ties for the top two are irrelevant (only
the sorted values are used).

Reference: A. Kumar, P. Sattigeri, A. Balakrishnan. "Variational inference of
disentangled latent concepts from unlabeled observations." ICLR 2018; disentanglement_lib
``evaluation/metrics/sap_score.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from infoprint.metrics.sampling import check_codes_factors, split_train_test

__all__ = ["sap", "sap_score_matrix", "top2_gap_mean"]


def sap_score_matrix(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    continuous_factors: bool = False,
    C: float = 0.01,
) -> np.ndarray:
    """The ``[d, K]`` predictability matrix of step 1."""
    d = codes.shape[1]
    k = factors.shape[1]
    out = np.zeros((d, k))
    if continuous_factors:
        for n in range(d):
            for j in range(k):
                cov = np.cov(codes[:, n], factors[:, j].astype(np.float64), ddof=1)
                var_z, var_y = cov[0, 0], cov[1, 1]
                if var_z > 1e-12 and var_y > 0:
                    out[n, j] = cov[0, 1] ** 2 / (var_z * var_y)
        return out

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    for j in range(k):
        y, y_test = factors[:, j], factors_test[:, j]
        classes = np.unique(y)
        if classes.size < 2:
            out[:, j] = np.mean(y_test == classes[0])
            continue
        for n in range(d):
            clf = LinearSVC(C=C, class_weight="balanced")
            with warnings.catch_warnings():
                # C=0.01 is strong regularisation; liblinear may stop at max_iter on
                # uninformative latents, which only affects those (low) accuracies.
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(codes[:, n : n + 1], y)
            out[n, j] = np.mean(clf.predict(codes_test[:, n : n + 1]) == y_test)
    return out


def top2_gap_mean(matrix: np.ndarray) -> float:
    """Mean over columns of (largest - second largest entry); needs >= 2 rows."""
    if matrix.shape[0] < 2:
        raise ValueError("SAP needs at least two latent dimensions")
    s = np.sort(matrix, axis=0)
    return float(np.mean(s[-1] - s[-2]))


def sap(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    codes_test: Any | None = None,
    factors_test: Any | None = None,
    test_fraction: float = 1 / 3,
    continuous_factors: bool = False,
    C: float = 0.01,
) -> float:
    """SAP score (module docstring). ``codes [N, d]``, ``factors [N, K]`` (int)."""
    codes, factors = check_codes_factors(codes, factors)
    if continuous_factors and codes_test is None:
        tr_c, tr_f, te_c, te_f = codes, factors, codes, factors
    else:
        tr_c, tr_f, te_c, te_f = split_train_test(
            codes, factors, codes_test, factors_test, test_fraction
        )
    matrix = sap_score_matrix(tr_c, tr_f, te_c, te_f, continuous_factors=continuous_factors, C=C)
    return top2_gap_mean(matrix)
