"""Modularity and explicitness (Ridgeway & Zemel 2018), as in disentanglement_lib.

Modularity (``modularity``):

1. ``I [d, K]``: MI between each latent, discretised into 20 equal-width bins, and each
   factor (the same estimator as MIG; :func:`infoprint.metrics.mig.mutual_info_matrix`).
2. For latent ``n`` let ``theta_n = max_k I_nk`` and ``delta_n = (sum_k I_nk^2 -
   theta_n^2) / (theta_n^2 (K - 1))``: the deviation from an ideal template that puts all
   of the latent's information on its best factor. The latent's modularity is
   ``1 - delta_n``, or 0 for a latent with no information (``theta_n = 0``).
3. ``modularity = mean_n (1 - delta_n)``. With a single factor every informative latent
   is modular (score 1).

Explicitness (``explicitness``):

1. Standardise the codes with the training mean and standard deviation (a constant latent
   keeps scale 1).
2. For every factor fit a logistic regression on all latents, and take the
   macro-averaged one-vs-rest ROC AUC of ``predict_proba`` on the training points
   (``train``) and test points (``test``); classes absent from a set (or constant there)
   are left out of that set's average (disentanglement_lib fails on a test set that
   lacks a class).
3. Average over factors (disentanglement_lib averages over all factors; a constant
   factor, which has no ROC curve, is left out here).

``classifier`` is ``"lbfgs"`` (default: scikit-learn's current defaults with
``max_iter=1000``; disentanglement_lib run with a current scikit-learn uses the same model
capped at 100 iterations and agrees exactly where that converges) or ``"liblinear_ovr"``
(the scikit-learn < 0.22 default behind disentanglement_lib's published numbers); see
:mod:`.beta_vae`. Test explicitness moved by up to 0.018 between the two in the cases measured.
If no test set is given, the last ``test_fraction`` (1/3) of the sample is held out.

Modularity conventions: MI in nats (the unit cancels); a latent whose largest MI is
exactly 0 scores 0 (latte-metrics: largest MI below ``1e-12``); with one factor every
informative latent scores 1 (disentanglement_lib divides 0 by 0 there, and latte-metrics
refuses). With ``estimator="knn"`` and the same ``random_state`` modularity equals
latte-metrics' ``modularity(z, a, discrete=True)`` averaged over latents; with the default
histogram estimator it equals disentanglement_lib's ``modularity_score``.

Reference: K. Ridgeway, M. C. Mozer. "Learning deep disentangled embeddings with the
F-statistic loss." NeurIPS 2018; disentanglement_lib
``evaluation/metrics/modularity_explicitness.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infoprint.metrics.beta_vae import Classifier, logistic_regression
from infoprint.metrics.mig import mutual_info_matrix
from infoprint.metrics.sampling import check_codes_factors, split_train_test

__all__ = ["explicitness", "modularity", "modularity_from_mi"]


def modularity_from_mi(mi: np.ndarray) -> float:
    """Modularity from an MI matrix ``[d, K]`` (steps 2-3)."""
    mi = np.asarray(mi, dtype=np.float64)
    k = mi.shape[1]
    sq = np.square(mi)
    theta2 = sq.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if k > 1:
            delta = (sq.sum(axis=1) - theta2) / (theta2 * (k - 1))
        else:
            delta = np.zeros_like(theta2)
        score = 1.0 - delta
    score[theta2 == 0.0] = 0.0
    return float(np.mean(score))


def modularity(codes: np.ndarray, factors: np.ndarray, **estimate: Any) -> float:
    """Modularity score (module docstring); ``codes [N, d]``, ``factors [N, K]`` (int);
    ``estimate``: the MI estimator's options of
    :func:`~infoprint.metrics.mig.mutual_info_matrix` (estimator "histogram" with
    num_bins 20 by default, or "knn" with n_neighbors and random_state)."""
    return modularity_from_mi(mutual_info_matrix(codes, factors, **estimate))


def _macro_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    aucs = []
    for c, cls in enumerate(classes):
        target = (y == cls).astype(np.int64)
        if 0 < target.sum() < target.size:
            aucs.append(roc_auc_score(target, proba[:, c]))
    return float(np.mean(aucs)) if aucs else float("nan")


def explicitness(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    codes_test: Any | None = None,
    factors_test: Any | None = None,
    test_fraction: float = 1 / 3,
    classifier: Classifier = "lbfgs",
) -> dict[str, float]:
    """Explicitness (module docstring); returns ``{"train", "test"}`` mean ROC AUCs."""
    codes, factors = check_codes_factors(codes, factors)
    tr_c, tr_f, te_c, te_f = split_train_test(
        codes, factors, codes_test, factors_test, test_fraction
    )
    mean = tr_c.mean(axis=0)
    std = tr_c.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    tr_c = (tr_c - mean) / std
    te_c = (te_c - mean) / std
    train, test = [], []
    for j in range(tr_f.shape[1]):
        y, y_test = tr_f[:, j], te_f[:, j]
        classes = np.unique(y)
        if classes.size < 2:
            continue  # a constant factor has no ROC curve
        clf = logistic_regression(classifier).fit(tr_c, y)
        train.append(_macro_auc(y, clf.predict_proba(tr_c), clf.classes_))
        test.append(_macro_auc(y_test, clf.predict_proba(te_c), clf.classes_))
    tr = np.asarray(train, dtype=np.float64)
    te = np.asarray(test, dtype=np.float64)
    return {
        "train": float(np.nanmean(tr)) if np.isfinite(tr).any() else float("nan"),
        "test": float(np.nanmean(te)) if np.isfinite(te).any() else float("nan"),
    }
