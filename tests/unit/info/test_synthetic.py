"""The nine synthetic spaces of Fig. 2 (Murphy, Dillavou & Bassett, TMLR 2025)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infoprint.info import GaussianSpaces, information
from infoprint.info.synthetic import SYNTHETIC_NAMES, synthetic_spaces


@pytest.fixture(scope="module")
def spaces() -> dict:
    return {s.name: s for s in synthetic_spaces()}


def test_nine_spaces_of_64_points(spaces: dict) -> None:
    assert tuple(spaces) == SYNTHETIC_NAMES
    for s in spaces.values():
        d = 1 if s.name == "vi" else 2
        assert s.mu.shape == s.logvar.shape == (64, d)
        assert np.isfinite(s.mu).all() and np.isfinite(s.logvar).all()


def test_spirals(spaces: dict) -> None:
    x = np.arange(64)
    np.testing.assert_allclose(np.linalg.norm(spaces["i"].mu, axis=1), np.sqrt(x))
    np.testing.assert_allclose(spaces["ii"].mu, spaces["i"].mu)
    np.testing.assert_allclose(spaces["i"].logvar, 0.1)
    np.testing.assert_allclose(spaces["ii"].logvar, 2.1)
    np.testing.assert_allclose(spaces["iii"].logvar[:, 1], 0.1 + np.sqrt(x) - 4.5)
    angle = np.arctan2(spaces["i"].mu[4, 1], spaces["i"].mu[4, 0])
    assert angle == pytest.approx(2 * np.pi * 2 * 0.2)  # sqrt(4) = 2 turns of 0.2


def test_square_spiral_walk(spaces: dict) -> None:
    expected = [[0, 0], [0, 0.5], [0.6, 0.5], [0.6, -0.2], [0.6, -0.9], [-0.2, -0.9], [-1, -0.9]]
    np.testing.assert_allclose(spaces["iv"].mu[:7], expected, atol=1e-12)
    np.testing.assert_allclose(spaces["v"].mu, spaces["iv"].mu)
    assert (spaces["iv"].logvar == 0).all() and (spaces["v"].logvar == 2.5).all()


def test_line_and_clusters(spaces: dict) -> None:
    np.testing.assert_allclose(spaces["vi"].mu[[0, -1], 0], [-32, 32])
    assert len(np.unique(spaces["vii"].mu, axis=0)) == 2
    assert len(np.unique(spaces["viii"].mu, axis=0)) == 4
    np.testing.assert_allclose(spaces["viii"].mu[16], [5.6, 5.6])
    np.testing.assert_allclose(spaces["ix"].mu[16], [-5.6, -5.6])
    np.testing.assert_allclose(spaces["ix"].logvar[0], [1.0, 4.0])


def test_information_content(spaces: dict) -> None:
    """Bhattacharyya information: 1 and 2 bits for the separated clusters; inflated
    variances lose information; the narrow 1-D line keeps most of log2 64 = 6 bits."""
    names = list(spaces)
    mu = np.stack([np.pad(s.mu, ((0, 0), (0, 2 - s.mu.shape[1]))) for s in spaces.values()])
    lv = np.stack([np.pad(s.logvar, ((0, 0), (0, 2 - s.mu.shape[1]))) for s in spaces.values()])
    values = information(GaussianSpaces(mu, lv), dtype=torch.float64).tolist()
    bits = dict(zip(names, values, strict=True))
    assert bits["vii"] == pytest.approx(1.0, abs=0.01)
    assert bits["viii"] == pytest.approx(2.0, abs=0.01)
    assert bits["ix"] < bits["viii"] - 0.2
    assert bits["ii"] < bits["iii"] < bits["i"]
    assert bits["v"] < bits["iv"]
    assert bits["vi"] > 4.0
