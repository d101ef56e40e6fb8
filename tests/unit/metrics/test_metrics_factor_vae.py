"""FactorVAE score and BetaVAE score on a toy ground-truth dataset."""

from __future__ import annotations

import numpy as np
import pytest
from metrics_toys import ToyFactors, ground_truth_repr, random_repr, rotation

from infoprint.data.base import GroundTruthDataset
from infoprint.metrics.beta_vae import beta_vae_features, beta_vae_score
from infoprint.metrics.factor_vae import (
    factor_vae_score,
    factor_vae_votes,
    majority_vote_accuracy,
)
from infoprint.metrics.sampling import FixedFactorDraws

SIZES = {"num_train": 300, "num_eval": 200}
ESTIMATE = 1000  # num_variance_estimate


def small_score(ds, represent, rng, **sizes):
    """The FactorVAE score on small draws."""
    draws = FixedFactorDraws(ds, represent, rng, **(SIZES | sizes))
    return factor_vae_score(draws, num_variance_estimate=ESTIMATE)


def test_toy_dataset_follows_the_protocol():
    assert isinstance(ToyFactors(), GroundTruthDataset)


def test_ground_truth_representation_scores_one():
    ds = ToyFactors((3, 4, 5))
    out = small_score(ds, ground_truth_repr(extra_dims=2), np.random.default_rng(0))
    assert out["train_accuracy"] == 1.0
    assert out["eval_accuracy"] == 1.0
    assert out["num_active_dims"] == 5.0


def test_score_is_invariant_to_permuting_codes():
    ds = ToyFactors((3, 4, 5))
    perm = [4, 2, 0, 3, 1]
    for represent in (
        ground_truth_repr(extra_dims=2),
        ground_truth_repr(extra_dims=2, permutation=perm),
    ):
        out = small_score(ds, represent, np.random.default_rng(0))
        assert out["eval_accuracy"] == 1.0


def test_random_codes_score_at_chance():
    # Votes are independent of the factor, so the majority-vote classifier is right about
    # 1/K of the time (a little more on the training votes it was fitted to).
    ds = ToyFactors((3, 4, 5, 6))
    draws = FixedFactorDraws(
        ds, random_repr(6), np.random.default_rng(1), num_train=400, num_eval=400
    )
    out = factor_vae_score(draws, num_variance_estimate=500)
    assert out["eval_accuracy"] < 0.25 + 0.1


def test_rotated_representation_loses_accuracy():
    # Two of three factors mixed by a 45-degree rotation: fixing either of them leaves
    # both mixed latents varying, so votes for factors 0 and 1 become ambiguous.
    ds = ToyFactors((6, 6, 6))
    gt = ground_truth_repr(scale=1.0, noise=0.01)
    rot = rotation(3)

    def rotated(images):
        return (gt(images) - 0.5) @ rot.T

    out = small_score(ds, rotated, np.random.default_rng(2))
    assert out["eval_accuracy"] < 0.85


def test_votes_land_on_full_dimension_indices():
    # Inactive dimensions (a constant one and one with std 0.01 < 0.05) come first; the
    # argmin over the active subset must be mapped back to full indices 2, 3, 4.
    ds = ToyFactors((3, 4, 5))
    gt = ground_truth_repr(extra_dims=0)
    rng = np.random.default_rng(3)

    def represent(images):
        z = gt(images)
        n = z.shape[0]
        return np.concatenate([np.zeros((n, 1)), 0.01 * rng.standard_normal((n, 1)), z], 1)

    codes = represent(ds.sample_observations_from_factors(ds.sample_factors(2000, rng), rng))
    variances = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(variances) >= 0.05
    np.testing.assert_array_equal(active, [False, False, True, True, True])
    votes = factor_vae_votes(FixedFactorDraws(ds, represent, rng), 300, variances, active)
    assert votes.shape == (3, 5)
    assert votes[:, :2].sum() == 0  # never a vote for an inactive dimension
    assert votes.sum() == 300
    # factor k is always identified by latent 2 + k
    off_diagonal = votes[:, 2:] - np.diag(np.diag(votes[:, 2:]))
    assert off_diagonal.sum() == 0
    out = small_score(ds, represent, np.random.default_rng(4))
    assert out == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3.0}


def test_no_active_dimension_scores_zero():
    ds = ToyFactors((3, 4))

    def collapsed(images):
        return np.full((images.shape[0], 4), 0.3)

    out = small_score(ds, collapsed, np.random.default_rng(0))
    assert out == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}


def test_majority_vote_accuracy_closed_form():
    votes = np.array([[5, 0, 1], [1, 4, 1], [0, 0, 8]])
    train, _ = majority_vote_accuracy(votes)
    assert train == pytest.approx((5 + 4 + 8) / 20)
    eval_votes = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 2]])
    assert majority_vote_accuracy(votes, eval_votes)[1] == pytest.approx(4 / 5)


def test_constant_factor_is_never_fixed():
    ds = ToyFactors((3, 1, 4))
    rng = np.random.default_rng(5)
    represent = ground_truth_repr(extra_dims=1)
    codes = represent(ds.sample_observations_from_factors(ds.sample_factors(500, rng), rng))
    variances = np.var(codes, axis=0, ddof=1)
    draws = FixedFactorDraws(ds, represent, rng)
    votes = factor_vae_votes(draws, 200, variances, np.sqrt(variances) >= 0.05)
    assert votes[1].sum() == 0


def test_same_seed_same_score_regardless_of_represent_batch_size():
    ds = ToyFactors((3, 4, 5))
    mix = np.random.default_rng(0).normal(size=(3, 4))

    def represent(images):  # deterministic and entangled, so votes vary
        return np.tanh(images.reshape(images.shape[0], -1) @ mix)

    results = [
        small_score(ds, represent, np.random.default_rng(9), represent_batch_size=b)
        for b in (64, 256, 1000)
    ]
    assert results[0] == results[1] == results[2]
    betas = [
        beta_vae_score(
            FixedFactorDraws(
                ds,
                represent,
                np.random.default_rng(9),
                num_train=100,
                num_eval=50,
                represent_batch_size=b,
            )
        )
        for b in (128, 1000)
    ]
    assert betas[0] == betas[1]


# ----------------------------------------------------------------------------- BetaVAE


def test_beta_vae_ground_truth_scores_one_and_random_near_chance():
    ds = ToyFactors((3, 4, 5))
    good = beta_vae_score(
        FixedFactorDraws(
            ds,
            ground_truth_repr(extra_dims=2),
            np.random.default_rng(0),
            num_train=300,
            num_eval=150,
        )
    )
    assert good["train_accuracy"] == 1.0 and good["eval_accuracy"] == 1.0
    bad = beta_vae_score(
        FixedFactorDraws(ds, random_repr(5), np.random.default_rng(1), num_train=300, num_eval=300)
    )
    assert bad["eval_accuracy"] < 1 / 3 + 0.12


def test_beta_vae_features_are_smallest_on_the_fixed_factor():
    ds = ToyFactors((4, 4, 4))
    draws = FixedFactorDraws(
        ds, ground_truth_repr(noise=0.0), np.random.default_rng(2), batch_size=16
    )
    x, y = beta_vae_features(draws, 60)
    assert x.shape == (60, 3) and y.shape == (60,)
    np.testing.assert_array_equal(x[np.arange(60), y], 0.0)  # identical values, no noise
    np.testing.assert_array_equal(np.argmin(x, axis=1), y)
