"""Conformance with the reference implementations, on fixed inputs, with pinned values.

latte-metrics 0.0.1a6 (MIG, DMIG, DLIG, XMIG, modularity with ``discrete=True``) and
disentanglement_lib 1.5 (MIG, SAP, modularity, explicitness, DCI, BetaVAE, FactorVAE)
cannot be installed next to infoprint, so their outputs on the inputs of
``metrics_reference.latte_case`` / ``dlib_codes_case`` / the ``DLIB_*`` toy settings are
pinned below; the commands that produced them are in ``produce_latte_reference.py`` and
``produce_dlib_reference.py`` (same folder). Every comparison is exact up to float
rounding (1e-12; mostly bitwise) and each one fails if the convention it checks changes:
the last tests show the other convention moving the values.
"""

from __future__ import annotations

import metrics_reference as ref
import numpy as np
import pytest
from metrics_toys import ToyFactors, deterministic_repr

from infoprint.metrics.beta_vae import beta_vae_accuracy, beta_vae_features_from_batches
from infoprint.metrics.dci import dci
from infoprint.metrics.factor_vae import factor_vae_votes_from_batches, majority_vote_accuracy
from infoprint.metrics.mig import LATTE_OPTIONS, mig, mig_family
from infoprint.metrics.modularity import explicitness, modularity
from infoprint.metrics.sap import sap

# PYTHONPATH=/tmp/latte_ref:tests python tests/unit/metrics/produce_latte_reference.py
# (latte-metrics 0.0.1a6 = commit 623fae2; NumPy 2.4.6, scikit-learn 1.9.1, x86-64 AVX-512)
LATTE = {
    "dependent3": {
        "mig": [0.07723695005891452, 0.06316200787462432, 0.1783621137885177],
        "dmig": [0.07723695005891452, -0.08131531316660218, -0.40125033627205514],
        "dlig": [-0.18771244206349655, -0.4394321728473861, -0.041911705710155726],
        "modularity": [0.8259518403414906, 0.9940729000471386, 0.5779943321373808],
    },
    "ties3": {
        "mig": [0.839416179417129, 0.003731027366286433, 0.0439273898529467],
        "dmig": [0.8487216704237427, -0.010355996670687047, -0.0439273898529467],
        "dlig": [0.8135133228511594, 0.02238977296806434, -0.028792202397798353],
        "modularity": [0.9986677503889124, 1.0, 1.0],
    },
    "free_latent": {
        "mig": [0.3818926885855828, 0.4182475253594699],
        "dmig": [0.3818926885855828, 0.4182475253594699],
        "dlig": [0.38691450895044843, 0.46954188231720256],
        "modularity": [1.0, 1.0, 0.9998205635298445, 1.0],
        "xmig": [0.3818926885855828, 0.4182475253594699],
    },
}

# PYTHONPATH=/tmp/dlib/whl:/tmp/dlib/deps:tests python tests/unit/metrics/produce_dlib_reference.py
# (disentanglement_lib 1.5 wheel, gin-config 0.4.0, scikit-learn 1.9.1, NumPy 2.4.6; DCI's
# GradientBoostingClassifier seeded with random_state=0, FactorVAE prune threshold 0.05)
DLIB = {
    "mig": 0.06559110164023604,
    "sap": 0.02888888888888889,
    "modularity": 0.8080476666750196,
    "explicitness_train": 0.7556956614615146,
    "explicitness_test": 0.7569654785867188,
    "dci_informativeness_train": 0.918888888888889,
    "dci_informativeness_test": 0.47666666666666674,
    "dci_disentanglement": 0.1084247880239311,
    "dci_completeness": 0.1174100654035263,
    "beta_vae_train_accuracy": 0.9466666666666667,
    "beta_vae_eval_accuracy": 0.9666666666666667,
    "factor_vae_train_accuracy": 0.7966666666666666,
    "factor_vae_eval_accuracy": 0.82,
}

# PYTHONPATH=/tmp/sk15:/tmp/dlib/whl:/tmp/dlib/deps:tests \
#     python tests/unit/metrics/produce_dlib_reference.py --era
# (the same with scikit-learn 1.5.2 and LogisticRegression(solver="liblinear",
# multi_class="ovr"), LinearSVC(dual=True): scikit-learn < 0.22's defaults)
DLIB_ERA = {
    "mig": 0.06559110164023604,
    "sap": 0.02888888888888889,
    "modularity": 0.8080476666750196,
    "explicitness_train": 0.7461041638769069,
    "explicitness_test": 0.7386220218669663,
    "beta_vae_train_accuracy": 0.95,
    "beta_vae_eval_accuracy": 0.9666666666666667,
}

TOL = 1e-12


def _per_factor(fam: dict[str, float], name: str, k: int) -> np.ndarray:
    return np.array([fam.get(f"{name}/factor_{i}", np.nan) for i in range(k)])


# ----------------------------------------------------------------------- latte-metrics


