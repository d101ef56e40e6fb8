"""IWAE estimate on a linear-Gaussian model where log p(x) and the ELBO are closed form.

Model: z ~ N(0, I_2), x | z ~ N(W z + b, s^2 I_3) with orthogonal columns of W, so that
the exact posterior is a diagonal Gaussian:
  Sigma = (I + W^T W / s^2)^-1 (diagonal),  m(x) = Sigma W^T (x - b) / s^2,
and log p(x) = log N(x; b, W W^T + s^2 I).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from infoprint.metrics.iwae import (
    bernoulli_log_likelihood,
    diagonal_gaussian_log_prob,
    elbo_from_log_weights,
    iwae_estimate,
    iwae_from_log_weights,
    iwae_log_likelihood,
    standard_normal_log_prob,
)

S = 0.5
W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
B_VEC = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
POST_VAR = 1.0 / (1.0 + (W**2).sum(0) / S**2)  # diagonal of Sigma


def sample_x(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn((n, 2), generator=g, dtype=torch.float64)
    return z @ W.T + B_VEC + S * torch.randn((n, 3), generator=g, dtype=torch.float64)


def true_log_px(x: torch.Tensor) -> torch.Tensor:
    cov = W @ W.T + S**2 * torch.eye(3, dtype=torch.float64)
    return torch.distributions.MultivariateNormal(B_VEC, covariance_matrix=cov).log_prob(x)


def log_likelihood(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    mean = z @ W.T + B_VEC
    return -0.5 * (math.log(2 * math.pi * S**2) * 3 + ((x - mean) ** 2).sum(-1) / S**2)


def exact_encoder(x: torch.Tensor):
    mu = (x - B_VEC) @ W * POST_VAR / S**2
    return mu, torch.log(POST_VAR).expand_as(mu)


def shifted_encoder(shift: float = 0.4, log_inflate: float = 0.6):
    def encode(x: torch.Tensor):
        mu, logvar = exact_encoder(x)
        return mu + shift, logvar + log_inflate

    return encode


def analytic_elbo(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    var = torch.exp(logvar)
    resid = ((x - mu @ W.T - B_VEC) ** 2).sum(-1) + (var * (W**2).sum(0)).sum(-1)
    e_lik = -0.5 * (3 * math.log(2 * math.pi * S**2) + resid / S**2)
    e_prior = -0.5 * (2 * math.log(2 * math.pi) + (mu**2 + var).sum(-1))
    entropy = 0.5 * (math.log(2 * math.pi * math.e) + logvar).sum(-1)
    return e_lik + e_prior + entropy


def test_exact_posterior_gives_log_px_for_any_k():
    x = sample_x(50, 0)
    want = true_log_px(x)
    for k in (1, 3, 50):
        est = iwae_estimate(
            x, exact_encoder, log_likelihood, k, generator=torch.Generator().manual_seed(k)
        )
        torch.testing.assert_close(est.log_px, want, atol=1e-9, rtol=0)
        torch.testing.assert_close(est.elbo, want, atol=1e-9, rtol=0)


def test_iwae_at_least_elbo_on_the_same_samples():
    x = sample_x(200, 1)
    est = iwae_estimate(
        x, shifted_encoder(), log_likelihood, 16, generator=torch.Generator().manual_seed(0)
    )
    assert torch.all(est.log_px >= est.elbo - 1e-12)
    assert torch.all(est.log_px <= true_log_px(x) + 5.0)  # sanity: a finite estimate


def test_k1_is_an_unbiased_elbo_and_iwae_increases_with_k_towards_log_px():
    n = 1000
    x = sample_x(n, 2)
    encode = shifted_encoder()
    mu, logvar = encode(x)
    elbo = analytic_elbo(x, mu, logvar).mean().item()
    log_px = true_log_px(x).mean().item()
    assert log_px - elbo > 0.3  # the encoder is clearly imperfect

    means = {}
    for k in (1, 4, 16, 64, 256, 2048):
        est = iwae_estimate(
            x,
            encode,
            log_likelihood,
            k,
            max_batch=2**20,
            generator=torch.Generator().manual_seed(100 + k),
        )
        means[k] = est.log_px.mean().item()
    # K = 1: the Monte Carlo ELBO; its mean over 1000 points is within a few s.e. of the
    # closed form (per-point sd of log w is ~1 nat here, s.e. ~0.03).
    assert means[1] == pytest.approx(elbo, abs=0.1)
    ks = sorted(means)
    for a, b in itertools.pairwise(ks):
        assert means[b] >= means[a] - 0.01, (a, b, means)
    assert means[2048] > elbo + 1.5
    assert means[2048] <= log_px + 0.01
    assert means[2048] == pytest.approx(log_px, abs=0.03)


def test_pure_estimator_on_given_log_densities():
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(7, 3)) for _ in range(3))
    got = iwae_log_likelihood(a, b, c)
    assert isinstance(got, np.ndarray) and got.shape == (3,)
    lw = a + b - c
    want = np.log(np.mean(np.exp(lw), axis=0))
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(iwae_from_log_weights(lw), want)
    np.testing.assert_allclose(elbo_from_log_weights(lw), lw.mean(0))
    # samples along another dim, torch in -> torch out
    t = iwae_log_likelihood(*(torch.as_tensor(v.T) for v in (a, b, c)), dim=1)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), want)
    # numerically stable for very negative log weights (e.g. images, thousands of nats)
    big = iwae_from_log_weights(np.array([[-5000.0], [-5001.0]]))
    assert big[0] == pytest.approx(-5000.0 + math.log((1 + math.exp(-1)) / 2))


def test_chunking_does_not_change_the_estimate():
    x = sample_x(10, 3)
    ests = [
        iwae_estimate(
            x,
            shifted_encoder(),
            log_likelihood,
            37,
            max_batch=mb,
            generator=torch.Generator().manual_seed(5),
            keep_log_weights=True,
        )
        for mb in (10, 4096)
    ]
    # different chunking draws the same normal variates in a different layout, so compare
    # each result with its own kept log weights and both with the analytic quantities
    for est in ests:
        assert est.log_weights is not None and est.log_weights.shape == (37, 10)
        torch.testing.assert_close(est.log_px, iwae_from_log_weights(est.log_weights))
        torch.testing.assert_close(est.elbo, est.log_weights.mean(0))


def test_density_helpers():
    z = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    mu = torch.tensor([[0.1, 0.2]], dtype=torch.float64)
    logvar = torch.tensor([[0.3, -0.4]], dtype=torch.float64)
    want = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).log_prob(z).sum(-1)
    torch.testing.assert_close(diagonal_gaussian_log_prob(z, mu, logvar), want)
    torch.testing.assert_close(
        standard_normal_log_prob(z), torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    )
    logits = torch.tensor([[[0.2, -1.0], [3.0, 0.0]]])
    xb = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    want_b = torch.distributions.Bernoulli(logits=logits).log_prob(xb).reshape(1, -1).sum(-1)
    torch.testing.assert_close(bernoulli_log_likelihood(logits, xb), want_b)


def test_bad_inputs():
    x = sample_x(4, 4)
    with pytest.raises(ValueError, match="num_samples"):
        iwae_estimate(x, exact_encoder, log_likelihood, 0)
    with pytest.raises(ValueError, match="encode must return"):
        iwae_estimate(x, lambda x: (x[:, :2], x[:, :1]), log_likelihood, 2)
