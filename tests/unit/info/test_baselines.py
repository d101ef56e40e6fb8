"""Baseline similarity measures: closed forms, slow loop references, reference libraries."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
import scipy.stats
from scipy.spatial.distance import pdist, squareform
from sklearn.linear_model import Lasso
from unit.info.info_reference import coefficient_matrix

from infoprint.info.baselines import DISTANCE_MEASURES, MEASURES, channel_matrix, space_matrix
from infoprint.info.baselines_classifier import (
    bayes_predictions,
    classifier_information,
    classifier_predictions,
    prediction_jsd,
)
from infoprint.info.baselines_kernel import (
    bhattacharyya_cka,
    cka,
    hsic,
    linear_cka,
    rsa,
    rsa_spaces,
)
from infoprint.info.baselines_shape import gaussian_shape_metric, wasserstein_shape_metric
from infoprint.info.baselines_udr import relative_strength, udr, udr_runs, udr_similarity


def _rotation(d: int, seed: int) -> np.ndarray:
    return scipy.stats.ortho_group.rvs(d, random_state=seed)


@pytest.fixture
def points() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(12, 3))


# --- CKA -----------------------------------------------------------------------------


def _hsic_biased_loops(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(k @ h @ l @ h)) / (n - 1) ** 2


def _hsic_unbiased_loops(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    """U-statistic over distinct indices: E k_ij l_ij + E k_ij l_qr − 2 E k_ij l_iq."""
    n = len(k)
    t1 = np.mean([k[i, j] * l[i, j] for i, j in itertools.permutations(range(n), 2)])
    t2 = np.mean([k[i, j] * l[q, r] for i, j, q, r in itertools.permutations(range(n), 4)])
    t3 = np.mean([k[i, j] * l[i, q] for i, j, q in itertools.permutations(range(n), 3)])
    return float(t1 + t2 - 2 * t3)


@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_invariances(points: np.ndarray, debiased: bool) -> None:
    x = points
    for y in (x @ _rotation(3, 1), 3.7 * x, x + 5.0, -x[:, ::-1]):
        assert linear_cka(x, y, debiased=debiased) == pytest.approx(1.0, abs=1e-10)
    y = np.random.default_rng(1).normal(size=(12, 2))
    assert linear_cka(x, y, debiased=debiased) == pytest.approx(
        linear_cka(y, x, debiased=debiased), abs=1e-12
    )


def test_hsic_matches_loop_references() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(7, 2)), rng.normal(size=(7, 3))
    k, l = x @ x.T, np.exp(-(squareform(pdist(y)) ** 2))  # noqa: E741
    assert hsic(k, l) == pytest.approx(_hsic_biased_loops(k, l), rel=1e-12)
    assert hsic(k, l, debiased=True) == pytest.approx(_hsic_unbiased_loops(k, l), rel=1e-10)
    expected = _hsic_unbiased_loops(k, l) / np.sqrt(
        _hsic_unbiased_loops(k, k) * _hsic_unbiased_loops(l, l)
    )
    assert cka(k, l, debiased=True) == pytest.approx(expected, rel=1e-10)


def test_linear_cka_and_hsic_match_repsim() -> None:
    """repsim 0.1.5: biased CKA ('gretton') and debiased HSIC ('song') agree with ours.

    repsim's *CKA* with 'song' divides the debiased cross-HSIC by the biased self-HSICs,
    which is not Kornblith et al.'s debiased CKA; so only its HSIC is compared there.
    """
    repsim = pytest.importorskip("repsim")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 3))
    y = x[:, :2] @ rng.normal(size=(2, 2)) + rng.normal(size=(30, 2))
    assert linear_cka(x, y) == pytest.approx(repsim.cka([x, y], "linear", "gretton")[0, 1])
    for est, debiased in (("gretton", False), ("song", True)):
        ref = repsim.hsic([x, y], "linear", est)
        assert hsic(x @ x.T, y @ y.T, debiased=debiased) == pytest.approx(ref[0, 1], rel=1e-10)
        assert hsic(y @ y.T, y @ y.T, debiased=debiased) == pytest.approx(ref[1, 1], rel=1e-10)


def test_bhattacharyya_cka_against_slow_matrix_and_invariances() -> None:
    rng = np.random.default_rng(4)
    mu_a, lv_a = rng.normal(size=(10, 2)), rng.normal(scale=0.3, size=(10, 2))
    mu_b, lv_b = rng.normal(size=(10, 3)), rng.normal(scale=0.3, size=(10, 3))
    k, l = coefficient_matrix(mu_a, lv_a), coefficient_matrix(mu_b, lv_b)  # noqa: E741
    for debiased in (False, True):
        assert bhattacharyya_cka(mu_a, lv_a, mu_b, lv_b, debiased=debiased) == pytest.approx(
            cka(k, l, debiased=debiased), rel=1e-10
        )
    # coefficients are unchanged by translation, permutation and sign flips of the dims,
    # and (isotropic variances) by rotations
    assert bhattacharyya_cka(mu_a, lv_a, 2 - mu_a[:, ::-1], lv_a[:, ::-1]) == pytest.approx(1.0)
    lv_iso = np.repeat(lv_a[:, :1], 2, axis=1)
    rotated = mu_a @ _rotation(2, 5)
    assert bhattacharyya_cka(mu_a, lv_iso, rotated, lv_iso) == pytest.approx(1.0, abs=1e-12)
    # but not by rescaling the means alone: the kernel sees the posterior overlap
    assert bhattacharyya_cka(mu_a, lv_a, 3 * mu_a, lv_a) < 0.99


# --- RSA -----------------------------------------------------------------------------


def test_rsa_closed_forms(points: np.ndarray) -> None:
    d = squareform(pdist(points))
    other = squareform(pdist(np.random.default_rng(5).normal(size=(12, 2))))
    assert rsa(d, other) == pytest.approx(rsa(other, d), abs=1e-15)
    for monotone in (d**2, np.log1p(d), np.exp(d), 3 * d + 1):
        assert rsa(d, monotone) == pytest.approx(1.0, abs=1e-12)
    assert rsa(d, -d) == pytest.approx(-1.0, abs=1e-12)
    assert rsa_spaces(points, 2.5 * points @ _rotation(3, 6) + 1) == pytest.approx(1.0)


def test_rsa_matches_rsatoolbox_and_rank_loops() -> None:
    rdm = pytest.importorskip("rsatoolbox.rdm")
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(15, 2)), rng.normal(size=(15, 3))
    x[:, 0] += y[:, 0]
    a, b = pdist(x), pdist(y)
    ours = rsa(squareform(a), squareform(b))
    ref = rdm.compare(rdm.RDMs(a[None]), rdm.RDMs(b[None]), method="spearman")[0, 0]
    assert ours == pytest.approx(ref, abs=1e-12)
    # Pearson correlation of ranks computed by counting (no ties here)
    ra = np.array([np.sum(a < v) for v in a], dtype=float)
    rb = np.array([np.sum(b < v) for v in b], dtype=float)
    assert ours == pytest.approx(np.corrcoef(ra, rb)[0, 1], abs=1e-12)


# --- Gaussian stochastic shape metric ------------------------------------------------


def _bures_sq(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.real(scipy.linalg.sqrtm(a))
    cross = np.real(scipy.linalg.sqrtm(ra @ b @ ra))
    return float(np.trace(a) + np.trace(b) - 2 * np.trace(cross))


def _shape_slow_2d(mu_a, cov_a, mu_b, cov_b, alpha: float = 1.0) -> float:
    """Brute force over O(2): rotations and reflections by angle, then a local refinement."""
    mu_a, mu_b = mu_a - mu_a.mean(0), mu_b - mu_b.mean(0)

    def cost(theta: float, flip: float) -> float:
        c, s = np.cos(theta), np.sin(theta)
        t = np.array([[c, -s], [s, c]]) @ np.diag([1.0, flip])
        total = 0.0
        for i in range(len(mu_a)):
            total += alpha * np.sum((mu_a[i] - t @ mu_b[i]) ** 2)
            total += (2 - alpha) * _bures_sq(cov_a[i], t @ cov_b[i] @ t.T)
        return total / len(mu_a)

    best = np.inf
    for flip in (1.0, -1.0):
        grid = np.linspace(0, 2 * np.pi, 73)
        theta0 = grid[np.argmin([cost(t, flip) for t in grid])]
        res = scipy.optimize.minimize_scalar(
            cost,
            bounds=(theta0 - 0.1, theta0 + 0.1),
            args=(flip,),
            method="bounded",
            options={"xatol": 1e-10},
        )
        best = min(best, res.fun)
    return float(np.sqrt(best))


def _random_covs(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    a = rng.normal(size=(n, d, d)) * 0.6
    return a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(d)


def test_shape_metric_matches_brute_force_over_o2() -> None:
    rng = np.random.default_rng(8)
    mu_a, mu_b = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    cov_a, cov_b = _random_covs(rng, 6, 2), _random_covs(rng, 6, 2)
    for alpha in (1.0, 0.5):
        ours = wasserstein_shape_metric(mu_a, cov_a, mu_b, cov_b, alpha=alpha)
        assert ours == pytest.approx(_shape_slow_2d(mu_a, cov_a, mu_b, cov_b, alpha), rel=1e-6)


def test_shape_metric_zero_for_rotated_translated_copy() -> None:
    rng = np.random.default_rng(9)
    mu, cov = rng.normal(size=(10, 3)), _random_covs(rng, 10, 3)
    r = _rotation(3, 10)
    mu_r, cov_r = mu @ r + 4.0, np.swapaxes(r, 0, 1)[None] @ cov @ r[None]
    assert wasserstein_shape_metric(mu, cov, mu_r, cov_r) == pytest.approx(0.0, abs=1e-6)
    lv = rng.normal(scale=0.5, size=(10, 3))  # diagonal: permute and flip the dimensions
    assert gaussian_shape_metric(mu, lv, -mu[:, [2, 0, 1]], lv[:, [2, 0, 1]]) == pytest.approx(
        0.0, abs=1e-6
    )


def test_shape_metric_uses_variances_not_precisions() -> None:
    """Same means, isotropic variances e^{λ_a}, e^{λ_b}: d = sqrt(D) |e^{λ_a/2} − e^{λ_b/2}|."""
    mu = np.random.default_rng(11).normal(size=(8, 2))
    d = gaussian_shape_metric(mu, np.full((8, 2), 2.0), mu, np.zeros((8, 2)))
    assert d == pytest.approx(np.sqrt(2) * (np.e - 1), rel=1e-8)
    assert d != pytest.approx(np.sqrt(2) * (1 - np.exp(-1.0)), rel=1e-3)  # the precision bug


def test_shape_metric_symmetric_and_pads_lower_dimension() -> None:
    rng = np.random.default_rng(12)
    x = np.linspace(-2, 2, 9)[:, None]
    lv = rng.normal(scale=0.3, size=(9, 1))
    r = _rotation(2, 13)
    mu_2d = np.hstack([x, np.zeros_like(x)]) @ r
    cov_2d = r.T[None] @ (np.exp(lv)[:, :, None] * np.diag([1.0, 0.0])) @ r[None]
    assert wasserstein_shape_metric(x, np.exp(lv)[:, :, None], mu_2d, cov_2d) == pytest.approx(
        0.0, abs=1e-6
    )
    mu_a, lv_a = rng.normal(size=(9, 2)), rng.normal(size=(9, 2))
    assert gaussian_shape_metric(mu_a, lv_a, x, lv) == pytest.approx(
        gaussian_shape_metric(x, lv, mu_a, lv_a), rel=1e-6
    )


# --- UDR -----------------------------------------------------------------------------


def _udr_disentanglement_lib(za, zb, kl_a, kl_b, method: str) -> float:
    """disentanglement_lib's compute_udr_sklearn for one pair, transcribed with loops."""
    reps = []
    for z, kl in ((za, kl_a), (zb, kl_b)):
        z = (z - z.mean(0)) / z.std(0)
        reps.append(z * np.greater(kl, 0.01))
    if method == "lasso":
        corr = np.abs(Lasso(alpha=0.1, random_state=0).fit(reps[0], reps[1]).coef_).T
    else:
        corr = np.zeros((za.shape[1], zb.shape[1]))
        for i in range(za.shape[1]):
            for j in range(zb.shape[1]):
                with warnings.catch_warnings():  # zeroed inactive codes: constant input, NaN
                    warnings.simplefilter("ignore", scipy.stats.ConstantInputWarning)
                    corr[i, j] = abs(scipy.stats.spearmanr(reps[0][:, i], reps[1][:, j])[0])
    corr = corr[kl_a > 0.01][:, kl_b > 0.01]
    with np.errstate(invalid="ignore", divide="ignore"):
        sx = np.nanmean(np.nan_to_num(corr.max(0) ** 2 / corr.sum(0)))
        sy = np.nanmean(np.nan_to_num(corr.max(1) ** 2 / corr.sum(1)))
    return float((sx + sy) / 2)


