"""MIG family: estimators, known answers, invariances, and a slow reference implementation."""

from __future__ import annotations

import math

import metrics_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metrics_toys import rotation, uniform_codes_factors
from sklearn.metrics import mutual_info_score

from infoprint.metrics.mig import (
    conditional_entropies,
    discrete_entropy,
    discrete_mutual_info,
    dlig,
    dmig,
    histogram_discretize,
    mig,
    mig_family,
    mutual_info_matrix,
    resolve_reg_dim,
    xmig,
)

# ----------------------------------------------------------------------------- estimators


def test_histogram_discretize_is_disentanglement_lib_rule():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(500, 3))
    got = histogram_discretize(z, 20)
    for n in range(3):
        want = np.digitize(z[:, n], np.histogram(z[:, n], 20)[1][:-1])
        np.testing.assert_array_equal(got[:, n], want)
    assert got.min() == 1 and got.max() == 20  # min in bin 1, max in the last bin


def test_histogram_discretize_matches_plain_loops():
    rng = np.random.default_rng(1)
    z = rng.uniform(-3, 7, size=(300, 2))
    got = histogram_discretize(z, 20)
    for n in range(2):
        assert got[:, n].tolist() == ref.discretise_column(z[:, n].tolist(), 20)


def test_constant_code_falls_in_one_bin_and_carries_no_information():
    z = np.full((50, 1), 3.0)
    f = np.arange(50)[:, None] % 5
    assert np.unique(histogram_discretize(z)).size == 1
    assert mutual_info_matrix(z, f)[0, 0] == 0.0


def test_discretised_mi_matches_sklearn_mutual_info_score_on_the_same_bins():
    rng = np.random.default_rng(2)
    f = rng.integers(0, 6, size=(1000, 3))
    z = f[:, [0, 1]] + rng.normal(scale=0.8, size=(1000, 2))
    z = np.concatenate([z, rng.normal(size=(1000, 2))], axis=1)
    bins = histogram_discretize(z, 20)
    mi = mutual_info_matrix(z, f)
    assert mi.shape == (4, 3)
    for n in range(4):
        for k in range(3):
            assert mi[n, k] == pytest.approx(mutual_info_score(f[:, k], bins[:, n]), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=200).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(-3, 4), min_size=n, max_size=n),
            st.lists(st.integers(0, 9), min_size=n, max_size=n),
        )
    )
)
def test_discrete_mi_and_entropy_match_sklearn(pair):
    a, b = (np.asarray(v) for v in pair)
    assert discrete_mutual_info(a, b)[0, 0] == pytest.approx(mutual_info_score(a, b), abs=1e-10)
    assert discrete_entropy(a)[0] == pytest.approx(mutual_info_score(a, a), abs=1e-10)


