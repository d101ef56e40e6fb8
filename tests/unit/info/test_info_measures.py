"""Information, joint information, NMI and VI against closed forms and a slow reference.

Murphy, Dillavou & Bassett, TMLR 2025 (arXiv 2405.21042), Sec. 3; docs/architecture.md §5.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from unit.info.info_reference import (
    coefficient_matrix,
    compare_reference,
    discrete_matrix,
    gaussian_channel_matrices,
    info_from_matrix,
    pairwise_reference,
)

from infoprint.info import (
    ChannelGroups,
    Comparison,
    DiscreteChannels,
    GaussianChannels,
    GaussianSpaces,
    compare,
    information,
    pairwise_joint_information,
    resolve_device,
    self_joint_information,
)


def _gauss(n: int, m: int, seed: int = 0, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mu = rng.normal(scale=spread, size=(n, m))
    lv = rng.uniform(-4.0, 1.0, size=(n, m))
    return mu, lv


# ---------------------------------------------------------------- closed forms


def test_well_separated_posteriors_carry_log2_n_bits() -> None:
    n = 64
    mu = np.arange(n, dtype=np.float64)[:, None] * 100.0
    lv = np.full((n, 1), -2.0)
    ch = GaussianChannels(mu, lv)
    assert information(ch).item() == pytest.approx(math.log2(n), abs=1e-6)
    assert pairwise_joint_information(ch).item() == pytest.approx(math.log2(n), abs=1e-6)


def test_identical_posteriors_carry_zero_bits() -> None:
    ch = GaussianChannels(np.full((30, 3), 0.7), np.full((30, 3), -1.0))
    assert torch.equal(information(ch), torch.zeros(3))
    assert torch.allclose(pairwise_joint_information(ch), torch.zeros(3, 3), atol=1e-6)
    c = compare(ch)
    assert torch.equal(c.nmi, torch.zeros(3, 3))  # guarded: 0 bits -> NMI 0


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_k_equal_classes_carry_log2_k_bits(k: int) -> None:
    labels = np.repeat(np.arange(k), 6)
    np.random.default_rng(k).shuffle(labels)
    f = DiscreteChannels(labels[:, None])
    assert information(f).item() == pytest.approx(math.log2(k), abs=1e-6)
    assert self_joint_information(f).item() == pytest.approx(math.log2(k), abs=1e-6)
    # Gaussian channel with well-separated clusters behaves the same
    ch = GaussianChannels(labels[:, None] * 1e3, np.full((len(labels), 1), -3.0))
    assert information(ch).item() == pytest.approx(math.log2(k), abs=1e-5)


def test_discrete_information_is_entropy() -> None:
    labels = np.array([0] * 10 + [1] * 5 + [7] * 3 + [2] * 2)
    p = np.array([10, 5, 3, 2]) / 20
    f = DiscreteChannels(labels)
    assert information(f, dtype=torch.float64).item() == pytest.approx(-(p * np.log2(p)).sum())
    assert compare(f).self_a.item() == pytest.approx(-(p * np.log2(p)).sum())


def test_channel_with_itself_nmi_one_vi_zero() -> None:
    mu, lv = _gauss(40, 5, seed=4)
    ch = GaussianChannels(mu, lv)
    c = compare(ch)
    torch.testing.assert_close(torch.diagonal(c.nmi), torch.ones(5, dtype=torch.float64))
    torch.testing.assert_close(torch.diagonal(c.vi), torch.zeros(5, dtype=torch.float64))
    # and in cross mode against an independent copy of the same channels
    c2 = compare(ch, GaussianChannels(mu.copy(), lv.copy()))
    torch.testing.assert_close(
        torch.diagonal(c2.nmi), torch.ones(5, dtype=torch.float64), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        torch.diagonal(c2.vi), torch.zeros(5, dtype=torch.float64), atol=1e-4, rtol=0
    )


def test_independent_factors_have_zero_nmi() -> None:
    i = np.arange(48)
    labels = np.stack([i % 4, (i // 4) % 3, i // 12], axis=1)  # a full factorial design
    c = compare(DiscreteChannels(labels))
    off = c.nmi[~torch.eye(3, dtype=torch.bool)]
    assert off.abs().max().item() < 1e-6
    torch.testing.assert_close(
        c.information_a, torch.tensor([2.0, math.log2(3), 2.0], dtype=torch.float64)
    )
    # VI of independent factors = H(F) + H(G)
    assert c.vi[0, 1].item() == pytest.approx(2.0 + math.log2(3), abs=1e-5)


def test_factor_relabelling_and_coarsening() -> None:
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 6, size=60)
    relabel = np.array([17, 3, -2, 100, 5, 9])[lab]
    coarse = lab // 2
    c = compare(DiscreteChannels(np.stack([lab, relabel, coarse], 1)))
    assert c.nmi[0, 1].item() == pytest.approx(1.0, abs=1e-6)
    assert c.vi[0, 1].item() == pytest.approx(0.0, abs=1e-5)
    # coarse is a function of lab: I(lab, coarse) = I(lab), so VI = H(lab) - H(coarse)
    assert c.joint[0, 2].item() == pytest.approx(c.information_a[0].item(), abs=1e-5)
    assert c.vi[0, 2].item() == pytest.approx(
        (c.information_a[0] - c.information_a[2]).item(), abs=1e-5
    )


# ---------------------------------------------------------------- against the slow reference


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_pairwise_self_matches_reference(dtype: torch.dtype, tol: float) -> None:
    mu, lv = _gauss(37, 11, seed=1)
    want = pairwise_reference(gaussian_channel_matrices(mu, lv))
    got = pairwise_joint_information(GaussianChannels(mu, lv), dtype=dtype)
    assert got.dtype == dtype and got.device.type == "cpu"
    np.testing.assert_allclose(got.double().numpy(), want, atol=tol, rtol=0)
    np.testing.assert_array_equal(got.numpy(), got.numpy().T)


@pytest.mark.parametrize("tile", [1, 3, 4, 11, None])
def test_pairwise_tiles_and_chunks_agree(tile: int | None) -> None:
    mu, lv = _gauss(29, 11, seed=2)
    ch = GaussianChannels(mu, lv)
    want = pairwise_reference(gaussian_channel_matrices(mu, lv))
    # a tiny budget forces one probe row per chunk
    got = pairwise_joint_information(ch, tile=tile, memory_budget=20_000, dtype=torch.float64)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-10)


def test_pairwise_cross_matches_reference() -> None:
    mu, lv = _gauss(31, 7, seed=5)
    labels = np.random.default_rng(5).integers(0, 4, size=(31, 3))
    cs_a = gaussian_channel_matrices(mu, lv)
    cs_b = [discrete_matrix(labels[:, k]) for k in range(3)]
    want = pairwise_reference(cs_a, cs_b)
    for tile in (2, None):
        got = pairwise_joint_information(
            GaussianChannels(mu, lv), DiscreteChannels(labels), tile=tile, memory_budget=40_000
        )
        assert got.shape == (7, 3)
        np.testing.assert_allclose(got.double().numpy(), want, atol=1e-5)


def test_compare_matches_reference_cross_and_self() -> None:
    mu, lv = _gauss(33, 6, seed=6)
    mu2, lv2 = _gauss(33, 4, seed=7, spread=0.3)
    mu2[:, 0] = mu[:, 0] + 0.05 * mu2[:, 0]  # one strongly related pair
    cs_a = gaussian_channel_matrices(mu, lv)
    cs_b = gaussian_channel_matrices(mu2, lv2)
    want = compare_reference(cs_a, cs_b)
    got = compare(GaussianChannels(mu, lv), GaussianChannels(mu2, lv2), dtype=torch.float64)
    assert isinstance(got, Comparison)
    for key, val in want.items():
        t = getattr(got, key)
        assert t.dtype == torch.float64 and t.device.type == "cpu"
        np.testing.assert_allclose(t.numpy(), val, atol=1e-9, err_msg=key)
    assert got.nmi[0, 0].item() > 0.5
    want_self = compare_reference(cs_a, cs_a)
    got_self = compare(GaussianChannels(mu, lv))
    for key, val in want_self.items():
        np.testing.assert_allclose(getattr(got_self, key).numpy(), val, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(
        got_self.mutual_information.numpy(),
        want_self["information_a"][:, None] + want_self["information_a"][None] - want_self["joint"],
        atol=1e-5,
    )


def test_gaussian_spaces_and_groups_match_reference() -> None:
    rng = np.random.default_rng(8)
    mu = rng.normal(size=(3, 25, 4))
    lv = rng.uniform(-3, 0, size=(3, 25, 4))
    cs = [coefficient_matrix(mu[r], lv[r]) for r in range(3)]
    want = pairwise_reference(cs)
    got = pairwise_joint_information(GaussianSpaces(mu, lv), dtype=torch.float64)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-10)
    info = information(GaussianSpaces(mu, lv), dtype=torch.float64)
    np.testing.assert_allclose(info.numpy(), [info_from_matrix(c) for c in cs], atol=1e-10)

    flat_mu, flat_lv = mu[0], lv[0]
    groups = [[0], [1, 2], [0, 1, 2, 3], [3, 1]]
    cs_g = [coefficient_matrix(flat_mu[:, g], flat_lv[:, g]) for g in groups]
    got_g = pairwise_joint_information(
        ChannelGroups(flat_mu, flat_lv, groups), dtype=torch.float64, memory_budget=30_000
    )
    np.testing.assert_allclose(got_g.numpy(), pairwise_reference(cs_g), atol=1e-10)
    # the whole space as one group equals GaussianSpaces' first channel
    assert got_g[2, 2].item() == pytest.approx(got[0, 0].item(), abs=1e-10)


def test_information_chunking_and_copies() -> None:
    mu, lv = _gauss(41, 5, seed=9)
    cs = gaussian_channel_matrices(mu, lv)
    ch = GaussianChannels(mu.astype(np.float32), lv.astype(np.float32))
    for budget in (10_000, 2**30):
        np.testing.assert_allclose(
            information(ch, memory_budget=budget).numpy(),
            [info_from_matrix(c) for c in cs],
            atol=1e-5,
        )
        np.testing.assert_allclose(
            information(ch, copies=2, memory_budget=budget).numpy(),
            [info_from_matrix(c * c) for c in cs],
            atol=1e-5,
        )


# ---------------------------------------------------------------- options and errors


def test_progress_callback_and_logging(caplog: pytest.LogCaptureFixture) -> None:
    mu, lv = _gauss(20, 3)
    calls: list[tuple[int, int]] = []
    pairwise_joint_information(
        GaussianChannels(mu, lv), memory_budget=5_000, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (20, 20) and len(calls) > 1
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    with caplog.at_level(logging.INFO, logger="infoprint.info"):
        pairwise_joint_information(GaussianChannels(mu, lv), progress=True)
    assert any("20/20 probe rows" in r.getMessage() for r in caplog.records)


def test_device_resolution() -> None:
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == want
    assert resolve_device(None).type == want
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="not a device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_errors_are_clear() -> None:
    ch = GaussianChannels(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="different probe sets"):
        pairwise_joint_information(ch, DiscreteChannels(np.zeros((6, 1), dtype=int)))
    with pytest.raises(ValueError, match="too small"):
        pairwise_joint_information(ch, memory_budget=10)
    with pytest.raises(ValueError, match="too small"):
        information(ch, memory_budget=10)
    with pytest.raises(ValueError, match="dtype"):
        pairwise_joint_information(ch, dtype=torch.float16)
    with pytest.raises(TypeError, match="channel set"):
        information(np.zeros((5, 2)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-finite"):
        GaussianChannels(np.full((5, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="shapes differ"):
        GaussianChannels(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="integers"):
        DiscreteChannels(np.full((5, 1), 0.5))
    with pytest.raises(ValueError, match="outside"):
        ChannelGroups(np.zeros((5, 2)), np.zeros((5, 2)), [[0, 2]])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_coefficient_rows_hold_no_subnormal_numbers(dtype) -> None:
    """Points far apart give coefficients down to exp(−10^4): those under sqrt(smallest
    normal) are 0 (their products would be subnormal, tens of times slower to multiply),
    the others equal the exact coefficients to the dtype's rounding."""
    mu = np.linspace(0.0, 400.0, 60)[:, None] * np.array([[1.0, 0.1, 0.01]])
    logvar = np.zeros_like(mu)
    for channels in (
        GaussianChannels(mu, logvar),
        GaussianSpaces(mu.T[:, :, None], logvar.T[:, :, None]),
    ):
        rows = channels.coefficient_rows(slice(0, 60), torch.device("cpu"), dtype)
        held = torch.as_tensor(mu, dtype=dtype).double()  # the means as the dtype holds them
        exact = torch.exp(-(held[:, :, None] - held.T[None]).square() / 8)
        floor = torch.finfo(dtype).tiny ** 0.5
        assert not ((rows > 0) & (rows < floor)).any() and (rows == 0).any()
        kept = exact >= 2 * floor  # exp(−D) to D's rounding: D ≤ 44 in float32, 354 in float64
        rtol = 4 * (1 - math.log(floor)) * torch.finfo(dtype).eps
        assert torch.allclose(rows.double()[kept], exact[kept], rtol=rtol, atol=0.0)