def _grid_codes() -> np.ndarray:
    """Two balanced factors on 64 points: their Spearman correlation is exactly 0."""
    i = np.arange(64)
    return np.stack([i % 8, i // 8], 1).astype(float)


@pytest.mark.parametrize("method", ["spearman", "lasso"])
def test_udr_matches_disentanglement_lib_formula(method: str) -> None:
    rng = np.random.default_rng(14)
    z = rng.normal(size=(200, 3))
    za = np.stack([z[:, 0], z[:, 1] + 0.3 * z[:, 2], rng.normal(size=200) * 0.01], 1)
    zb = np.stack([np.tanh(z[:, 1]), -z[:, 0] + 0.2 * rng.normal(size=200), z[:, 2]], 1)
    kl_a, kl_b = np.array([1.0, 0.5, 0.001]), np.array([2.0, 1.0, 0.3])
    ours = udr(za, zb, kl_a=kl_a, kl_b=kl_b, method=method)
    assert ours == pytest.approx(_udr_disentanglement_lib(za, zb, kl_a, kl_b, method), abs=1e-9)


def test_udr_closed_forms() -> None:
    z = _grid_codes()
    transformed = np.stack([-(z[:, 1] ** 3), np.exp(z[:, 0])], 1)  # permuted, flipped, monotone
    assert udr(z, z) == pytest.approx(1.0, abs=1e-12)
    assert udr(z, transformed) == pytest.approx(1.0, abs=1e-12)
    assert udr(z, -z[:, ::-1], method="lasso") == pytest.approx(0.9, abs=1e-9)  # 1 − α
    rng = np.random.default_rng(15)
    indep = udr(rng.normal(size=(4000, 3)), rng.normal(size=(4000, 3)))
    assert indep < 0.05
    assert relative_strength(np.zeros((2, 2))) == 0.0
    assert relative_strength(np.array([[0.5, 0.5]])) == pytest.approx(0.5 * (0.5 + 0.25))


def test_udr_runs_median_and_similarity_shape() -> None:
    z = _grid_codes()
    rng = np.random.default_rng(16)
    runs = [z, z[:, ::-1], rng.normal(size=(64, 2))]
    pairwise, scores = udr_runs(runs)
    assert np.isnan(np.diagonal(pairwise)).all()
    assert pairwise[0, 1] == pytest.approx(1.0)
    assert scores[0] == pytest.approx(np.median([pairwise[1, 0], pairwise[2, 0]]))
    assert udr_similarity(z, rng.normal(size=(64, 3))).shape == (2, 3)


# --- JSD between classifiers of point identity ---------------------------------------


def test_prediction_jsd_and_information_closed_forms() -> None:
    n = 8
    eye, shift = np.eye(n), np.roll(np.eye(n), 1, axis=1)
    uniform = np.full((n, n), 1 / n)
    assert prediction_jsd(eye, eye) == 0.0
    assert prediction_jsd(eye, shift) == pytest.approx(1.0)  # disjoint rows: 1 bit
    assert prediction_jsd(eye, uniform) == pytest.approx(prediction_jsd(uniform, eye))
    assert classifier_information(eye) == pytest.approx(3.0)
    assert classifier_information(uniform) == pytest.approx(0.0, abs=1e-12)


def test_bayes_predictions_match_quadrature() -> None:
    mu = np.array([[0.0], [1.0], [2.5], [6.0]])
    lv = np.log(np.array([[0.5], [1.0], [0.3], [2.0]]))
    grid = np.linspace(-10, 16, 20001)
    dens = scipy.stats.norm.pdf(grid[None], mu, np.exp(0.5 * lv))  # [N, G]
    post = dens / dens.sum(0, keepdims=True)
    exact = np.trapezoid(dens[:, None, :] * post[None], grid, axis=-1)
    mc = bayes_predictions(mu, lv, n_eval=20000, seed=1)
    assert np.abs(mc - exact).max() < 0.02


def test_classifier_approaches_bayes_and_copies_agree() -> None:
    mu = np.linspace(0, 5, 8)[:, None] * np.array([[1.0, 0.5]])
    lv = np.full((8, 2), -1.0)
    bayes = bayes_predictions(mu, lv, n_eval=400)
    learned = classifier_predictions(mu, lv, n_train=150, n_eval=400)
    assert classifier_information(learned) == pytest.approx(classifier_information(bayes), abs=0.05)
    assert prediction_jsd(learned, bayes) < 0.01
    rotated = classifier_predictions(mu @ _rotation(2, 17), lv, n_train=150, n_eval=400, seed=1)
    assert prediction_jsd(learned, rotated) < 0.01


# --- runs and channels ---------------------------------------------------------------


def test_every_measure_on_a_space_and_its_equivalent_copy() -> None:
    rng = np.random.default_rng(18)
    i = np.arange(64)
    mu = np.stack([i % 8, i // 8], 1).astype(float)  # uncorrelated dims: UDR is exact
    lv = np.full((64, 2), -1.0) + 0.2 * rng.normal(size=(64, 2))
    copy = (-mu[:, ::-1] + 3.0, lv[:, ::-1])  # flipped, permuted, translated
    for name, fn in MEASURES.items():
        value = fn(mu, lv, *copy)
        expected = 0.0 if name in DISTANCE_MEASURES else (0.9 if name == "udr_lasso" else 1.0)
        assert value == pytest.approx(expected, abs=0.02), name


def test_space_and_channel_matrices() -> None:
    rng = np.random.default_rng(19)
    spaces = [(rng.normal(size=(20, d)), rng.normal(scale=0.2, size=(20, d))) for d in (1, 2, 3)]
    m = space_matrix(spaces, "cka_linear")
    assert m.shape == (3, 3)
    np.testing.assert_allclose(np.diagonal(m), 1.0)
    np.testing.assert_allclose(m, m.T)
    c = channel_matrix(spaces[2], spaces[1], "rsa")
    assert c.shape == (3, 2)
    mu_a, mu_b = spaces[2][0], spaces[1][0]
    assert c[2, 1] == pytest.approx(rsa_spaces(mu_a[:, 2], mu_b[:, 1]))
    self_c = channel_matrix(spaces[2], spaces[2], MEASURES["cka_bhattacharyya"])
    np.testing.assert_allclose(np.diagonal(self_c), 1.0)