@pytest.mark.parametrize("case", ref.LATTE_CASES)
def test_latte_options_reproduce_latte_metrics(case):
    z, f, rs = ref.latte_case(case)
    want = LATTE[case]
    k = f.shape[1]
    plain = mig_family(z, f, metrics=("mig",), reg_dim=None, random_state=rs, **LATTE_OPTIONS)
    np.testing.assert_allclose(_per_factor(plain, "mig", k), want["mig"], rtol=0, atol=TOL)
    fam = mig_family(z, f, reg_dim=None, random_state=rs, **LATTE_OPTIONS)
    for name in ("dmig", "dlig", "xmig"):
        if name in want:
            got = _per_factor(fam, name, k)
            np.testing.assert_allclose(got, want[name], rtol=0, atol=TOL, err_msg=name)
    assert mig(z, f, random_state=rs, **LATTE_OPTIONS) == pytest.approx(
        np.mean(want["mig"]), abs=TOL
    )
    got_mod = modularity(z, f, estimator="knn", random_state=rs)
    assert got_mod == pytest.approx(np.mean(want["modularity"]), abs=TOL)


def test_runner_up_ties_follow_argsort_in_latte_convention():
    # ties3: most kNN MI estimates of the uninformative latents are clipped to exactly 0,
    # so DMIG's runner-up latent and DLIG's runner-up factor are ties. latte takes the one
    # np.argsort puts last (here, for 3 entries: the highest index); infoprint's own
    # convention takes the lowest index, which moves DMIG by 5e-3 and DLIG by 2.5e-4.
    z, f, rs = ref.latte_case("ties3")
    mi = mig_family(z, f, metrics=("mig",), random_state=rs, **LATTE_OPTIONS)
    assert mi  # the case is well defined
    own = mig_family(z, f, reg_dim=None, random_state=rs, estimator="knn", entropy_estimator="knn")
    for name, moved in (("dmig", 5e-3), ("dlig", 2e-4)):
        diff = np.abs(_per_factor(own, name, 3) - LATTE["ties3"][name])
        assert diff.max() > moved, name


def test_dlig_reestimates_each_pair_in_latte_convention():
    # free_latent: two factors, so DLIG has no runner-up ties; the codes are rounded, so
    # scikit-learn's tie-breaking jitter (drawn once per call for all columns) changes the
    # kNN counts: the shared MI matrix moves DLIG by 5e-4 against latte's per-pair calls.
    z, f, rs = ref.latte_case("free_latent")
    own = mig_family(z, f, reg_dim=None, random_state=rs, estimator="knn", entropy_estimator="knn")
    diff = np.abs(_per_factor(own, "dlig", 2) - LATTE["free_latent"]["dlig"])
    assert diff.max() > 1e-4
    # ... and nothing else moves: MIG, DMIG and XMIG use latte's (all-latent) calls too
    for name in ("dmig", "xmig"):
        np.testing.assert_allclose(_per_factor(own, name, 2), LATTE["free_latent"][name], atol=TOL)


@pytest.mark.parametrize("seed", range(8))
def test_latte_convention_matches_independent_reimplementation(seed):
    # Machine-independent: the reference calls np.argsort on the same arrays, so this holds
    # whatever order this machine's NumPy sorts ties in (up to 9 latents, 4 factors).
    rng = np.random.default_rng(100 + seed)
    n, k = 300, int(rng.integers(2, 5))
    d = int(rng.integers(k + 1, 10))
    f = np.stack([rng.integers(0, int(rng.integers(2, 6)), size=n) for _ in range(k)], 1)
    if seed % 2:
        f[:, 1] = np.where(rng.random(n) < 0.5, f[:, 0], f[:, 1])
    z = rng.normal(size=(n, d))
    z[:, :2] += f[:, :2] * rng.uniform(0.3, 2.0, size=2)
    if seed % 3 == 0:
        z = np.round(z, 2)
    want = ref.latte_style_scores(z, f, list(range(k)), random_state=seed)
    got = mig_family(z, f, reg_dim=None, random_state=seed, **LATTE_OPTIONS)
    plain = mig_family(z, f, metrics=("mig",), reg_dim=None, random_state=seed, **LATTE_OPTIONS)
    got.update(plain)
    for name, values in want.items():
        np.testing.assert_allclose(_per_factor(got, name, k), values, rtol=0, atol=TOL)


# ------------------------------------------------------------------ disentanglement_lib


def test_observational_metrics_reproduce_disentanglement_lib():
    c, f, ct, ft = ref.dlib_codes_case()
    assert mig(c, f) == pytest.approx(DLIB["mig"], abs=TOL)
    assert modularity(c, f) == pytest.approx(DLIB["modularity"], abs=TOL)
    assert sap(c, f, codes_test=ct, factors_test=ft) == pytest.approx(DLIB["sap"], abs=TOL)
    ex = explicitness(c, f, codes_test=ct, factors_test=ft)
    assert ex["train"] == pytest.approx(DLIB["explicitness_train"], abs=TOL)
    assert ex["test"] == pytest.approx(DLIB["explicitness_test"], abs=TOL)


