"""scikit-learn's digits: 8 px images and labels, offline, resizable for the conv net."""

import numpy as np
from sklearn.datasets import load_digits

from infoprint.data.base import GroundTruthDataset
from infoprint.data.digits import Digits


def test_images_and_labels_are_sklearns():
    data, bunch = Digits(), load_digits()
    assert isinstance(data, GroundTruthDataset) and len(data) == 1797
    assert data.observation_shape == (1, 8, 8) and data.factor_sizes == (10,)
    rows = np.array([0, 100, 1796])
    np.testing.assert_allclose(data.images(rows)[:, 0], bunch.images[rows] / 16, rtol=1e-6)
    np.testing.assert_array_equal(data.factors(rows)[:, 0], bunch.target[rows])
    assert data.full_grid  # every label present: labels are drawn uniformly


def test_resolution_repeats_pixels_for_the_conv_net():
    data = Digits(resolution=16)
    assert data.observation_shape == (1, 16, 16)
    np.testing.assert_array_equal(
        data.images(np.array([5]))[0, 0, ::2, ::2], Digits().images(np.array([5]))[0, 0]
    )
