"""Ensemble structure and hotspots on synthetic ensembles with a known answer."""

import numpy as np
import pytest
import torch

from infoprint.analysis.ensemble import (
    IncompatibleFingerprintsError,
    check_compatible,
    ensemble_structure,
)
from infoprint.analysis.hotspots import cluster, default_min_samples, distance_matrix, hotspots
from infoprint.fingerprint.record import Fingerprint

N = 240


def synthetic_ensemble(n_runs=6, digest="x" * 64, seed=0):
    """Each run: ch0 encodes factor a, ch1 factor b, ch2 carries nothing, ch3 is random."""
    rng = np.random.default_rng(seed)
    factors = np.stack([np.arange(N) % 8, (np.arange(N) // 8) % 5], axis=1)
    runs = []
    for r in range(n_runs):
        sign = rng.choice([-1.0, 1.0])
        mu = np.stack(
            [
                sign * 2.0 * factors[:, 0] + 0.05 * rng.normal(size=N),
                -1.5 * factors[:, 1] + 0.05 * rng.normal(size=N),
                0.01 * rng.normal(size=N),
                rng.normal(size=N),
            ],
            axis=1,
        )
        logvar = np.stack(
            [np.full(N, -4.0), np.full(N, -4.0), np.full(N, 0.0), np.full(N, -3.0)], axis=1
        )
        runs.append(
            Fingerprint(
                mu=mu.astype(np.float32),
                logvar=logvar.astype(np.float32),
                probe_index=np.arange(N),
                factors=factors,
                meta={"run_id": f"run{r}", "job_num": r, "probe_digest": digest,
                      "factor_names": ["a", "b"]},
            )
        )  # fmt: skip
    return runs


def test_incompatible_probe_sets_are_refused_with_a_clear_message():
    runs = synthetic_ensemble(3) + synthetic_ensemble(1, digest="y" * 64)
    with pytest.raises(IncompatibleFingerprintsError, match="different probe sets"):
        check_compatible(runs)
    with pytest.raises(IncompatibleFingerprintsError, match="no fingerprints"):
        check_compatible([])


def test_structure_drops_empty_channels_and_matches_factors():
    structure = ensemble_structure(synthetic_ensemble(), threshold=0.01, dtype=torch.float64)
    assert structure.n_runs == 6
    assert 2 not in structure.channels.tolist()  # the empty channel is dropped
    assert structure.all_information.shape == (6, 4)
    assert structure.all_information[:, 2].max() < 0.01
    nmi, vi = structure.nmi, structure.vi
    np.testing.assert_allclose(nmi, nmi.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(nmi), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.diag(vi), 0.0, atol=1e-6)
    # information of factor a (8 equal classes) is 3 bits, factor b (5 classes) log2 5
    np.testing.assert_allclose(structure.factor_information, [3.0, np.log2(5)], atol=1e-6)
    a_channels = structure.channels == 0
    assert structure.factor_nmi[a_channels, 0].min() > 0.9
    assert structure.factor_nmi[a_channels, 1].max() < 0.1
    # the same factor learned with opposite signs is the same information
    first_two = np.flatnonzero(a_channels)[:2]
    assert nmi[first_two[0], first_two[1]] > 0.9


def test_hotspots_recover_the_repeated_channels():
    structure = ensemble_structure(synthetic_ensemble(), threshold=0.01)
    for measure in ("nmi", "vi"):
        c = cluster(structure, measure)
        assert c.min_samples == default_min_samples(6) == 2
        found = hotspots(structure, c)
        by_channel = {ch: h for h in found for _, _, ch in h.members if ch in (0, 1)}
        a, b = by_channel[0], by_channel[1]
        for h, channel, factor in ((a, 0, "a"), (b, 1, "b")):
            assert {ch for _, _, ch in h.members} == {channel}, measure
            assert h.size == 6 and h.n_runs == 6
            assert h.best_factor == factor and h.best_factor_nmi > 0.9
            assert h.cohesion > 0.9
        loose = [h for h in found if {ch for _, _, ch in h.members} == {3}]
        assert all(h.cohesion < 0.5 for h in loose)  # random channels are not alike
        assert b.mean_information == pytest.approx(np.log2(5), abs=0.2)


def test_distances_are_valid_for_optics():
    structure = ensemble_structure(synthetic_ensemble(3), threshold=0.01)
    for measure in ("nmi", "vi"):
        d = distance_matrix(structure, measure)
        assert (d >= 0).all() and np.isfinite(d).all()
        np.testing.assert_array_equal(d, d.T)
        assert (np.diag(d) == 0).all()
    with pytest.raises(ValueError, match="measure"):
        distance_matrix(structure, "cosine")


def test_min_samples_scales_with_ensemble_size():
    assert default_min_samples(50) == 20  # the paper's setting
    assert default_min_samples(3) == 2
    assert default_min_samples(1) == 2