def test_dci_reproduces_disentanglement_lib():
    c, f, ct, ft = ref.dlib_codes_case()
    got = dci(c, f, codes_test=ct, factors_test=ft, random_state=0)
    for key, value in got.items():
        assert value == pytest.approx(DLIB[f"dci_{key}"], abs=TOL), key


def test_liblinear_ovr_reproduces_disentanglement_lib_era_explicitness():
    c, f, ct, ft = ref.dlib_codes_case()
    ex = explicitness(c, f, codes_test=ct, factors_test=ft, classifier="liblinear_ovr")
    assert ex["train"] == pytest.approx(DLIB_ERA["explicitness_train"], abs=TOL)
    assert ex["test"] == pytest.approx(DLIB_ERA["explicitness_test"], abs=TOL)
    # the two classifiers differ (here by 0.018 on the test AUC)
    assert abs(DLIB_ERA["explicitness_test"] - DLIB["explicitness_test"]) > 0.01
    # histogram MIG / modularity and SAP do not depend on the scikit-learn era
    assert mig(c, f) == pytest.approx(DLIB_ERA["mig"], abs=TOL)
    assert sap(c, f, codes_test=ct, factors_test=ft) == pytest.approx(DLIB_ERA["sap"], abs=TOL)


def _beta_vae_on_dlib_batches(classifier: str, fit_draws: int) -> dict[str, float]:
    b = ref.DLIB_BETA_VAE
    data, represent = ToyFactors(ref.DLIB_TOY_SIZES), deterministic_repr()
    rs = np.random.RandomState(b["seed"])
    y_tr, f1, f2 = ref.dlib_beta_vae_batches(ref.DLIB_TOY_SIZES, b["num_train"], 16, rs)
    for _ in range(fit_draws):  # liblinear's fit takes a seed from disentanglement_lib's rs
        rs.randint(np.iinfo(np.int32).max)
    y_ev, g1, g2 = ref.dlib_beta_vae_batches(ref.DLIB_TOY_SIZES, b["num_eval"], 16, rs)
    rng = np.random.default_rng(0)  # renders nothing random for this toy
    x_tr = beta_vae_features_from_batches(data, represent, f1, f2, rng)
    x_ev = beta_vae_features_from_batches(data, represent, g1, g2, rng)
    return beta_vae_accuracy(x_tr, y_tr, x_ev, y_ev, classifier=classifier)


def test_beta_vae_reproduces_disentanglement_lib_on_its_batches():
    got = _beta_vae_on_dlib_batches("lbfgs", fit_draws=0)
    assert got["train_accuracy"] == pytest.approx(DLIB["beta_vae_train_accuracy"], abs=TOL)
    assert got["eval_accuracy"] == pytest.approx(DLIB["beta_vae_eval_accuracy"], abs=TOL)
    era = _beta_vae_on_dlib_batches("liblinear_ovr", fit_draws=1)
    assert era["train_accuracy"] == pytest.approx(DLIB_ERA["beta_vae_train_accuracy"], abs=TOL)
    assert era["eval_accuracy"] == pytest.approx(DLIB_ERA["beta_vae_eval_accuracy"], abs=TOL)
    assert DLIB_ERA["beta_vae_train_accuracy"] != DLIB["beta_vae_train_accuracy"]


def test_factor_vae_reproduces_disentanglement_lib_on_its_batches():
    fv = ref.DLIB_FACTOR_VAE
    data, represent = ToyFactors(ref.DLIB_TOY_SIZES), deterministic_repr()
    rs = np.random.RandomState(fv["seed"])
    sizes, bs = ref.DLIB_TOY_SIZES, fv["batch_size"]
    var_factors = ref.dlib_sample_factors(sizes, fv["num_variance_estimate"], rs)
    codes = represent(data.sample_observations_from_factors(var_factors, None))
    variances = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(variances) >= 0.05
    assert active.all()  # disentanglement_lib mis-indexes votes otherwise (factor_vae.py)
    rng = np.random.default_rng(0)
    fixed, batches = ref.dlib_factor_vae_batches(sizes, fv["num_train"], bs, rs)
    train = factor_vae_votes_from_batches(data, represent, fixed, batches, variances, active, rng)
    fixed, batches = ref.dlib_factor_vae_batches(sizes, fv["num_eval"], bs, rs)
    ev = factor_vae_votes_from_batches(data, represent, fixed, batches, variances, active, rng)
    train_acc, eval_acc = majority_vote_accuracy(train, ev)
    assert train_acc == pytest.approx(DLIB["factor_vae_train_accuracy"], abs=TOL)
    assert eval_acc == pytest.approx(DLIB["factor_vae_eval_accuracy"], abs=TOL)
