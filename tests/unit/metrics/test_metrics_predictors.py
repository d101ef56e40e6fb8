"""SAP, DCI, modularity and explicitness: known answers and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from metrics_toys import rotation, uniform_codes_factors
from scipy.stats import entropy as scipy_entropy

from infoprint.metrics.dci import completeness, dci, disentanglement
from infoprint.metrics.modularity import explicitness, modularity, modularity_from_mi
from infoprint.metrics.sap import sap, sap_score_matrix, top2_gap_mean


def _with_noise_dims(z, extra, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([z, rng.normal(size=(z.shape[0], extra))], axis=1)


# ----------------------------------------------------------------------------------- SAP


def test_sap_binary_ground_truth_reaches_its_ceiling_and_random_is_zero():
    # Classification SAP: a perfect latent gets accuracy 1 and an unrelated one chance
    # (1/2 for balanced binary factors), so the ceiling is 1/2.
    z, f = uniform_codes_factors(1500, (2, 2, 2), noise=0.01)
    z = _with_noise_dims(z, 2)
    assert sap(z, f) == pytest.approx(0.5, abs=0.06)
    rng = np.random.default_rng(1)
    assert abs(sap(rng.normal(size=(1500, 5)), f)) < 0.05


def test_sap_continuous_variant_is_one_for_linear_codes_and_zero_for_random():
    z, f = uniform_codes_factors(1500, (5, 6, 7), noise=0.01)
    assert sap(3.0 * z, f, continuous_factors=True) == pytest.approx(1.0, abs=0.01)
    rng = np.random.default_rng(2)
    assert sap(rng.normal(size=(1500, 4)), f, continuous_factors=True) < 0.02


def test_sap_score_matrix_and_gap():
    z, f = uniform_codes_factors(900, (2, 3), noise=0.01)
    z = _with_noise_dims(z, 1)
    m = sap_score_matrix(z[:600], f[:600], z[600:], f[600:])
    assert m.shape == (3, 2)
    assert m[0, 0] == 1.0 and m[1, 1] > 0.6
    assert top2_gap_mean(np.array([[0.9, 0.2], [0.4, 0.8], [0.1, 0.7]])) == pytest.approx(
        (0.5 + 0.1) / 2
    )


def test_sap_is_invariant_to_permuting_codes_and_accepts_a_test_set():
    z, f = uniform_codes_factors(900, (2, 3, 4), noise=0.05)
    z = _with_noise_dims(z, 2)
    perm = [3, 1, 4, 0, 2]
    assert sap(z, f) == pytest.approx(sap(z[:, perm], f))
    a = sap(z[:600], f[:600], codes_test=z[600:], factors_test=f[600:])
    assert a == pytest.approx(sap(z, f, test_fraction=300 / 900))
    with pytest.raises(ValueError, match="both"):
        sap(z, f, codes_test=z)


# ----------------------------------------------------------------------------------- DCI


def test_dci_closed_forms_on_importance_matrices():
    assert disentanglement(np.eye(3)) == pytest.approx(1.0, abs=1e-6)
    assert completeness(np.eye(3)) == pytest.approx(1.0, abs=1e-6)
    assert disentanglement(np.ones((4, 3))) == pytest.approx(0.0, abs=1e-9)
    assert completeness(np.ones((4, 3))) == pytest.approx(0.0, abs=1e-9)
    # one latent important for everything: not disentangled, but complete
    r = np.zeros((3, 3))
    r[0] = 1.0
    assert disentanglement(r) == pytest.approx(0.0, abs=1e-6)
    assert completeness(r) == pytest.approx(1.0, abs=1e-6)


def test_dci_matches_the_disentanglement_lib_formula_with_scipy():
    rng = np.random.default_rng(3)
    r = rng.random((5, 3))
    per_code = 1.0 - scipy_entropy(r.T + 1e-11, base=3)
    want_d = np.sum(per_code * r.sum(axis=1) / r.sum())
    per_factor = 1.0 - scipy_entropy(r + 1e-11, base=5)
    want_c = np.sum(per_factor * r.sum(axis=0) / r.sum())
    assert disentanglement(r) == pytest.approx(want_d)
    assert completeness(r) == pytest.approx(want_c)


def test_dci_ground_truth_high_random_low_rotated_lower():
    z, f = uniform_codes_factors(600, (3, 4, 5), noise=0.01)
    good = dci(_with_noise_dims(z, 1), f, n_estimators=30)
    assert good["disentanglement"] > 0.9
    assert good["completeness"] > 0.9
    assert good["informativeness_train"] == pytest.approx(1.0)
    assert good["informativeness_test"] > 0.95
    rng = np.random.default_rng(4)
    bad = dci(rng.normal(size=(600, 4)), f, n_estimators=30)
    assert bad["disentanglement"] < 0.1
    assert bad["informativeness_test"] < 0.45
    rot = dci((z - 0.5) @ rotation(3).T, f, n_estimators=30)
    assert rot["disentanglement"] < good["disentanglement"] - 0.2


def test_dci_is_invariant_to_permuting_codes():
    z, f = uniform_codes_factors(400, (3, 4), noise=0.01)
    z = _with_noise_dims(z, 1)
    a = dci(z, f, n_estimators=20)
    b = dci(z[:, [2, 0, 1]], f, n_estimators=20)
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=0.02), key


# --------------------------------------------------------------- modularity, explicitness


def test_modularity_closed_forms():
    assert modularity_from_mi(np.eye(3)) == pytest.approx(1.0)
    # each latent equally informative about all factors: delta = 1
    assert modularity_from_mi(np.ones((2, 4))) == pytest.approx(0.0)
    # a latent with no information scores 0 (disentanglement_lib convention)
    assert modularity_from_mi(np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(0.5)
    # hand-computed: row (2, 1): theta^2 = 4, delta = 1 / (4 * 1) -> 0.75
    assert modularity_from_mi(np.array([[2.0, 1.0]])) == pytest.approx(0.75)


def test_modularity_ground_truth_near_one_rotated_lower():
    z, f = uniform_codes_factors(3000, (6, 6, 6), noise=0.01)
    assert modularity(z, f) > 0.97
    assert modularity((z - 0.5) @ rotation(3).T, f) < 0.85
    perm = [2, 0, 1]
    assert modularity(z[:, perm], f) == pytest.approx(modularity(z, f))


def test_explicitness_ground_truth_near_one_random_near_half():
    z, f = uniform_codes_factors(900, (2, 3, 4), noise=0.01)
    good = explicitness(z, f)
    assert good["train"] > 0.97 and good["test"] > 0.97
    rng = np.random.default_rng(5)
    bad = explicitness(rng.normal(size=(900, 3)), f)
    assert abs(bad["test"] - 0.5) < 0.08


def test_explicitness_handles_binary_factor_like_multilabel_binarizer():
    # For a binary factor disentanglement_lib averages the AUC of both indicator columns,
    # which are equal; our per-class macro average must agree with sklearn's AUC.
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(6)
    f = rng.integers(0, 2, size=(600, 1))
    z = f + rng.normal(scale=1.0, size=(600, 1))
    out = explicitness(z, f)
    mean, std = z[:400].mean(0), z[:400].std(0)
    clf = LogisticRegression(max_iter=1000).fit((z[:400] - mean) / std, f[:400, 0])
    want = roc_auc_score(f[400:, 0], clf.predict_proba((z[400:] - mean) / std)[:, 1])
    assert out["test"] == pytest.approx(want)
    assert 0.5 < out["test"] < 1.0
    assert not math.isnan(out["train"])
