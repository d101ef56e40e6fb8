"""Monte Carlo whole-space comparison (Murphy, Dillavou & Bassett, TMLR 2025, Sec. 4.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infoprint.info import (
    GaussianSpaces,
    information,
    montecarlo_compare,
    montecarlo_information,
)


def _space(n: int, d: int, seed: int, lv: float = -1.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.full((n, d), lv) + 0.3 * rng.normal(size=(n, d))


def _kl_bound(mu: np.ndarray, lv: np.ndarray) -> float:
    """Upper bound −(1/N) Σ_i log2 (1/N) Σ_j exp(−KL(p_i || p_j)) (Kolchinsky & Tracey 2017)."""
    v = np.exp(lv)
    kl = 0.5 * (
        (v[:, None, :] / v[None, :, :]).sum(-1)
        + ((mu[None, :, :] - mu[:, None, :]) ** 2 / v[None, :, :]).sum(-1)
        - mu.shape[1]
        + (lv[None, :, :] - lv[:, None, :]).sum(-1)
    )
    n = len(mu)
    lse = torch.logsumexp(torch.from_numpy(-kl), dim=1).numpy()
    return float(-np.mean(lse - math.log(n)) / math.log(2))


def test_well_separated_posteriors_give_log2_n() -> None:
    n = 100
    mu = np.arange(n, dtype=float)[:, None] * np.array([[50.0, -80.0]])
    est = montecarlo_information(mu, np.zeros((n, 2)), n_samples=300)
    assert est.information == pytest.approx(math.log2(n), abs=1e-6)
    assert est.self_joint == pytest.approx(math.log2(n), abs=1e-6)
    assert est.information_se < 1e-6


def test_identical_posteriors_give_zero_bits() -> None:
    est = montecarlo_information(np.full((50, 3), 2.0), np.full((50, 3), -1.0), n_samples=300)
    assert est.information == pytest.approx(0.0, abs=1e-9)
    assert est.self_joint == pytest.approx(0.0, abs=1e-9)


def test_two_copies_of_one_space_nmi_one_vi_zero() -> None:
    mu, lv = _space(120, 3, seed=1)
    c = montecarlo_compare([(mu, lv), (mu.copy(), lv.copy())], n_samples=2000, seed=3)
    assert abs(c.nmi[0, 1].item() - 1.0) < 4 * c.nmi_se[0, 1].item()
    assert abs(c.vi[0, 1].item()) < 4 * c.vi_se[0, 1].item()
    assert 0 < c.nmi_se[0, 1].item() < 0.05
    # diagonal by definition
    assert torch.equal(torch.diagonal(c.nmi), torch.ones(2, dtype=torch.float64))
    assert torch.equal(torch.diagonal(c.vi), torch.zeros(2, dtype=torch.float64))
    assert c.nmi.dtype == torch.float64 and c.nmi.device.type == "cpu"


def test_between_bhattacharyya_and_kl_bounds() -> None:
    mu, lv = _space(150, 2, seed=2, lv=-2.0)
    est = montecarlo_information(mu, lv, n_samples=3000, seed=1)
    lower = information(GaussianSpaces(mu[None], lv[None]), dtype=torch.float64).item()
    upper = _kl_bound(mu, lv)
    assert lower < upper
    assert lower - 4 * est.information_se < est.information < upper + 4 * est.information_se


def test_independent_spaces_and_concatenation() -> None:
    mu_a, lv_a = _space(100, 1, seed=4, lv=-4.0)
    mu_b, lv_b = _space(100, 1, seed=5, lv=-4.0)
    both = (np.c_[mu_a, mu_b], np.c_[lv_a, lv_b])
    c = montecarlo_compare([(mu_a, lv_a), (mu_b, lv_b), both], n_samples=1500)
    # a part of a space shares information with the whole: NMI(a, [a, b]) > NMI(a, b)
    assert c.nmi[0, 2] > c.nmi[0, 1] + 3 * (c.nmi_se[0, 2] + c.nmi_se[0, 1])
    # VI is a distance: VI(a, b) <= VI(a, ab) + VI(ab, b) up to noise
    slack = 3 * (c.vi_se[0, 1] + c.vi_se[0, 2] + c.vi_se[1, 2])
    assert c.vi[0, 1] <= c.vi[0, 2] + c.vi[2, 1] + slack
    torch.testing.assert_close(c.nmi, c.nmi.T)
    torch.testing.assert_close(c.vi_se, c.vi_se.T)


def test_seeded_and_independent_of_chunking_and_input_form() -> None:
    mu, lv = _space(60, 2, seed=6)
    mu2, lv2 = _space(60, 2, seed=7)
    kw = dict(n_samples=700, seed=11)
    c1 = montecarlo_compare([(mu, lv), (mu2, lv2)], **kw)
    c2 = montecarlo_compare(
        (np.stack([mu, mu2]), np.stack([lv, lv2])), memory_budget=50_000, point_chunk=7, **kw
    )
    for key in ("information", "self_joint", "joint", "nmi", "nmi_se", "vi", "vi_se"):
        torch.testing.assert_close(getattr(c1, key), getattr(c2, key), rtol=1e-10, atol=1e-10)
    c3 = montecarlo_compare([(mu, lv), (mu2, lv2)], n_samples=700, seed=12)
    assert not torch.equal(c1.nmi, c3.nmi)


def test_standard_errors_are_calibrated() -> None:
    """The delta-method NMI / VI errors match the spread over independent seeds."""
    rng = np.random.default_rng(8)
    n = 80
    mu = rng.normal(size=(n, 2))
    mu2 = np.c_[mu[:, 0] + 0.3 * rng.normal(size=n), rng.normal(size=n)]
    spaces = [(mu, np.full((n, 2), -1.5)), (mu2, np.full((n, 2), -1.0))]
    runs = [montecarlo_compare(spaces, n_samples=200, seed=s) for s in range(60)]
    for key in ("nmi", "vi", "joint"):
        vals = np.array([getattr(r, key)[0, 1].item() for r in runs])
        ses = np.array([getattr(r, key + "_se")[0, 1].item() for r in runs])
        ratio = ses.mean() / vals.std(ddof=1)
        assert 0.7 < ratio < 1.4, (key, ratio)


def test_errors() -> None:
    with pytest.raises(ValueError, match="different embedding samples"):
        montecarlo_compare([(np.zeros((5, 1)), np.zeros((5, 1))), (np.zeros((6, 1)),) * 2])
    with pytest.raises(ValueError, match=r"space 0: mu and logvar"):
        montecarlo_compare([(np.zeros((5, 2)), np.zeros((5, 1)))])
    with pytest.raises(ValueError, match="non-finite"):
        montecarlo_information(np.full((5, 1), np.inf), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="n_samples"):
        montecarlo_information(np.zeros((5, 1)), np.zeros((5, 1)), n_samples=1)
