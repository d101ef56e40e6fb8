"""BetaVAE disentanglement score (Higgins et al. 2017), as in disentanglement_lib.

Procedure (``beta_vae_score``):

1. For each of ``num_train`` (10,000) training points: pick a factor ``k`` uniformly; draw
   two batches of ``batch_size`` (64) factor vectors and copy factor ``k`` of the first
   batch into the second, so each pair ``(v1_l, v2_l)`` shares factor ``k`` and nothing
   else in particular; render and encode both batches; the feature vector is the mean over
   the batch of ``|z(v1_l) - z(v2_l)|`` (one value per latent dimension) and the label is
   ``k``.
2. Fit a logistic regression on the training points (the disentanglement_lib
   ``compute_beta_vae_sklearn`` variant; the paper used a linear classifier trained with
   SGD); see ``classifier`` below.
3. The score is the classifier's accuracy on ``num_eval`` (5,000) fresh points; the
   training accuracy is reported too.

Only factors with more than one value are chosen as ``k`` (see :mod:`.factor_vae`).

The classifier (``classifier=``, shared with explicitness; :func:`logistic_regression`):

- ``"lbfgs"`` (default): ``LogisticRegression(max_iter=1000)``, scikit-learn's current
  defaults (lbfgs, multinomial softmax, C=1). disentanglement_lib's code run with a
  current scikit-learn builds ``LogisticRegression()`` -- the same model but capped at
  100 iterations; where lbfgs converges within 100 iterations the two agree exactly
  (checked against disentanglement_lib 1.5 with scikit-learn 1.9.1).
- ``"liblinear_ovr"``: one-vs-rest binary logistic regressions fitted with liblinear
  (C=1, its intercept penalised, 100 iterations) -- what ``LogisticRegression()`` was for
  scikit-learn < 0.22, i.e. the classifier behind disentanglement_lib's published numbers.
  It agrees exactly with disentanglement_lib 1.5 run with ``LogisticRegression(
  solver="liblinear", multi_class="ovr")`` (scikit-learn 1.5.2, the last versions that
  still accept it). The two classifiers give the same score where both classify (almost)
  perfectly and differ by up to 0.04 on weak or small-scale codes in the toy cases
  measured (1000/500 points; see the README's metric table).

How the draws are made differs from disentanglement_lib (a ``numpy.random.Generator``, all
factor draws up front, so the same ``rng`` gives other batches than its
``RandomState``); on the same batches (:func:`beta_vae_features_from_batches`) the
features are identical.

Reference: I. Higgins et al. "beta-VAE: Learning basic visual concepts with a constrained
variational framework." ICLR 2017; disentanglement_lib ``evaluation/metrics/beta_vae.py``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from infoprint.metrics.sampling import (
    FactorSampler,
    FixedFactorDraws,
    RepresentationFunction,
    as_factors,
    choose_fixed_factors,
    random_state_from,
    represent_batched,
)

Classifier = Literal["lbfgs", "liblinear_ovr"]

__all__ = [
    "Classifier",
    "beta_vae_accuracy",
    "beta_vae_batches",
    "beta_vae_features",
    "beta_vae_features_from_batches",
    "beta_vae_score",
    "logistic_regression",
]


def logistic_regression(classifier: Classifier = "lbfgs", random_state: int | None = None):
    """The logistic regression of BetaVAE and explicitness (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    if classifier == "lbfgs":
        return LogisticRegression(max_iter=1000, random_state=random_state)
    if classifier == "liblinear_ovr":
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(
            LogisticRegression(solver="liblinear", max_iter=100, random_state=random_state)
        )
    raise ValueError(f"classifier must be 'lbfgs' or 'liblinear_ovr'; got {classifier!r}")


def beta_vae_batches(
    dataset: FactorSampler, rng: np.random.Generator, num_points: int, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``(fixed [P], f1 [P, B, K], f2 [P, B, K])``: pairs that share factor ``fixed``."""
    fixed = choose_fixed_factors(dataset, num_points, rng)
    f1 = as_factors(dataset.sample_factors(num_points * batch_size, rng), "dataset.sample_factors")
    f2 = as_factors(dataset.sample_factors(num_points * batch_size, rng), "dataset.sample_factors")
    f1 = f1.reshape(num_points, batch_size, -1)
    f2 = f2.reshape(num_points, batch_size, -1).copy()
    rows = np.arange(num_points)
    f2[rows, :, fixed] = f1[rows, :, fixed]
    return fixed, f1, f2


def beta_vae_features_from_batches(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    f1: np.ndarray,
    f2: np.ndarray,
    rng: np.random.Generator,
    *,
    represent_batch_size: int = 1024,
) -> np.ndarray:
    """Features ``[P, d]``: ``mean_l |z(v1_l) - z(v2_l)|`` for batches ``f1, f2 [P, B, K]``."""
    num_points, batch_size = f1.shape[:2]
    per_chunk = max(1, represent_batch_size // (2 * batch_size))
    feats = []
    for start in range(0, num_points, per_chunk):
        a, b = f1[start : start + per_chunk], f2[start : start + per_chunk]
        m = a.shape[0]
        both = np.concatenate([a.reshape(m * batch_size, -1), b.reshape(m * batch_size, -1)])
        images = np.asarray(dataset.sample_observations_from_factors(both, rng))
        codes = represent_batched(represent, images, represent_batch_size)
        z1 = codes[: m * batch_size].reshape(m, batch_size, -1)
        z2 = codes[m * batch_size :].reshape(m, batch_size, -1)
        feats.append(np.mean(np.abs(z1 - z2), axis=1))
    return np.concatenate(feats)


def beta_vae_features(draws: FixedFactorDraws, num_points: int) -> tuple[np.ndarray, np.ndarray]:
    """``num_points`` BetaVAE points: features ``[num_points, d]``, labels ``[num_points]``."""
    # All factor draws happen up front, so the chunking does not change the pairs.
    fixed, f1, f2 = beta_vae_batches(draws.dataset, draws.rng, num_points, draws.batch_size)
    feats = beta_vae_features_from_batches(
        draws.dataset,
        draws.represent,
        f1,
        f2,
        draws.rng,
        represent_batch_size=draws.represent_batch_size,
    )
    return feats, fixed


def beta_vae_accuracy(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
    *,
    classifier: Classifier = "lbfgs",
    random_state: int | None = None,
) -> dict[str, float]:
    """Step 2-3 on given features: ``{"train_accuracy", "eval_accuracy"}``."""
    if np.unique(y_train).size < 2:
        # One class only (e.g. a single non-constant factor): the classifier is constant.
        label = y_train[0]
        return {
            "train_accuracy": 1.0,
            "eval_accuracy": float(np.mean(y_eval == label)),
        }
    model = logistic_regression(classifier, random_state)
    model.fit(x_train, y_train)
    return {
        "train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
        "eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval)),
    }


def beta_vae_score(
    draws: FixedFactorDraws, *, classifier: Classifier = "lbfgs"
) -> dict[str, float]:
    """BetaVAE score from ``draws.num_train`` and ``draws.num_eval`` points; returns
    ``{"train_accuracy", "eval_accuracy"}`` (module docstring)."""
    x_train, y_train = beta_vae_features(draws, draws.num_train)
    x_eval, y_eval = beta_vae_features(draws, draws.num_eval)
    return beta_vae_accuracy(
        x_train,
        y_train,
        x_eval,
        y_eval,
        classifier=classifier,
        random_state=random_state_from(draws.rng),
    )
