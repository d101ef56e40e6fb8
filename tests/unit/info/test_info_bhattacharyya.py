"""Bhattacharyya distance (Murphy, Dillavou & Bassett, TMLR 2025, Sec. 3).

The formula as written in docs/architecture.md §5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from unit.info.info_reference import bhattacharyya_matrix

from infoprint.info import bhattacharyya_coefficient, bhattacharyya_distance


def _random(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(scale=1.5, size=(n, d))


def test_matches_log_determinant_formula() -> None:
    mu, lv = _random(9, 3)
    got = bhattacharyya_distance(torch.tensor(mu), torch.tensor(lv)).numpy()
    np.testing.assert_allclose(got, bhattacharyya_matrix(mu, lv), rtol=1e-12, atol=1e-12)


def test_full_covariance_formula_for_one_pair() -> None:
    mu, lv = _random(2, 4, seed=3)
    s1, s2 = np.diag(np.exp(lv[0])), np.diag(np.exp(lv[1]))
    sbar = (s1 + s2) / 2
    dm = mu[0] - mu[1]
    want = dm @ np.linalg.solve(sbar, dm) / 8 + 0.5 * (
        np.linalg.slogdet(sbar)[1] - 0.5 * (np.linalg.slogdet(s1)[1] + np.linalg.slogdet(s2)[1])
    )
    got = bhattacharyya_distance(mu, lv)[0, 1].item()
    assert got == pytest.approx(want, rel=1e-12)


def test_cross_sets_batch_dims_and_numpy_input() -> None:
    mu, lv = _random(7, 2, seed=1)
    mu2, lv2 = _random(5, 2, seed=2)
    d = bhattacharyya_distance(mu, lv, mu2, lv2)
    assert d.shape == (7, 5)
    full = bhattacharyya_matrix(np.vstack([mu, mu2]), np.vstack([lv, lv2]))
    np.testing.assert_allclose(d.numpy(), full[:7, 7:], rtol=1e-12)
    batched = bhattacharyya_distance(np.stack([mu, mu]), np.stack([lv, lv]))
    assert batched.shape == (2, 7, 7)
    np.testing.assert_allclose(batched[1].numpy(), full[:7, :7], rtol=1e-12)


def test_self_distance_zero_and_coefficient_range() -> None:
    mu, lv = _random(20, 3)
    for dtype in (torch.float32, torch.float64):
        d = bhattacharyya_distance(torch.tensor(mu, dtype=dtype), torch.tensor(lv, dtype=dtype))
        assert torch.equal(torch.diagonal(d), torch.zeros(20, dtype=dtype))
        assert bool((d >= 0).all())
        torch.testing.assert_close(d, d.T)
        c = bhattacharyya_coefficient(mu.astype(np.float32), lv.astype(np.float32))
        assert bool(((c > 0) & (c <= 1)).all())
        assert bool((torch.diagonal(c) == 1).all())


def test_extreme_variance_ratio_is_stable() -> None:
    mu = np.zeros((2, 1))
    lv = np.array([[-40.0], [40.0]])
    d = bhattacharyya_distance(torch.tensor(mu, dtype=torch.float32), torch.tensor(lv))
    want = 0.5 * (np.log((np.exp(-40) + np.exp(40)) / 2))  # 1/2 ln σ̄² − 1/4 (−40 + 40)
    assert torch.isfinite(d).all()
    assert d[0, 1].item() == pytest.approx(want, rel=1e-6)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        bhattacharyya_distance(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="both"):
        bhattacharyya_distance(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="dimension d"):
        bhattacharyya_distance(
            np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 1)), np.zeros((3, 1))
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_flush_tiny_equals_the_masked_definition(dtype: torch.dtype) -> None:
    """flush_tiny sets exactly the entries below sqrt(tiny) to 0: the floor itself, the
    numbers next to it, NaN, −0 and subnormals behave as ``masked_fill_(c < floor, 0)``."""
    from infoprint.info.bhattacharyya import flush_tiny

    info = torch.finfo(dtype)
    floor = torch.tensor(info.tiny**0.5, dtype=dtype)
    around = torch.stack(
        [
            torch.nextafter(floor, floor.new_tensor(-math.inf)),
            floor,
            torch.nextafter(floor, floor.new_tensor(math.inf)),
        ]
    )
    special = torch.tensor([0.0, -0.0, math.nan, math.inf, 1.0, -1.0, info.tiny, info.tiny / 8])
    spread = torch.rand(10_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    values = torch.cat([around, special.to(dtype), (spread * 3 * floor.double()).to(dtype)])
    expected = values.clone().masked_fill_(values < floor, 0)
    flushed = flush_tiny(values.clone())
    assert torch.equal(flushed.isnan(), expected.isnan())
    assert torch.equal(flushed.nan_to_num(7.0), expected.nan_to_num(7.0))
    assert torch.equal(flushed.signbit(), expected.signbit())
    assert flushed[0] == 0 and flushed[1] == floor and int((flushed == 0).sum()) > 3_000
