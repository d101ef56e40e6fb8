"""FactorVAE disentanglement score (Kim & Mnih 2018), as in disentanglement_lib, fixed.

Procedure (``factor_vae_score``):

1. **Global scale.** Draw ``num_variance_estimate`` (10,000) points, encode them and take
   the per-dimension variance ``s_n^2`` (``ddof=1``).
2. **Active dimensions.** Keep dimensions with ``s_n >= active_threshold`` (0.05, Kim &
   Mnih's pruning of collapsed dimensions). With none active the score is 0.
3. **Votes.** For each of ``num_train`` (10,000) training votes: pick a factor ``k``
   uniformly, draw a batch of ``batch_size`` (64) factor vectors, set factor ``k`` of all
   of them to the value of the first, render and encode the batch, divide each active
   dimension's within-batch variance (``ddof=1``) by its global variance and take the
   ``argmin`` over the active dimensions. The vote is the pair ``(k, argmin)``, where the
   argmin is mapped back to the *full* dimension index. (disentanglement_lib's
   ``_generate_training_sample`` returns the index within the active subset but
   accumulates it into a matrix over all dimensions, so votes land on the wrong
   dimension whenever an inactive dimension precedes an active one; here the active
   indices are mapped back with ``np.flatnonzero(active)[argmin]``.)
4. **Majority-vote classifier.** ``V[k, n]`` counts the votes; the classifier maps
   dimension ``n`` to ``argmax_k V[k, n]``. Training accuracy is
   ``sum_n V[argmax_k V[k, n], n] / sum V``; ``num_eval`` (5,000) fresh votes give the
   evaluation accuracy with the same classifier. The score is the evaluation accuracy.

Ties: ``argmin`` and ``argmax`` take the first (lowest) index, as in disentanglement_lib.
On the same batches and with every dimension active, votes and accuracies equal
disentanglement_lib 1.5's (with ``prune_dims.threshold = 0.05``, its study configuration);
the draws themselves differ (a ``numpy.random.Generator`` with all factor draws up front
instead of its ``RandomState`` per batch).

Only factors with more than one value are fixed (fixing a constant factor carries no
signal); disentanglement_lib's datasets contain no such factors, so this matches it there.

Reference: H. Kim, A. Mnih. "Disentangling by factorising." ICML 2018; F. Locatello et
al., ICML 2019 (disentanglement_lib ``evaluation/metrics/factor_vae.py``).
"""

from __future__ import annotations

import numpy as np

from infoprint.metrics.sampling import (
    FactorSampler,
    FixedFactorDraws,
    RepresentationFunction,
    as_factors,
    choose_fixed_factors,
    represent_batched,
    sample_codes_and_factors,
)

__all__ = [
    "factor_vae_score",
    "factor_vae_votes",
    "factor_vae_votes_from_batches",
    "majority_vote_accuracy",
]


def _fixed_factor_batches(
    dataset: FactorSampler, num: int, batch_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``num`` batches of ``batch_size`` factor vectors, each with one factor held fixed.

    Returns ``(fixed [num], factors [num, batch_size, K])``.
    """
    fixed = choose_fixed_factors(dataset, num, rng)
    factors = as_factors(dataset.sample_factors(num * batch_size, rng), "dataset.sample_factors")
    factors = factors.reshape(num, batch_size, -1).copy()
    factors[np.arange(num), :, fixed] = factors[np.arange(num), 0, fixed][:, None]
    return fixed, factors


def factor_vae_votes(
    draws: FixedFactorDraws, num_votes: int, global_variances: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Vote matrix ``V [K, d]`` (int64) from ``num_votes`` fixed-factor batches (step 3)."""
    # All random draws of factors happen up front, so the chunking (how many images go
    # through ``represent`` per call) does not change which votes are cast.
    fixed, factors = _fixed_factor_batches(draws.dataset, num_votes, draws.batch_size, draws.rng)
    return factor_vae_votes_from_batches(
        draws.dataset,
        draws.represent,
        fixed,
        factors,
        global_variances,
        active,
        draws.rng,
        represent_batch_size=draws.represent_batch_size,
    )


def factor_vae_votes_from_batches(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    fixed: np.ndarray,
    factors: np.ndarray,
    global_variances: np.ndarray,
    active: np.ndarray,
    rng: np.random.Generator,
    *,
    represent_batch_size: int = 1024,
) -> np.ndarray:
    """Votes ``V [K, d]`` for given batches ``factors [P, B, K]`` with factor ``fixed [P]``
    held fixed in batch ``p`` (step 3; ``rng`` only renders the observations)."""
    k = len(dataset.factor_sizes)
    d = global_variances.shape[0]
    num_votes, batch_size = factors.shape[:2]
    active_idx = np.flatnonzero(active)
    votes = np.zeros((k, d), dtype=np.int64)
    per_chunk = max(1, represent_batch_size // batch_size)
    for start in range(0, num_votes, per_chunk):
        f = factors[start : start + per_chunk]
        m = f.shape[0]
        images = np.asarray(
            dataset.sample_observations_from_factors(f.reshape(m * batch_size, -1), rng)
        )
        codes = represent_batched(represent, images, represent_batch_size)
        if codes.shape[1] != d:
            raise ValueError(f"the representation has {codes.shape[1]} dims, expected {d}")
        local = np.var(codes.reshape(m, batch_size, d), axis=1, ddof=1)
        ratio = local[:, active_idx] / global_variances[active_idx]
        argmin = active_idx[np.argmin(ratio, axis=1)]  # back to full dimension indices
        np.add.at(votes, (fixed[start : start + m], argmin), 1)
    return votes


def majority_vote_accuracy(
    train_votes: np.ndarray, eval_votes: np.ndarray | None = None
) -> tuple[float, float]:
    """Accuracy of the majority-vote classifier ``n -> argmax_k train_votes[k, n]`` (step 4).

    Returns ``(train_accuracy, eval_accuracy)``; ``eval_votes=None`` reuses the training
    votes.
    """
    train_votes = np.asarray(train_votes)
    eval_votes = train_votes if eval_votes is None else np.asarray(eval_votes)
    classifier = np.argmax(train_votes, axis=0)
    cols = np.arange(train_votes.shape[1])
    train_acc = train_votes[classifier, cols].sum() / max(1, train_votes.sum())
    eval_acc = eval_votes[classifier, cols].sum() / max(1, eval_votes.sum())
    return float(train_acc), float(eval_acc)


def factor_vae_score(
    draws: FixedFactorDraws,
    *,
    num_variance_estimate: int = 10_000,
    active_threshold: float = 0.05,
) -> dict[str, float]:
    """FactorVAE score (see the module docstring for the exact procedure).

    Returns ``{"train_accuracy", "eval_accuracy", "num_active_dims"}`` from
    ``draws.num_train`` and ``draws.num_eval`` votes. Defaults are the paper's /
    disentanglement_lib's.
    """
    if draws.batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 to estimate a variance; got {draws.batch_size}")
    codes, _ = sample_codes_and_factors(
        draws.dataset, draws.represent, num_variance_estimate, draws.rng, draws.represent_batch_size
    )
    global_variances = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(global_variances) >= active_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
    train_votes = factor_vae_votes(draws, draws.num_train, global_variances, active)
    eval_votes = factor_vae_votes(draws, draws.num_eval, global_variances, active)
    train_acc, eval_acc = majority_vote_accuracy(train_votes, eval_votes)
    return {
        "train_accuracy": train_acc,
        "eval_accuracy": eval_acc,
        "num_active_dims": float(active.sum()),
    }
