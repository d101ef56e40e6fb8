"""BetaVAE disentanglement score (Higgins et al. 2017), as in disentanglement_lib.

Procedure (``beta_vae_score``):

1. For each of ``num_train`` (10,000) training points: pick a factor ``k`` uniformly; draw
   two batches of ``batch_size`` (64) factor vectors and copy factor ``k`` of the first
   batch into the second, so each pair ``(v1_l, v2_l)`` shares factor ``k`` and nothing
   else in particular; render and encode both batches; the feature vector is the mean over
   the batch of ``|z(v1_l) - z(v2_l)|`` (one value per latent dimension) and the label is
   ``k``.
2. Fit ``sklearn.linear_model.LogisticRegression`` on the training points (the
   disentanglement_lib ``compute_beta_vae_sklearn`` variant; the paper used a linear
   classifier trained with SGD).
3. The score is the classifier's accuracy on ``num_eval`` (5,000) fresh points; the
   training accuracy is reported too.

Only factors with more than one value are chosen as ``k`` (see :mod:`.factor_vae`). The
classifier uses scikit-learn's current defaults (lbfgs, multinomial) with
``max_iter=1000``; disentanglement_lib ran an older scikit-learn whose default was
liblinear one-vs-rest, so its numbers can differ slightly.

Reference: I. Higgins et al. "beta-VAE: Learning basic visual concepts with a constrained
variational framework." ICLR 2017; disentanglement_lib ``evaluation/metrics/beta_vae.py``.
"""

from __future__ import annotations

import numpy as np

from infoprint.metrics.sampling import (
    FactorSampler,
    RepresentationFunction,
    as_factors,
    random_state_from,
    represent_batched,
)

__all__ = ["beta_vae_features", "beta_vae_score"]


def beta_vae_features(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    num_points: int,
    *,
    batch_size: int = 64,
    represent_batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """``num_points`` BetaVAE points: features ``[num_points, d]``, labels ``[num_points]``."""
    sizes = np.asarray(dataset.factor_sizes)
    candidates = np.flatnonzero(sizes > 1)
    if candidates.size == 0:
        raise ValueError("the dataset has no factor with more than one value")
    # All factor draws happen up front, so the chunking below does not change the pairs.
    fixed = candidates[rng.integers(0, candidates.size, size=num_points)]
    f1 = as_factors(dataset.sample_factors(num_points * batch_size, rng), "dataset.sample_factors")
    f2 = as_factors(dataset.sample_factors(num_points * batch_size, rng), "dataset.sample_factors")
    f1 = f1.reshape(num_points, batch_size, -1)
    f2 = f2.reshape(num_points, batch_size, -1).copy()
    rows = np.arange(num_points)
    f2[rows, :, fixed] = f1[rows, :, fixed]
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
    labels = fixed
    return np.concatenate(feats), labels


def beta_vae_score(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    represent_batch_size: int = 1024,
) -> dict[str, float]:
    """BetaVAE score; returns ``{"train_accuracy", "eval_accuracy"}`` (module docstring)."""
    from sklearn.linear_model import LogisticRegression

    kwargs = {"batch_size": batch_size, "represent_batch_size": represent_batch_size}
    x_train, y_train = beta_vae_features(dataset, represent, rng, num_train, **kwargs)
    x_eval, y_eval = beta_vae_features(dataset, represent, rng, num_eval, **kwargs)
    if np.unique(y_train).size < 2:
        # One class only (e.g. a single non-constant factor): the classifier is constant.
        label = y_train[0]
        return {
            "train_accuracy": 1.0,
            "eval_accuracy": float(np.mean(y_eval == label)),
        }
    model = LogisticRegression(max_iter=1000, random_state=random_state_from(rng))
    model.fit(x_train, y_train)
    return {
        "train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
        "eval_accuracy": float(model.score(x_eval, y_eval)),
    }