def test_entropy_closed_forms():
    # k equally likely values -> log k nats
    f = np.stack([np.arange(120) % 2, np.arange(120) % 3, np.arange(120) % 8, np.zeros(120)], 1)
    np.testing.assert_allclose(discrete_entropy(f), [math.log(2), math.log(3), math.log(8), 0.0])
    # H(a | a) = 0, H(a | independent b) = H(a)
    c = conditional_entropies(f[:, :2])
    assert c[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert c[0, 1] == pytest.approx(math.log(2), abs=1e-12)  # lcm(2, 3) = 6 divides 120


def test_knn_estimator_is_sklearn_mutual_info_classif():
    from sklearn.feature_selection import mutual_info_classif

    z, f = uniform_codes_factors(400, (4, 5), noise=0.05, seed=3)
    mi = mutual_info_matrix(z, f, estimator="knn", n_neighbors=3, random_state=7)
    for k in range(2):
        want = mutual_info_classif(
            z, f[:, k], discrete_features=False, n_neighbors=3, random_state=7
        )
        np.testing.assert_allclose(mi[:, k], np.maximum(want, 0.0))
    # informative latent carries about H(factor); the other one nearly nothing
    assert mi[0, 0] == pytest.approx(math.log(4), abs=0.15)
    assert mi[1, 0] < 0.1


def test_unknown_estimator_is_an_error():
    z, f = uniform_codes_factors(50)
    with pytest.raises(ValueError, match="estimator"):
        mutual_info_matrix(z, f, estimator="kde")


# -------------------------------------------------------------------------- known answers


def test_ground_truth_codes_score_near_one():
    # With 20 bins, 8 distinct values per factor and N = 4000, the plug-in MI of an
    # unrelated latent is biased up by about (20-1)(8-1)/(2N) = 0.017 nats (of H = 2.08),
    # so MIG is within ~0.01 of 1; we allow 0.03.
    z, f = uniform_codes_factors(4000, (8, 8, 8), noise=0.01)
    assert mig(z, f) == pytest.approx(1.0, abs=0.03)
    assert mig(z, f, estimator="knn") == pytest.approx(1.0, abs=0.05)
    # one uninformative latent so that XMIG (which needs a free latent) is defined
    z = np.concatenate([z, np.random.default_rng(4).normal(size=(4000, 1))], axis=1)
    fam = mig_family(z, f)
    for name in ("mig", "dmig", "dlig", "xmig"):
        assert fam[name] == pytest.approx(1.0, abs=0.03), name


def test_scaled_ground_truth_with_extra_noise_dims_still_scores_near_one():
    z, f = uniform_codes_factors(4000, (4, 6, 8), noise=0.01)
    rng = np.random.default_rng(5)
    z = np.concatenate([5.0 * z, rng.normal(size=(4000, 3))], axis=1)
    assert mig(z, f) == pytest.approx(1.0, abs=0.03)
    assert xmig(z, f) == pytest.approx(1.0, abs=0.03)  # reg_dim=None -> latents 0..2


def test_random_codes_score_near_zero():
    rng = np.random.default_rng(6)
    f = rng.integers(0, 8, size=(4000, 3))
    z = rng.normal(size=(4000, 6))
    assert abs(mig(z, f)) < 0.02
    assert abs(mig(z, f, estimator="knn")) < 0.03
    fam = mig_family(z, f)
    for name in ("mig", "dmig", "dlig", "xmig"):
        assert abs(fam[name]) < 0.03, name


def test_rotated_representation_scores_low():
    # A 45-degree rotation mixes factors 0 and 1 equally into latents 0 and 1: each of
    # those factors is equally informative about both latents, so their gaps vanish.
    z, f = uniform_codes_factors(4000, (10, 10, 10), noise=0.01)
    z_rot = (z - 0.5) @ rotation(3, 0, 1).T
    per = mig_family(z_rot, f, metrics=("mig",))
    assert per["mig/factor_0"] < 0.1 and per["mig/factor_1"] < 0.1
    assert per["mig/factor_2"] > 0.95
    assert mig(z_rot, f) < 0.4 < 0.95 < mig(z, f)


def test_duplicated_latent_gives_zero_mig():
    z, f = uniform_codes_factors(1000, (5, 5))
    z = np.concatenate([z, z[:, :1]], axis=1)
    assert mig_family(z, f, metrics=("mig",))["mig/factor_0"] == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- invariances


@pytest.mark.parametrize("estimator", ["histogram", "knn"])
def test_invariant_to_permuting_codes(estimator):
    rng = np.random.default_rng(8)
    z, f = uniform_codes_factors(1500, (4, 6, 8), noise=0.2)
    z = np.concatenate([z, rng.normal(size=(1500, 2))], axis=1)
    perm = np.array([3, 0, 4, 2, 1])
    a = mig_family(z, f, reg_dim="auto", estimator=estimator)
    b = mig_family(z[:, perm], f, reg_dim="auto", estimator=estimator)
    assert a.keys() == b.keys()
    for key in a:
        # histogram MI is exactly permutation-equivariant; sklearn's kNN estimator adds
        # 1e-10 jitter per column, so allow a tiny difference there.
        assert a[key] == pytest.approx(b[key], abs=1e-12 if estimator == "histogram" else 1e-3)


def test_invariant_to_positive_affine_maps_of_codes():
    z, f = uniform_codes_factors(1500, (4, 6, 8), noise=0.2, seed=9)
    assert mig(z, f) == pytest.approx(mig(3.0 * z + 7.0, f), abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.permutations(list(range(4))))
def test_mig_in_unit_interval_and_permutation_invariant(seed, perm):
    rng = np.random.default_rng(seed)
    f = rng.integers(0, 4, size=(300, 2))
    z = np.concatenate([f + rng.normal(scale=0.7, size=(300, 2)), rng.normal(size=(300, 2))], 1)
    value = mig(z, f)
    assert 0.0 <= value <= 1.0
    assert mig(z[:, list(perm)], f) == pytest.approx(value, abs=1e-12)


# ---------------------------------------------------- agreement with a slow implementation


def _random_case(seed: int, n: int = 300, d: int = 5, sizes=(3, 4, 5), dependent=False):
    rng = np.random.default_rng(seed)
    f = np.stack([rng.integers(0, s, size=n) for s in sizes], axis=1)
    if dependent:  # make factor 1 depend on factor 0
        f[:, 1] = np.where(rng.random(n) < 0.6, f[:, 0] % sizes[1], f[:, 1])
    mix = rng.normal(size=(len(sizes), d))
    z = f @ mix + rng.normal(scale=1.0, size=(n, d))
    return z, f


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dependent", [False, True])
def test_agrees_with_slow_loop_implementation(seed, dependent):
    z, f = _random_case(seed, dependent=dependent)
    table = ref.mi_table(z.tolist(), f.tolist())
    np.testing.assert_allclose(mutual_info_matrix(z, f), np.asarray(table), atol=1e-12)
    facs = ref.factor_columns(f.tolist())
    k = f.shape[1]
    explicit = [4, 0, 2]
    for reg in (None, explicit):
        assert mig(z, f, reg_dim=reg) == pytest.approx(ref.slow_mig(table, facs, reg), abs=1e-10)
    for reg_arg, reg in ((None, list(range(k))), (explicit, explicit)):
        assert dmig(z, f, reg_dim=reg_arg) == pytest.approx(
            ref.slow_dmig(table, facs, reg), abs=1e-10
        )
        assert dlig(z, f, reg_dim=reg_arg) == pytest.approx(
            ref.slow_dlig(table, facs, reg), abs=1e-10
        )
        assert xmig(z, f, reg_dim=reg_arg) == pytest.approx(
            ref.slow_xmig(table, facs, reg), abs=1e-10
        )
    auto = ref.auto_reg_dim(table)
    fam = mig_family(z, f, reg_dim="auto")
    assert fam["mig"] == pytest.approx(ref.slow_mig(table, facs, None), abs=1e-10)
    assert fam["dmig"] == pytest.approx(ref.slow_dmig(table, facs, auto), abs=1e-10)
    assert fam["dlig"] == pytest.approx(ref.slow_dlig(table, facs, auto), abs=1e-10)
    if len(set(auto)) < z.shape[1]:
        assert fam["xmig"] == pytest.approx(ref.slow_xmig(table, facs, auto), abs=1e-10)


def test_family_matches_single_metric_functions():
    z, f = _random_case(11, dependent=True)
    for reg in (None, "auto", [1, 3, 0]):
        fam = mig_family(z, f, reg_dim=reg, factor_names=["a", "b", "c"])
        assert fam["mig"] == pytest.approx(mig(z, f, reg_dim=reg))
        assert fam["dmig"] == pytest.approx(dmig(z, f, reg_dim=reg))
        assert fam["dlig"] == pytest.approx(dlig(z, f, reg_dim=reg))
        assert fam["xmig"] == pytest.approx(xmig(z, f, reg_dim=reg))
        per = [fam[f"mig/{n}"] for n in "abc"]
        assert np.mean(per) == pytest.approx(fam["mig"])


# ------------------------------------------------------------------ dependency awareness


def test_dmig_normalises_by_conditional_entropy_for_dependent_factors():
    # Factor b is a coarsening of factor a (b = a // 2), and latents are perfect copies.
    # MIG for a is (H(a) - I(a; z_b)) / H(a) = H(a | b) / H(a) = log2 / log4 = 0.5, while
    # DMIG divides by H(a | b) instead (z_b regularises b) and gives 1.
    rng = np.random.default_rng(12)
    a = rng.integers(0, 4, size=4000)
    f = np.stack([a, a // 2], axis=1)
    z = f + 0.01 * rng.normal(size=f.shape)
    per_mig = mig_family(z, f, metrics=("mig",), reg_dim=None)
    assert per_mig["mig/factor_0"] == pytest.approx(0.5, abs=0.02)
    per = mig_family(z, f, metrics=("dmig",), reg_dim=[0, 1])
    assert per["dmig/factor_0"] == pytest.approx(1.0, abs=0.02)


def test_forced_reg_dim_can_make_gaps_negative():
    z, f = uniform_codes_factors(2000, (6, 6), noise=0.01)
    # Claim latent 1 regularises factor 0: its MI is ~0 while latent 0 has H(a_0).
    assert mig(z, f, reg_dim=[1, 0]) == pytest.approx(-1.0, abs=0.03)
    assert mig(z, f, reg_dim=[0, 1]) == pytest.approx(mig(z, f), abs=1e-12)


def test_reg_dim_resolution_and_errors():
    mi = np.array([[0.1, 0.9], [0.8, 0.2], [0.0, 0.0]])
    assert resolve_reg_dim(mi, None, fill=False) is None
    assert resolve_reg_dim(mi, None, fill=True) == [0, 1]
    assert resolve_reg_dim(mi, "auto", fill=True) == [1, 0]
    with pytest.raises(ValueError, match="one latent index per factor"):
        resolve_reg_dim(mi, [0], fill=True)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        resolve_reg_dim(mi, [0, 3], fill=True)
    with pytest.raises(ValueError, match="reg_dim must be"):
        resolve_reg_dim(mi, "best", fill=True)


def test_undefined_cases_raise_clear_errors():
    z, f = uniform_codes_factors(200, (3, 3))
    with pytest.raises(ValueError, match="two factors"):
        dlig(z, f[:, :1])
    with pytest.raises(ValueError, match="regularises no factor"):
        xmig(z, f)  # two latents, both regularise a factor
    with pytest.raises(ValueError, match="two latent"):
        mig(z[:, :1], f)
    with pytest.raises(ValueError, match="same number of rows"):
        mig(z, f[:10])
    with pytest.raises(ValueError, match="integer"):
        mig(z, f + 0.5)
    with pytest.raises(ValueError, match="NaN"):
        mig(np.full_like(z, np.nan), f)
    with pytest.raises(ValueError, match="unknown MIG-family"):
        mig_family(z, f, metrics=("mig", "sap"))
    # the family skips what is undefined instead of failing
    fam = mig_family(z, f, reg_dim=None)
    assert "xmig" not in fam and "mig" in fam and "dlig" in fam


def test_constant_factor_is_left_out_of_the_mean():
    z, f = uniform_codes_factors(2000, (5, 5), noise=0.01)
    f = np.concatenate([f, np.zeros((2000, 1), dtype=np.int64)], axis=1)
    z = np.concatenate([z, np.random.default_rng(0).normal(size=(2000, 1))], axis=1)
    fam = mig_family(z, f, metrics=("mig",), factor_names=["a", "b", "const"])
    assert "mig/const" not in fam
    assert fam["mig"] == pytest.approx((fam["mig/a"] + fam["mig/b"]) / 2)


def test_knn_entropy_estimator_is_latte_style_and_close_to_plugin():
    from sklearn.feature_selection import mutual_info_classif

    from infoprint.metrics.mig import factor_conditional_entropies, factor_entropies

    rng = np.random.default_rng(13)
    f = rng.integers(0, 4, size=(1000, 2))
    h = factor_entropies(f, entropy_estimator="knn", random_state=5)
    for i in range(2):
        want = mutual_info_classif(
            f[:, i : i + 1].astype(float), f[:, i], discrete_features=False, random_state=5
        )[0]
        assert h[i] == pytest.approx(want)
    np.testing.assert_allclose(h, discrete_entropy(f), rtol=0.01)
    cond = factor_conditional_entropies(f, h, entropy_estimator="knn", random_state=5)
    np.testing.assert_allclose(cond, conditional_entropies(f), atol=0.05)
    with pytest.raises(ValueError, match="entropy_estimator"):
        factor_entropies(f, entropy_estimator="exact")


def test_knn_family_is_gap_over_knn_entropy():
    # With estimator="knn" and entropy_estimator="knn" every ingredient is an sklearn kNN
    # estimate, as in latte-metrics (discrete=True); check MIG from the ingredients.
    from infoprint.metrics.mig import factor_entropies

    z, f = _random_case(14)
    mi = mutual_info_matrix(z, f, estimator="knn", random_state=3)
    h = factor_entropies(f, entropy_estimator="knn", random_state=3)
    fam = mig_family(
        z, f, metrics=("mig",), estimator="knn", entropy_estimator="knn", random_state=3
    )
    for i in range(f.shape[1]):
        top = np.sort(mi[:, i])[::-1]
        assert fam[f"mig/factor_{i}"] == pytest.approx((top[0] - top[1]) / h[i])
