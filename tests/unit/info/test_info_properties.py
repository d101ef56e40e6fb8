"""Property tests (hypothesis) of the information measures.

Murphy, Dillavou & Bassett, TMLR 2025 (arXiv 2405.21042), Sec. 3; issue 3 item 5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from unit.info.info_reference import (
    compare_reference,
    discrete_matrix,
    gaussian_channel_matrices,
    pairwise_reference,
)

from infoprint.info import (
    DiscreteChannels,
    GaussianChannels,
    compare,
    information,
    pairwise_joint_information,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-5


@st.composite
def gaussian_channels(draw: st.DrawFn, max_n: int = 14, max_m: int = 5) -> tuple:
    n = draw(st.integers(2, max_n))
    m = draw(st.integers(1, max_m))
    mu = draw(arrays(np.float64, (n, m), elements=st.floats(-3, 3, width=32)))
    lv = draw(arrays(np.float64, (n, m), elements=st.floats(-5, 2, width=32)))
    return mu, lv


@st.composite
def label_channels(draw: st.DrawFn, max_n: int = 16, max_k: int = 3) -> np.ndarray:
    n = draw(st.integers(2, max_n))
    k = draw(st.integers(1, max_k))
    return draw(arrays(np.int64, (n, k), elements=st.integers(0, 4)))


@SETTINGS
@given(gaussian_channels(), st.randoms(use_true_random=False))
def test_invariant_to_permuting_probe_points_and_channels(ch: tuple, rnd) -> None:
    mu, lv = ch
    n, m = mu.shape
    pts = list(range(n))
    rnd.shuffle(pts)
    chans = list(range(m))
    rnd.shuffle(chans)
    base = compare(GaussianChannels(mu, lv), dtype=torch.float64)
    perm = compare(GaussianChannels(mu[pts][:, chans], lv[pts][:, chans]), dtype=torch.float64)
    c = torch.tensor(chans)
    torch.testing.assert_close(perm.information_a, base.information_a[c])
    torch.testing.assert_close(perm.joint, base.joint[c][:, c])
    torch.testing.assert_close(perm.nmi, base.nmi[c][:, c])
    torch.testing.assert_close(perm.vi, base.vi[c][:, c])


@SETTINGS
@given(gaussian_channels())
def test_bounds_vi_information(ch: tuple) -> None:
    """The bounds the Bhattacharyya estimates obey exactly (row by row):

    0 <= I(U) <= log2 N because 1 = C_ii <= Σ_j C_ij <= N; I(UV) >= max(I(U), I(V)) because
    C_V <= 1; VI >= 0 by Cauchy–Schwarz, Σ_j C_U C_V <= sqrt(Σ_j C_U² Σ_j C_V²).
    NMI is *not* bounded by [0, 1] for Gaussian channels, see
    ``test_gaussian_nmi_can_leave_unit_interval``.
    """
    mu, lv = ch
    n = mu.shape[0]
    c = compare(GaussianChannels(mu, lv), dtype=torch.float64)
    assert bool((c.information_a >= -TOL).all())
    assert bool((c.information_a <= math.log2(n) + TOL).all())
    assert bool((c.joint <= math.log2(n) + TOL).all())
    assert bool((c.joint >= c.information_a[:, None] - TOL).all())
    assert bool((c.vi >= -TOL).all())
    assert bool(torch.isfinite(c.nmi).all())
    torch.testing.assert_close(c.nmi, c.nmi.T)
    informative = 2 * c.information_a - c.self_a > 1e-6
    assert bool((torch.diagonal(c.nmi)[informative] == 1).all())


@SETTINGS
@given(label_channels())
def test_discrete_bounds_and_entropy(labels: np.ndarray) -> None:
    """For discrete channels NMI = I(F;G) / sqrt(H(F) H(G)) exactly, so it lies in [0, 1]."""
    c = compare(DiscreteChannels(labels), dtype=torch.float64)
    n = labels.shape[0]
    for k in range(labels.shape[1]):
        _, counts = np.unique(labels[:, k], return_counts=True)
        p = counts / n
        assert abs(c.information_a[k].item() + (p * np.log2(p)).sum()) < 1e-9
    torch.testing.assert_close(c.self_a, c.information_a)  # I(FF') = I(F)
    assert bool((c.nmi >= -TOL).all()) and bool((c.nmi <= 1 + TOL).all())
    assert bool((c.vi >= -TOL).all())


@SETTINGS
@given(gaussian_channels(max_m=2), label_channels(max_n=14, max_k=2))
def test_gaussian_against_discrete_matches_reference(ch: tuple, labels: np.ndarray) -> None:
    """Channels against factors (the "NMI with factors" of the analysis) equal the reference.

    VI >= 0 holds exactly; NMI is not bounded by 1 here either (1.2 occurs on 14 points).
    """
    mu, lv = ch
    labels = np.resize(labels, (mu.shape[0], labels.shape[1]))
    c = compare(GaussianChannels(mu, lv), DiscreteChannels(labels), dtype=torch.float64)
    assert bool((c.vi >= -TOL).all())
    want = compare_reference(
        gaussian_channel_matrices(mu, lv),
        [discrete_matrix(labels[:, k]) for k in range(labels.shape[1])],
    )
    # away from the NMI guard (I(U;U') <= 1e-6 bits -> NMI 0), where rounding decides
    ua = 2 * want["information_a"] - want["self_a"]
    ub = 2 * want["information_b"] - want["self_b"]
    clear = (np.abs(ua[:, None] - 1e-6) > 1e-9) & (np.abs(ub[None, :] - 1e-6) > 1e-9)
    for key, val in want.items():
        got = getattr(c, key).numpy()
        if key == "nmi":
            got, val = got[clear], val[clear]
        np.testing.assert_allclose(got, val, atol=1e-9, err_msg=key)


@SETTINGS
@given(gaussian_channels(max_n=24, max_m=8), st.sampled_from([None, 1, 2, 3]))
def test_gemm_float32_matches_per_pair_reference(ch: tuple, tile: int | None) -> None:
    """The batched-GEMM routine (float32) equals the slow per-pair NumPy loop to 1e-5 bits."""
    mu, lv = ch
    want = pairwise_reference(gaussian_channel_matrices(mu, lv))
    got = pairwise_joint_information(GaussianChannels(mu, lv), tile=tile, memory_budget=50_000)
    np.testing.assert_allclose(got.double().numpy(), want, atol=1e-5, rtol=0)


def test_gaussian_nmi_can_leave_unit_interval() -> None:
    """A property of the estimator, not of the code: NMI > 1 and NMI < 0 both occur.

    V separates three points perfectly (log2 3 bits); U is a blurred copy. Then
    I(U;V) = I_U = 0.546 exceeds sqrt(I(U;U') I(V;V')) = 0.5, so NMI = 1.092. The independent
    per-pair reference gives the same number. With information only in the variances NMI
    can be slightly negative. The code reports these values unclipped.
    """
    mu = np.array([[-1.0, -2.0], [2.0, 3.0], [0.0, 0.0]])
    lv = np.array([[0.95, -4.89], [0.49, -4.69], [-2.04, -3.51]])
    c = compare(GaussianChannels(mu, lv), dtype=torch.float64)
    cs = gaussian_channel_matrices(mu, lv)
    assert c.nmi[0, 1].item() == pytest.approx(compare_reference(cs, cs)["nmi"][0, 1])
    assert c.nmi[0, 1].item() == pytest.approx(1.092, abs=1e-3)
    mu0 = np.zeros((5, 2))
    lv0 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    assert compare(GaussianChannels(mu0, lv0), dtype=torch.float64).nmi[0, 1].item() < -0.04


@SETTINGS
@given(label_channels(max_k=1), st.randoms(use_true_random=False))
def test_deterministic_relabelling_preserves_information(labels: np.ndarray, rnd) -> None:
    values = np.unique(labels)
    new = list(range(-50, 50))
    rnd.shuffle(new)
    mapping = dict(zip(values.tolist(), new[: len(values)], strict=False))
    relabelled = np.vectorize(mapping.__getitem__)(labels)
    both = DiscreteChannels(np.c_[labels, relabelled])
    c = compare(both, dtype=torch.float64)
    assert abs(c.information_a[0] - c.information_a[1]) < 1e-12
    if c.information_a[0] > 1e-6:
        assert abs(c.nmi[0, 1].item() - 1) < 1e-9
    assert abs(c.vi[0, 1].item()) < 1e-9


@SETTINGS
@given(gaussian_channels(), label_channels(max_n=14))
def test_float32_matches_float64_and_cross_matches_self(ch: tuple, labels: np.ndarray) -> None:
    mu, lv = ch
    n = mu.shape[0]
    labels = np.resize(labels, (n, labels.shape[1]))
    g = GaussianChannels(mu, lv)
    f = DiscreteChannels(labels)
    j32 = pairwise_joint_information(g, f, dtype=torch.float32)
    j64 = pairwise_joint_information(g, f, dtype=torch.float64)
    torch.testing.assert_close(j32.double(), j64, atol=1e-4, rtol=0)
    i32 = information(g, dtype=torch.float32)
    i64 = information(g, dtype=torch.float64)
    torch.testing.assert_close(i32.double(), i64, atol=1e-4, rtol=0)
    # self mode block equals cross mode of the same set
    s64 = pairwise_joint_information(g, dtype=torch.float64)
    x64 = pairwise_joint_information(g, GaussianChannels(mu, lv), dtype=torch.float64)
    torch.testing.assert_close(s64, x64)
