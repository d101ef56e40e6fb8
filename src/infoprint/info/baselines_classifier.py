"""Jensen–Shannon divergence between classifiers of point identity.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Fig. 2 (``jsd`` in the authors'
``Similarity_comparison_synthetic.ipynb``): for each space a classifier learns to predict
which probe point x_j produced a sample u ~ q(u|x_i). Its average prediction per point,

    p̄(x̂_j | x_i) = E_{u ~ q(u|x_i)} p(x̂_j | u),

is compared between two spaces by the mean over i of the JSD of the rows,
``JSD_ab = (1/N) Σ_i JSD(p̄_a(·|x_i), p̄_b(·|x_i))`` (here in bits, so in [0, 1]; the
notebook reports nats). The classifier's information is ``log2 N − CE`` with
``CE = −(1/N) Σ_i log2 p̄(x̂_i | x_i)``.

The notebook trains an MLP (two hidden layers of 256) for 10,000 Adam steps. Here the
classifier is a multinomial logistic regression (scikit-learn) on the features (u, u∘u):
for diagonal Gaussian posteriors and uniform x the Bayes posterior is
``p(x_j|u) ∝ exp(−Σ_d (u_d − μ_jd)²/(2σ²_jd) − ½ Σ_d ln σ²_jd)``, a softmax of a function
linear in u and u∘u, so the model class contains the optimal classifier and needs no
architecture search. :func:`bayes_predictions` gives that optimal classifier's p̄ exactly
(up to the Monte Carlo average over u), the limit of infinite training data.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "bayes_predictions",
    "classifier_information",
    "classifier_predictions",
    "prediction_jsd",
]


def _space(mu: np.ndarray, logvar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(mu, np.float64)
    m = m.reshape(len(m), -1)
    lv = np.asarray(logvar, np.float64).reshape(m.shape)
    return m, lv


def _samples(
    mu: np.ndarray, logvar: np.ndarray, per_point: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``per_point`` samples u ~ q(u|x_i) for every i: ``u [N·per_point, d]``, labels i."""
    labels = np.repeat(np.arange(len(mu)), per_point)
    u = mu[labels] + np.exp(0.5 * logvar[labels]) * rng.standard_normal((len(labels), mu.shape[1]))
    return u, labels


def _features(u: np.ndarray) -> np.ndarray:
    return np.concatenate([u, u * u], axis=1)


def classifier_predictions(
    mu: np.ndarray,
    logvar: np.ndarray,
    *,
    n_train: int = 200,
    n_eval: int = 200,
    c: float = 1e4,
    seed: int = 0,
) -> np.ndarray:
    """p̄(x̂_j | x_i) ``[N, N]`` of a logistic-regression classifier of point identity.

    Trains on ``n_train`` posterior samples per point (features (u, u∘u), standardised;
    inverse regularisation strength ``c``), then averages the predicted distributions over
    ``n_eval`` fresh samples per point. Rows sum to 1.
    """
    mu, logvar = _space(mu, logvar)
    rng = np.random.default_rng(seed)
    u, y = _samples(mu, logvar, n_train, rng)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    model.fit(_features(u), y)
    u, y = _samples(mu, logvar, n_eval, rng)
    proba = model.predict_proba(_features(u))  # classes are 0..N-1 in order
    return proba.reshape(len(mu), n_eval, len(mu)).mean(1)


def bayes_predictions(
    mu: np.ndarray, logvar: np.ndarray, *, n_eval: int = 200, seed: int = 0
) -> np.ndarray:
    """p̄(x̂_j | x_i) ``[N, N]`` of the Bayes-optimal classifier (uniform prior over points).

    ``p(x_j|u) = q(u|x_j) / Σ_k q(u|x_k)`` averaged over ``n_eval`` samples u ~ q(u|x_i).
    """
    mu, logvar = _space(mu, logvar)
    u, _ = _samples(mu, logvar, n_eval, np.random.default_rng(seed))
    inv = np.exp(-logvar)  # [N, d]
    quad = (u * u) @ inv.T - 2 * u @ (mu * inv).T + np.sum(mu * mu * inv, 1)
    logits = -0.5 * (quad + logvar.sum(1))  # [S, N]
    return softmax(logits, axis=1).reshape(len(mu), n_eval, len(mu)).mean(1)


def _check(pred: np.ndarray) -> np.ndarray:
    p = np.asarray(pred, np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"predictions must be [N, N]; got {p.shape}")
    return p


def classifier_information(pred: np.ndarray) -> float:
    """``log2 N − CE`` bits: the information the classifier recovers about x (notebook)."""
    p = _check(pred)
    n = len(p)
    diag = np.clip(np.diagonal(p), np.finfo(np.float64).tiny, None)
    return float(np.log2(n) + np.mean(np.log2(diag)))


def prediction_jsd(pred_a: np.ndarray, pred_b: np.ndarray) -> float:
    """Mean over points of the Jensen–Shannon divergence of two rows of p̄, in bits."""
    pa, pb = _check(pred_a), _check(pred_b)
    if pa.shape != pb.shape:
        raise ValueError(f"predictions differ in shape: {pa.shape} vs {pb.shape}")

    def kl(p: np.ndarray) -> np.ndarray:
        ratio = np.divide(2 * p, pa + pb, out=np.ones_like(p), where=p > 0)
        return np.sum(p * np.log2(ratio), axis=1)

    return float(np.mean(0.5 * (kl(pa) + kl(pb))))
