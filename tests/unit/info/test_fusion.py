"""Fusion objectives, the fusion optimiser and the continuity metric.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4 with the measures of
Sec. 3 (docs/architecture.md §5): objectives against :func:`infoprint.info.compare` and
closed forms, fusion of identical members, continuity on hand-made curves, and the paper's
effect on idealised weak learners of the ring (each a 1-D copy of the angle cut at a random
place).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infoprint.info import (
    FUSION_OBJECTIVES,
    DiscreteChannels,
    FusionTarget,
    GaussianChannels,
    GaussianSpaces,
    adjacent_distances,
    bhattacharyya_distance,
    compare,
    continuity,
    fuse,
    information,
    self_joint_information,
)
from infoprint.info import fusion as fusion_module

F64 = torch.float64


def _embedding(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.normal(size=(n, d))), torch.tensor(rng.uniform(-3.0, 0.5, (n, d)))


def _expected(comparison, objective: str) -> np.ndarray:
    return {
        "mutual_information": comparison.mutual_information,
        "exp_neg_vi": torch.exp(-comparison.vi),
        "nmi": comparison.nmi,
    }[objective][0].numpy()


@pytest.mark.parametrize("objective", FUSION_OBJECTIVES)
@pytest.mark.parametrize("kind", ["channels", "spaces", "factors"])
def test_objectives_match_compare_on_fixed_embeddings(objective: str, kind: str) -> None:
    n = 48
    mu, logvar = _embedding(n, 2, seed=1)
    rng = np.random.default_rng(2)
    members = {
        "channels": GaussianChannels(rng.normal(size=(n, 3)), rng.uniform(-3, 0, (n, 3))),
        "spaces": GaussianSpaces(rng.normal(size=(2, n, 2)), rng.uniform(-3, 0, (2, n, 2))),
        "factors": DiscreteChannels(rng.integers(0, 4, size=(n, 2))),
    }[kind]
    target = FusionTarget.from_channels(members, device="cpu", dtype=F64)
    got = target.similarity(mu, logvar, objective).numpy()
    reference = compare(GaussianSpaces(mu[None], logvar[None]), members, dtype=F64)
    np.testing.assert_allclose(got, _expected(reference, objective), rtol=1e-9, atol=1e-12)


def test_target_information_matches_the_measures() -> None:
    rng = np.random.default_rng(3)
    members = GaussianChannels(rng.normal(size=(40, 4)), rng.uniform(-4, 1, (40, 4)))
    target = FusionTarget.from_channels(members, device="cpu", dtype=F64)
    assert target.coefficients.shape == (40, 4, 40)
    np.testing.assert_allclose(target.information, information(members, dtype=F64), rtol=1e-12)
    np.testing.assert_allclose(
        target.self_joint, self_joint_information(members, dtype=F64), rtol=1e-12
    )


@pytest.mark.parametrize("kind", ["channels", "spaces"])
def test_target_beyond_its_budget_rebuilds_rows_with_the_same_values(kind: str) -> None:
    n, budget = 48, 20_000
    rng = np.random.default_rng(11)
    members = {
        "channels": GaussianChannels(rng.normal(size=(n, 3)), rng.uniform(-3, 0, (n, 3))),
        "spaces": GaussianSpaces(rng.normal(size=(2, n, 2)), rng.uniform(-3, 0, (2, n, 2))),
    }[kind]
    dense = FusionTarget.from_channels(members, device="cpu", dtype=F64)
    rebuilt = FusionTarget.from_channels(members, device="cpu", dtype=F64, memory_budget=budget)
    assert dense.coefficients is not None and rebuilt.coefficients is None
    assert rebuilt.plan.working_bytes <= budget and 1 < rebuilt.plan.rows_per_chunk < n
    torch.testing.assert_close(rebuilt.information, dense.information, rtol=1e-12, atol=0)
    torch.testing.assert_close(rebuilt.spectral_embedding(2), dense.spectral_embedding(2))
    mu, logvar = _embedding(n, 2, seed=12)
    for objective in FUSION_OBJECTIVES:
        values, grads = [], []
        for target in (dense, rebuilt):
            m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
            value = target.similarity(m, lv, objective)
            value.sum().backward()
            values.append(value.detach())
            grads.append((m.grad, lv.grad))
        torch.testing.assert_close(values[1], values[0], rtol=1e-12, atol=0)
        torch.testing.assert_close(grads[1], grads[0], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="too small"):
        FusionTarget.from_channels(members, device="cpu", memory_budget=100)


def test_closed_forms_of_the_objectives() -> None:
    n = 32
    mu, logvar = _embedding(n, 1, seed=4)
    target = FusionTarget.from_channels(GaussianChannels(mu, logvar), device="cpu", dtype=F64)
    shared = 2 * target.information - target.self_joint  # I(V;V')
    # The fused channel equal to the member: NMI 1, VI 0, I(U;V) = I(V;V').
    assert target.similarity(mu, logvar, "nmi").item() == pytest.approx(1.0, abs=1e-12)
    assert target.similarity(mu, logvar, "exp_neg_vi").item() == pytest.approx(1.0, abs=1e-12)
    assert target.similarity(mu, logvar, "mutual_information").item() == pytest.approx(
        shared.item(), abs=1e-12
    )
    # k equal, well-separated classes: log2 k bits each, so I(U;V) = log2 k and NMI = 1.
    labels = np.repeat(np.arange(4), n // 4)
    classes = FusionTarget.from_channels(DiscreteChannels(labels), device="cpu", dtype=F64)
    sharp = torch.tensor(labels, dtype=F64)[:, None] * 100.0
    lv = torch.zeros_like(sharp)
    assert classes.similarity(sharp, lv, "mutual_information").item() == pytest.approx(2.0)
    assert classes.similarity(sharp, lv, "nmi").item() == pytest.approx(1.0)
    # A faint copy of a sharp two-class channel: NMI above 1, sqrt(1 / ln 2) in the limit.
    two = FusionTarget.from_channels(DiscreteChannels(labels % 2), device="cpu", dtype=F64)
    faint = torch.tensor(labels % 2, dtype=F64)[:, None] * 0.05
    limit = 1 / math.sqrt(math.log(2))
    assert two.similarity(faint, lv, "nmi").item() == pytest.approx(limit, rel=1e-3)


def test_uninformative_fused_channel_gets_nmi_zero() -> None:
    mu, logvar = _embedding(20, 1, seed=5)
    target = FusionTarget.from_channels(GaussianChannels(mu, logvar), device="cpu", dtype=F64)
    same = torch.zeros(20, 2, dtype=F64)
    assert target.similarity(same, same, "nmi").item() == 0.0


def test_similarity_is_differentiable() -> None:
    mu, logvar = _embedding(8, 2, seed=6)
    members = GaussianChannels(*(t.numpy() for t in _embedding(8, 2, seed=7)))
    target = FusionTarget.from_channels(members, device="cpu", dtype=F64)
    for objective in FUSION_OBJECTIVES:
        m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        assert torch.autograd.gradcheck(
            lambda a, b, o=objective: target.similarity(a, b, o), (m, lv)
        )


@pytest.mark.parametrize("init", ["spectral", "random"])
def test_the_automatic_start_carries_the_members_mean_information(init: str) -> None:
    rng = np.random.default_rng(5)
    n = 200
    members = GaussianChannels(rng.normal(size=(n, 3)) * [1.0, 3.0, 0.3], np.full((n, 3), -1.0))
    mean_bits = information(members, dtype=F64).mean().item()
    start = fuse(members, steps=0, init=init, device="cpu", dtype=F64)
    assert start.trace.shape == (0,)
    assert start.information == pytest.approx(mean_bits, abs=1e-4)
    assert torch.all(start.logvar == 0)  # unit variances: only the means' scale was chosen


def test_fusion_of_identical_members_recovers_their_information() -> None:
    n = 32
    rng = np.random.default_rng(8)
    mu = np.sort(rng.normal(size=n)) * 3.0
    lv = np.full(n, 2 * math.log(0.3))
    members = GaussianChannels(np.tile(mu[:, None], 4), np.tile(lv[:, None], 4))
    member_bits = information(members, dtype=F64)[0].item()
    for objective in ("exp_neg_vi", "nmi"):
        space = fuse(members, objective=objective, device="cpu", dtype=F64)
        assert space.mu.shape == space.logvar.shape == (n, 2)
        assert space.information == pytest.approx(member_bits, abs=0.1)
        one = GaussianChannels(mu[:, None], lv[:, None])
        c = compare(GaussianSpaces(space.mu[None], space.logvar[None]), one, dtype=F64)
        assert c.nmi.item() == pytest.approx(1.0, abs=0.01)
        assert c.vi.item() < 0.02
        assert space.value == pytest.approx(space.similarity.mean().item())
        assert space.trace.shape == (300,) and space.trace[-1] > space.trace[0]


def test_fuse_is_seeded_and_checks_its_options() -> None:
    members = GaussianChannels(*(t.numpy() for t in _embedding(24, 3, seed=9)))
    opts = dict(steps=20, init="random", device="cpu")
    a, b = fuse(members, seed=1, **opts), fuse(members, seed=1, **opts)
    assert torch.equal(a.mu, b.mu) and torch.equal(a.logvar, b.logvar) and a.seed == 1
    assert not torch.equal(fuse(members, seed=2, **opts).mu, a.mu)
    assert fuse(members, dim=1, steps=5, optimizer="sgd", lr=0.1, device="cpu").mu.shape == (
        24,
        1,
    )
    for bad in (
        {"objective": "kl"},
        {"optimizer": "lbfgs"},
        {"init": "pca"},
        {"dim": 0},
        {"lr": 0.0},
        {"init_scale": -1.0},
    ):
        with pytest.raises(ValueError):
            fuse(members, steps=1, device="cpu", **bad)
    with pytest.raises(ValueError, match="dim"):
        fuse(members, dim=24, steps=1, device="cpu")


# ---------------------------------------------------------------- continuity


def _circle(n: int, sigma: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    theta = 2 * np.pi * np.arange(n) / n
    return np.stack([np.cos(theta), np.sin(theta)], 1), np.full((n, 2), 2 * math.log(sigma))


def test_adjacent_distances_are_bhattacharyya_distances_of_neighbours() -> None:
    mu, logvar = _embedding(10, 3, seed=10)
    d = adjacent_distances(mu, logvar, closed=True)
    full = bhattacharyya_distance(mu.numpy(), logvar.numpy()).to(F64)
    expected = torch.stack([full[i, (i + 1) % 10] for i in range(10)])
    np.testing.assert_allclose(d.numpy(), expected.numpy(), rtol=1e-6)
    assert adjacent_distances(mu, logvar).shape == (9,)
    # Equal variances: D = Δμ² / (8 σ²).
    mu1, lv1 = np.array([[0.0], [1.0], [3.0]]), np.zeros((3, 1))
    np.testing.assert_allclose(adjacent_distances(mu1, lv1).numpy(), [1 / 8, 4 / 8])


def test_continuity_of_a_smooth_circle_is_one_and_a_jump_is_large() -> None:
    mu, logvar = _circle(200)
    assert continuity(mu, logvar, closed=True) == pytest.approx(1.0, abs=1e-9)
    # The open circle misses only the closing pair: still 1.
    assert continuity(mu, logvar) == pytest.approx(1.0, abs=1e-9)
    # An open arc closed by force: the pair (N−1, 0) is a jump.
    arc_mu, arc_lv = mu[:150], logvar[:150]
    assert continuity(arc_mu, arc_lv) == pytest.approx(1.0, abs=1e-9)
    assert continuity(arc_mu, arc_lv, closed=True) > 100
    # One point displaced: a single jump of the curve.
    broken = mu.copy()
    broken[100:] += np.array([0.5, 0.0])
    assert continuity(broken, logvar) > 50
    # A smooth change of speed is not a jump: the ratio stays near 1.
    theta = 2 * np.pi * (np.arange(200) / 200) ** 1.2
    warped = np.stack([np.cos(theta), np.sin(theta)], 1)
    assert continuity(warped, logvar) < 1.3
    with pytest.raises(ValueError):
        continuity(mu, logvar, quantile=1.0)
    with pytest.raises(ValueError):
        adjacent_distances(mu[:1], logvar[:1])


# ---------------------------------------------------------------- the paper's effect


def _cut_circles(n: int, m: int, sigma: float, seed: int) -> GaussianChannels:
    """m idealised weak learners of the ring: the angle, cut at a random place, ± sigma."""
    theta = 2 * np.pi * np.arange(n) / n
    cuts = np.random.default_rng(seed).uniform(0, 2 * np.pi, m)
    mu = np.stack([(theta - c) % (2 * np.pi) for c in cuts], 1)
    return GaussianChannels(mu, np.full_like(mu, 2 * math.log(sigma)))


def _turns(mu: np.ndarray) -> float:
    centred = mu - mu.mean(0)
    phase = np.arctan2(centred[:, 1], centred[:, 0])
    return float(np.angle(np.exp(1j * (np.roll(phase, -1) - phase))).sum() / (2 * math.pi))


def test_spectral_start_of_many_cut_circles_is_the_circle() -> None:
    target = FusionTarget.from_channels(_cut_circles(50, 12, 0.3, seed=0), device="cpu")
    start = target.spectral_embedding(2)
    assert start.shape == (50, 2)
    np.testing.assert_allclose(start.square().mean(0).numpy(), [1.0, 1.0], rtol=1e-9)
    assert abs(_turns(start.numpy())) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("objective", ["exp_neg_vi", "nmi"])
def test_more_weak_learners_fuse_into_a_more_continuous_circle(objective: str) -> None:
    members = _cut_circles(50, 12, 0.2, seed=0)
    member_continuity = continuity(members.mu[:, :1], members.logvar[:, :1], closed=True)
    few = fuse(GaussianChannels(members.mu[:, :2], members.logvar[:, :2]), objective=objective)
    many = fuse(members, objective=objective)
    c_few = continuity(few.mu, few.logvar, closed=True)
    c_many = continuity(many.mu, many.logvar, closed=True)
    assert c_many < 3 < 10 < c_few < member_continuity
    assert abs(_turns(many.mu.numpy())) == pytest.approx(1.0, abs=1e-4)
    assert many.information > 2.0


def _reference_similarity(target: FusionTarget, mu, logvar, objective: str):
    """The objectives written out with autograd over the whole [N, N] matrices (module
    docstring of infoprint.info.fusion): the slow, independent form of the closed-form
    gradient."""
    var = logvar.exp()
    diff = (mu[:, None, :] - mu[None, :, :]).square()
    w = var[:, None, :] + var[None, :, :]
    log_cosh = torch.log(torch.cosh(0.5 * (logvar[:, None, :] - logvar[None, :, :])))
    kernel = torch.exp(-(diff / (4.0 * w) + 0.5 * log_cosh).sum(-1))
    n = kernel.shape[0]
    members = target.coefficients  # [N, M, N]

    def bits(sums):
        return math.log2(n) - sums.log2().mean(0)

    info_u, self_u = bits(kernel.sum(1)), bits(kernel.square().sum(1))
    joint = bits((members * kernel[:, None, :]).sum(-1))  # [M]
    shared = info_u + target.information - joint
    if objective == "mutual_information":
        return shared
    if objective == "exp_neg_vi":
        return torch.exp(-(2 * joint - self_u - target.self_joint))
    den = (2 * info_u - self_u) * (2 * target.information - target.self_joint)
    return shared / den.sqrt()


@pytest.mark.parametrize("objective", FUSION_OBJECTIVES)
def test_closed_form_gradient_matches_autograd_and_ignores_the_workers(objective: str) -> None:
    """N = 1,030 probe points: the passes run in 17 chunks of rows on 2 workers (a
    parallel pass needs N >= 1,000); the gradient equals autograd through the whole
    matrices to 1e-9 and is the same bit for bit on 1 worker (on one target: building
    the target sums the members' information in the order the engine's workers finish)."""
    n = 1030
    mu, logvar = _embedding(n, 2, seed=11)
    mu = mu * 0.3
    rng = np.random.default_rng(12)
    members = GaussianChannels(rng.normal(size=(n, 3)) * 0.5, rng.uniform(-2, 0, (n, 3)))
    target = FusionTarget.from_channels(members, device="cpu", dtype=F64)
    grads = {}
    for workers in (1, 2):
        target.workers = workers
        m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        target.similarity(m, lv, objective).sum().backward()
        grads[workers] = (m.grad, lv.grad)
    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    _reference_similarity(target, m, lv, objective).sum().backward()
    for got, want in zip(grads[2], (m.grad, lv.grad), strict=True):
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-12 * want.abs().max())
    assert all(torch.equal(a, b) for a, b in zip(grads[1], grads[2], strict=True))


def test_fuse_runs_its_passes_on_torchs_threads_by_default(monkeypatch):
    """fuse() sets torch's threads to 1 for its own ops: the default worker count must be
    read before that (it once gave every analysis's hotspot fusion a single worker)."""
    seen = []
    real = fusion_module._ascend

    def spy(target, *args):
        seen.append(target.workers)
        return real(target, *args)

    monkeypatch.setattr(fusion_module, "_ascend", spy)
    members = GaussianChannels(*(t.numpy() for t in _embedding(40, 2, seed=3)))
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        fuse(members, dim=1, steps=1, device="cpu")
        fuse(members, dim=1, steps=1, device="cpu", workers=2)
    finally:
        torch.set_num_threads(threads)
    assert seen == [3, 2]
