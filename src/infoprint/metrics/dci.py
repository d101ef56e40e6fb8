"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams 2018).

Procedure (``dci``, as disentanglement_lib's ``compute_dci``):

1. For every factor ``k`` fit ``sklearn.ensemble.GradientBoostingClassifier`` (defaults:
   100 trees of depth 3; ``n_estimators`` can be lowered for speed) on the training codes.
   Column ``k`` of the importance matrix ``R [d, K]`` is ``|feature_importances_|``.
   Informativeness is the classifier's accuracy, averaged over factors, on the training
   points (``informativeness_train``) and on the test points (``informativeness_test``).
2. Disentanglement of latent ``n``: ``D_n = 1 - H_K(P_n.)`` with
   ``P_nk = R_nk / sum_k R_nk`` and ``H_K`` the entropy with logarithm base ``K``;
   ``disentanglement = sum_n rho_n D_n`` with ``rho_n = sum_k R_nk / sum R``.
3. Completeness of factor ``k``: ``C_k = 1 - H_d(P~_.k)`` with ``P~_nk = R_nk / sum_n R_nk``
   and base ``d``; ``completeness = sum_k rho~_k C_k`` with ``rho~_k = sum_n R_nk / sum R``.

disentanglement_lib builds ``GradientBoostingClassifier()`` unseeded (the global NumPy
``RandomState``, which only breaks ties between equally good splits); infoprint seeds it
(``random_state``, 0 by default). With ``random_state=0`` on both sides the scores agree
exactly with disentanglement_lib 1.5 (pinned in the conformance tests).
As in disentanglement_lib, ``1e-11`` is added to the importances before the entropies, and
an all-zero importance matrix gets uniform weights ``rho``. If no test set is given, the
last ``test_fraction`` (1/3) of the sample is held out.

Reference: C. Eastwood, C. K. I. Williams. "A framework for the quantitative evaluation of
disentangled representations." ICLR 2018; disentanglement_lib ``evaluation/metrics/dci.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infoprint.metrics.sampling import check_codes_factors, split_train_test

__all__ = ["completeness", "dci", "dci_importance", "disentanglement"]


def _entropy_columns(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy (log base ``base``) of each column of a non-negative matrix, normalised."""
    p = p / p.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=0) / np.log(base)


def _weighted_specificity(importance: np.ndarray, axis: int) -> float:
    """Importance-weighted mean of ``1 - H(p)`` over the lines of ``importance`` along
    ``axis`` (0: latents, each over the K factors; 1: factors, each over the d latents),
    entropy in base (number of entries of a line); 1 when a line has a single entry."""
    importance = np.asarray(importance, dtype=np.float64)
    lines = importance if axis == 0 else importance.T  # [n lines, entries]
    entries = lines.shape[1]
    if entries < 2:
        per_line = np.ones(lines.shape[0])
    else:
        per_line = 1.0 - _entropy_columns(lines.T + 1e-11, entries)
    weights = lines if importance.sum() > 0 else np.ones_like(lines)
    return float(np.sum(per_line * weights.sum(axis=1) / weights.sum()))


def disentanglement(importance: np.ndarray) -> float:
    """Importance-weighted mean over latents of ``1 - H_K(row)`` (step 2)."""
    return _weighted_specificity(importance, axis=0)


def completeness(importance: np.ndarray) -> float:
    """Importance-weighted mean over factors of ``1 - H_d(column)`` (step 3)."""
    return _weighted_specificity(importance, axis=1)


def dci_importance(
    codes: np.ndarray,
    factors: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    n_estimators: int = 100,
    random_state: int | None = 0,
) -> tuple[np.ndarray, float, float]:
    """Step 1: ``(importance [d, K], train accuracy, test accuracy)``."""
    from sklearn.ensemble import GradientBoostingClassifier

    d, k = codes.shape[1], factors.shape[1]
    importance = np.zeros((d, k))
    train_acc, test_acc = [], []
    for j in range(k):
        y, y_test = factors[:, j], factors_test[:, j]
        classes = np.unique(y)
        if classes.size < 2:
            # A constant factor: nothing to learn, no latent is important for it.
            train_acc.append(1.0)
            test_acc.append(float(np.mean(y_test == classes[0])))
            continue
        model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=random_state)
        model.fit(codes, y)
        importance[:, j] = np.abs(model.feature_importances_)
        train_acc.append(float(np.mean(model.predict(codes) == y)))
        test_acc.append(float(np.mean(model.predict(codes_test) == y_test)))
    return importance, float(np.mean(train_acc)), float(np.mean(test_acc))


def dci(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    codes_test: Any | None = None,
    factors_test: Any | None = None,
    test_fraction: float = 1 / 3,
    n_estimators: int = 100,
    random_state: int | None = 0,
) -> dict[str, float]:
    """DCI scores (module docstring).

    Returns ``{"disentanglement", "completeness", "informativeness_train",
    "informativeness_test"}``.
    """
    codes, factors = check_codes_factors(codes, factors)
    tr_c, tr_f, te_c, te_f = split_train_test(
        codes, factors, codes_test, factors_test, test_fraction
    )
    importance, train_acc, test_acc = dci_importance(
        tr_c, tr_f, te_c, te_f, n_estimators=n_estimators, random_state=random_state
    )
    return {
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
        "informativeness_train": train_acc,
        "informativeness_test": test_acc,
    }
