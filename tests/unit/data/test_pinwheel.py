"""Mathieu et al.'s pinwheel: Adams' pinwheel.m with its swapped spread names, and factors."""

import numpy as np
import pytest

from infoprint.data.pinwheel import Pinwheel


def adams_pinwheel(radial_std, tangential_std, num_classes, num_per_class, rate, noise):
    """A line-by-line port of pinwheel.m (Adams 2008), names as in the script, 0-based."""
    features = noise * np.array([tangential_std, radial_std]) + np.array([1.0, 0.0])
    labels = np.repeat(np.arange(num_classes), num_per_class)
    rads = np.linspace(0, 2 * np.pi, num_classes + 1)[:-1]
    angles = rads[labels] + rate * np.exp(features[:, 0])
    out = np.empty_like(features)
    for i, a in enumerate(angles):
        out[i] = features[i] @ np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return out, labels


def test_matches_mathieu_et_al_call_with_the_spread_names_swapped():
    data = Pinwheel(num_per_class=50, seed=3)
    noise = np.random.default_rng(3).standard_normal((200, 2))
    # Mathieu et al.: pinwheel(0.1, 0.3, 4, 100, 0.25), i.e. radial spread 0.3 here
    expected, labels = adams_pinwheel(0.1, 0.3, 4, 50, 0.25, noise)
    np.testing.assert_allclose(data.images(np.arange(200)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(data.factors(np.arange(200))[:, 0], labels)


def test_radius_factor_is_equal_probability_bins_of_the_radial_variable():
    data = Pinwheel(num_per_class=2000, radius_bins=4, seed=0)
    noise = np.random.default_rng(0).standard_normal((8000, 2))
    radial = 1 + 0.3 * noise[:, 0]
    factors = data.factors(np.arange(8000))
    assert data.factor_names == ("arm", "radius") and data.factor_sizes == (4, 4)
    np.testing.assert_array_equal(
        factors[:, 1], np.digitize(radial, 1 + 0.3 * np.array([-0.6745, 0, 0.6745]))
    )
    counts = np.bincount(factors[:, 1])
    assert counts.min() > 0.9 * 2000 and data.full_grid
    mean_radius = [
        np.linalg.norm(data.images(np.flatnonzero(factors[:, 1] == b)), axis=1).mean()
        for b in range(4)
    ]
    assert np.all(np.diff(mean_radius) > 0)  # larger radius bins lie further out


def test_data_is_fixed_by_its_own_seed():
    rows = np.arange(0, 4000, 13)
    np.testing.assert_array_equal(Pinwheel(seed=5).images(rows), Pinwheel(seed=5).images(rows))
    assert not np.array_equal(Pinwheel(seed=5).images(rows), Pinwheel(seed=6).images(rows))


@pytest.mark.parametrize("key", ["num_classes", "num_per_class", "radius_bins"])
def test_bad_sizes_name_the_key(key):
    with pytest.raises(ValueError, match=f"data.dataset.{key}"):
        Pinwheel(**{key: 0})
