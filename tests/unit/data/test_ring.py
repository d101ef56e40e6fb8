"""The SO(2) ring: unit-circle points, angle bins, and the paper's evenly spaced probe set."""

import numpy as np
import pytest

from infoprint.data.base import GroundTruthDataset
from infoprint.data.ring import Ring
from infoprint.fingerprint.probe import select_probe_set


def angles_of(points: np.ndarray) -> np.ndarray:
    return np.mod(np.arctan2(points[:, 1], points[:, 0]), 2 * np.pi)


def test_points_lie_on_the_unit_circle_and_bins_are_equal_arcs():
    data = Ring(num_points=1200, angle_bins=12)
    assert isinstance(data, GroundTruthDataset) and data.observation_shape == (2,)
    points = data.images(np.arange(1200))
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1, rtol=1e-6)
    theta = angles_of(points)
    np.testing.assert_allclose(theta[1:600], 2 * np.pi * np.arange(1, 600) / 1200, atol=1e-5)
    bins = data.factors(np.arange(1200))[:, 0]
    assert data.factor_names == ("angle",) and data.factor_sizes == (12,)
    np.testing.assert_array_equal(bins, np.arange(1200) // 100)
    assert data.full_grid


def test_probe_set_is_the_papers_evenly_spaced_angles():
    data = Ring()
    probe = select_probe_set(data, 200, seed=123)
    steps = np.diff(np.unwrap(angles_of(probe.images)))
    np.testing.assert_allclose(steps, 2 * np.pi / 200, atol=1e-6)
    assert probe.indices[0] == 0 and probe.factor_names == ("angle",)
    assert (np.bincount(probe.factors[:, 0]) == 10).all()  # 20 arcs x 10 probe points
    np.testing.assert_array_equal(select_probe_set(data, 200, seed=7).indices, probe.indices)
    uneven = data.probe_indices(7, seed=0)  # 7 does not divide 72,000: off by < 1 grid step
    assert len(np.unique(uneven)) == 7
    assert np.abs(uneven - np.arange(7) * 72_000 / 7).max() < 1


def test_noise_is_seeded_and_of_the_requested_size():
    a, b, c = Ring(noise=0.05, seed=1), Ring(noise=0.05, seed=1), Ring(noise=0.05, seed=2)
    rows = np.arange(0, 72_000, 7)
    np.testing.assert_array_equal(a.images(rows), b.images(rows))
    assert not np.array_equal(a.images(rows), c.images(rows))
    clean = Ring().images(rows)
    assert np.std(a.images(rows) - clean) == pytest.approx(0.05, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"num_points": 1}, "num_points"),
        ({"angle_bins": 0}, "angle_bins"),
        ({"noise": -1}, "noise"),
    ],
)
def test_bad_parameters_name_the_key(kwargs, key):
    with pytest.raises(ValueError, match=f"data.dataset.{key}"):
        Ring(**kwargs)
