"""The regularisers, priors and divergences against direct NumPy / SciPy computations."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from infoprint.models.decomp import DecompVAE, imq_mmd, inclusive_kl, mmd, mmd_dim
from infoprint.models.objectives import (
    DIPVAEI,
    DIPVAEII,
    AnnealedVAE,
    BetaTCVAE,
    Posterior,
    total_correlation,
)
from infoprint.models.priors import GaussianMixture, SpikeAndSlab, StandardNormal, StudentT
from infoprint.tasks.config import ConfigError, check_object_node


def batch(b=7, d=3, seed=0) -> Posterior:
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, d, generator=g, dtype=torch.float64)
    logvar = 0.5 * torch.randn(b, d, generator=g, dtype=torch.float64)
    z = mu + torch.randn(b, d, generator=g, dtype=torch.float64) * (0.5 * logvar).exp()
    return Posterior(mu=mu, logvar=logvar, z=z)


def numpy_log_normal(x, mu, logvar):
    return -0.5 * (np.log(2 * np.pi) + logvar + (x - mu) ** 2 / np.exp(logvar))


def numpy_tc(z, mu, logvar, dataset_size):
    """Chen et al. 2018 MWS, one code at a time, constants included."""
    b, d = z.shape
    log_nm = np.log(dataset_size * b)
    total = 0.0
    for i in range(b):
        joint = [numpy_log_normal(z[i], mu[j], logvar[j]).sum() for j in range(b)]
        log_qz = logsumexp(joint) - log_nm
        log_product = 0.0
        for k in range(d):
            marginal = [numpy_log_normal(z[i, k], mu[j, k], logvar[j, k]) for j in range(b)]
            log_product += logsumexp(marginal) - log_nm
        total += log_qz - log_product
    return total / b


def numpy_dip(cov, lambda_od, lambda_d):
    d = cov.shape[0]
    off = sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    on = sum((cov[i, i] - 1) ** 2 for i in range(d))
    return lambda_od * off + lambda_d * on


def test_total_correlation_matches_numpy_mws():
    post = batch()
    n = 737280
    want = numpy_tc(post.z.numpy(), post.mu.numpy(), post.logvar.numpy(), n)
    assert total_correlation(post, n).item() == pytest.approx(want, rel=1e-10)
    # disentanglement_lib's constant-free estimate differs by (d − 1) log(N M) only.
    assert total_correlation(post, 1).item() - total_correlation(post, n).item() == (
        pytest.approx(-(post.z.shape[1] - 1) * math.log(n), rel=1e-10)
    )


def test_beta_tcvae_regulariser_is_kl_plus_weighted_tc():
    post = batch()
    objective = BetaTCVAE(beta=6.0, dataset_size=1000)
    value, logs = objective.regulariser(post, step=0)
    tc = numpy_tc(post.z.numpy(), post.mu.numpy(), post.logvar.numpy(), 1000)
    assert logs["tc"].item() == pytest.approx(tc, rel=1e-10)
    assert value.item() == pytest.approx(post.kl.item() + 5.0 * tc, rel=1e-10)
    with pytest.raises(ValueError, match="model.dataset_size"):
        BetaTCVAE(dataset_size=0)


@pytest.mark.parametrize(("cls", "factor"), [(DIPVAEI, 10.0), (DIPVAEII, 1.0)])
def test_dip_penalties_match_numpy(cls, factor):
    post = batch(b=9, d=4)
    mu, logvar = post.mu.numpy(), post.logvar.numpy()
    cov = np.cov(mu, rowvar=False, bias=True)
    if cls is DIPVAEII:
        cov = cov + np.diag(np.exp(logvar).mean(0))
    objective = cls(lambda_od=2.0)
    assert objective.lambda_d == pytest.approx(factor * 2.0)
    value, logs = objective.regulariser(post, step=0)
    want = numpy_dip(cov, 2.0, factor * 2.0)
    assert logs["dip"].item() == pytest.approx(want, rel=1e-10)
    assert value.item() == pytest.approx(post.kl.item() + want, rel=1e-10)


def test_annealed_capacity_follows_its_schedule():
    objective = AnnealedVAE(gamma=1000.0, c_max=25.0, iteration_threshold=100)
    schedule = [objective.capacity(t) for t in (0, 1, 50, 99, 100, 101, 10_000)]
    assert schedule == pytest.approx([0.0, 0.25, 12.5, 24.75, 25.0, 25.0, 25.0])
    post = batch()
    for step in (0, 30, 500):
        value, logs = objective.regulariser(post, step)
        capacity = min(25.0, 25.0 * step / 100)
        assert logs["capacity"].item() == pytest.approx(capacity)
        assert value.item() == pytest.approx(1000.0 * abs(post.kl.item() - capacity))
    with pytest.raises(ValueError, match="model.iteration_threshold"):
        AnnealedVAE(iteration_threshold=0)


def test_posterior_densities():
    post = batch(b=5, d=2)
    pairwise = post.pairwise_log_density(post.z).numpy()
    mu, logvar, z = post.mu.numpy(), post.logvar.numpy(), post.z.numpy()
    for i in range(5):
        for j in range(5):
            np.testing.assert_allclose(pairwise[i, j], numpy_log_normal(z[i], mu[j], logvar[j]))
    np.testing.assert_allclose(post.log_density().numpy(), np.einsum("iik->ik", pairwise))


# Mathieu et al. 2019: priors and divergences

Z = torch.tensor([[0.0, 0.3, -1.2], [2.0, -0.04, 0.7]], dtype=torch.float64)


def numpy_imq_mmd(x, y, scales=(0.1, 0.2, 0.5, 1.0, 2.0, 5.0)):
    n, k = x.shape

    def kern(a, b):
        return sum(2 * k * s / (2 * k * s + np.sum((a - b) ** 2)) for s in scales)

    xx = sum(kern(x[i], x[j]) for i in range(n) for j in range(n) if i != j)
    yy = sum(kern(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    xy = sum(kern(x[i], y[j]) for i in range(n) for j in range(n))
    return (xx + yy) / (n * (n - 1)) - 2 * xy / n**2


def test_prior_densities():
    z = Z.numpy()
    t = StudentT(df=4.0)
    np.testing.assert_allclose(t.log_prob(Z).numpy(), stats.t(4.0).logpdf(z).sum(1))
    spike = SpikeAndSlab(gamma=0.8, spike_scale=0.05)
    mixture = np.log(0.2 * stats.norm.pdf(z) + 0.8 * stats.norm(0, 0.05).pdf(z))
    np.testing.assert_allclose(spike.log_prob(Z).numpy(), mixture.sum(1))
    gm = GaussianMixture(radius=1.0, scale=0.5)
    locs = np.concatenate([np.eye(3), -np.eye(3)])
    per_component = np.stack([stats.norm(loc, 0.5).logpdf(z).sum(1) for loc in locs])
    np.testing.assert_allclose(gm.log_prob(Z).numpy(), logsumexp(per_component, 0) - np.log(6))
    assert gm.sample(5, Z).shape == (5, 3)


def test_prior_choice_errors_name_the_key():
    with pytest.raises(ConfigError, match="model.prior._target_"):
        check_object_node({"_target_": "infoprint.models.priors.Cauchy"}, "model.prior")
    with pytest.raises(ConfigError, match=r"model.prior.nu: not an argument .*StudentT"):
        check_object_node({"_target_": "infoprint.models.priors.StudentT", "nu": 3}, "model.prior")
    with pytest.raises(ConfigError, match=r"model.prior.df must be a number"):
        check_object_node(
            {"_target_": "infoprint.models.priors.StudentT", "df": "x"}, "model.prior"
        )
    with pytest.raises(ValueError, match="model.prior.gamma"):
        SpikeAndSlab(gamma=1.5)


def test_kl_is_closed_form_for_the_normal_prior_and_monte_carlo_otherwise():
    post = batch(b=6, d=3)
    assert StandardNormal().kl(post) is post.kl or torch.equal(StandardNormal().kl(post), post.kl)
    mu, logvar, z = post.mu.numpy(), post.logvar.numpy(), post.z.numpy()
    want = np.mean(numpy_log_normal(z, mu, logvar).sum(1) - stats.t(3.0).logpdf(z).sum(1))
    assert StudentT(df=3.0).kl(post).item() == pytest.approx(want)


def test_imq_mmd_matches_numpy_and_is_batched():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.randn(6, 3, generator=g, dtype=torch.float64) + 1.0
    assert imq_mmd(x, y).item() == pytest.approx(numpy_imq_mmd(x.numpy(), y.numpy()))
    per_dim = imq_mmd(x.T[..., None], y.T[..., None])
    want = [numpy_imq_mmd(x[:, [k]].numpy(), y[:, [k]].numpy()) for k in range(3)]
    np.testing.assert_allclose(per_dim.numpy(), want)


def test_divergences_against_numpy_with_the_same_prior_draws():
    post = batch(b=8, d=2)
    prior = SpikeAndSlab(gamma=0.5)
    mu, logvar, z = post.mu.numpy(), post.logvar.numpy(), post.z.numpy()
    for divergence in (mmd, mmd_dim, inclusive_kl):
        torch.manual_seed(3)
        value = divergence(post, prior).item()
        torch.manual_seed(3)
        draws = prior.sample(8, post.z).numpy()
        if divergence is mmd:
            want = numpy_imq_mmd(draws, z)
        elif divergence is mmd_dim:
            want = sum(numpy_imq_mmd(draws[:, [k]], z[:, [k]]) for k in range(2))
        else:
            log_q = [
                logsumexp([numpy_log_normal(s, mu[j], logvar[j]).sum() for j in range(8)])
                - np.log(8)
                for s in draws
            ]
            log_p = prior.log_prob(torch.from_numpy(draws)).numpy()
            want = np.mean(log_p - np.array(log_q))
        assert value == pytest.approx(want, rel=1e-9), divergence.__name__


def test_decomp_objective_combines_beta_kl_and_alpha_divergence():
    post = batch(b=8, d=2)
    objective = DecompVAE(beta=2.0, alpha=10.0, prior=StudentT(), divergence="mmd")
    torch.manual_seed(0)
    value, logs = objective.regulariser(post, step=0)
    assert value.item() == pytest.approx(
        2.0 * logs["kl_prior"].item() + 10.0 * logs["divergence"].item()
    )
    plain, logs = DecompVAE(beta=4.0).regulariser(post, step=0)
    assert plain.item() == pytest.approx(4.0 * post.kl.item())
    with pytest.raises(ValueError, match="model.divergence"):
        DecompVAE(divergence="wasserstein")


def test_beta_vae_warm_start_falls_linearly_to_beta():
    from infoprint.models.objectives import BetaVAE

    objective = BetaVAE(beta=16.0, beta_start=48.0, beta_steps=3000)
    assert [objective.beta_at(s) for s in (0, 1500, 3000, 9000)] == [48.0, 32.0, 16.0, 16.0]
    mu, logvar = torch.randn(8, 3), torch.randn(8, 3)
    post = Posterior(mu=mu, logvar=logvar, z=mu)
    loss, logs = objective.regulariser(post, step=750)
    torch.testing.assert_close(loss, 40.0 * post.kl)
    assert float(logs["beta"]) == 40.0
    plain, logs = BetaVAE(beta=16.0).regulariser(post, step=750)
    torch.testing.assert_close(plain, 16.0 * post.kl) and not logs
    with pytest.raises(ValueError, match="model.beta_steps must be >= 1"):
        BetaVAE(beta=16.0, beta_start=48.0)
    with pytest.raises(ValueError, match="model.beta_start must be >= 0"):
        BetaVAE(beta=16.0, beta_start=-1.0, beta_steps=10)
