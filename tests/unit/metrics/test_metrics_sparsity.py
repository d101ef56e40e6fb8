"""Normalised Hoyer sparsity (Mathieu et al. 2019)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infoprint.metrics.sparsity import hoyer_per_point, hoyer_sparsity


def test_closed_forms_without_normalisation():
    one_hot = np.eye(4)
    assert hoyer_sparsity(one_hot, normalise=False) == pytest.approx(1.0)
    flat = np.array([[1.0, -1.0, 1.0, -1.0], [2.0, 2.0, 2.0, 2.0]])
    assert hoyer_sparsity(flat, normalise=False) == pytest.approx(0.0)
    # (sqrt(d) - l1/l2) / (sqrt(d) - 1) for z = (3, 4, 0): l1/l2 = 7/5
    d = 3
    want = (math.sqrt(d) - 7 / 5) / (math.sqrt(d) - 1)
    assert hoyer_per_point(np.array([[3.0, 4.0, 0.0]]), normalise=False)[0] == pytest.approx(want)


def test_codes_are_divided_by_their_std_without_centring():
    rng = np.random.default_rng(0)
    z = rng.normal(loc=2.0, size=(200, 5))
    scaled = z * np.array([1.0, 10.0, 0.1, 3.0, 7.0])
    # per-dimension scaling is undone by the normalisation ...
    assert hoyer_sparsity(scaled) == pytest.approx(hoyer_sparsity(z))
    # ... but not a shift: the codes are not centred
    assert hoyer_sparsity(z + 5.0) != pytest.approx(hoyer_sparsity(z))
    # explicit formula: z / std(ddof=1), then the mean of the per-point values
    zn = z / z.std(axis=0, ddof=1)
    ratio = np.abs(zn).sum(1) / np.sqrt((zn**2).sum(1))
    assert hoyer_sparsity(z) == pytest.approx(np.mean((math.sqrt(5) - ratio) / (math.sqrt(5) - 1)))


def test_sparse_codes_score_higher_than_dense_codes():
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(500, 8))
    sparse = dense * (rng.random((500, 8)) < 0.15)
    assert hoyer_sparsity(sparse) > hoyer_sparsity(dense) + 0.2


def test_permutation_invariant_zero_rows_skipped_and_errors():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(100, 4))
    assert hoyer_sparsity(z[:, [3, 1, 0, 2]]) == pytest.approx(hoyer_sparsity(z))
    with_zero = np.concatenate([z, np.zeros((1, 4))])
    assert np.isnan(hoyer_per_point(with_zero, normalise=False)[-1])
    assert hoyer_sparsity(with_zero, normalise=False) == pytest.approx(
        hoyer_sparsity(z, normalise=False)
    )
    with pytest.raises(ValueError, match="two latent"):
        hoyer_sparsity(z[:, :1])
