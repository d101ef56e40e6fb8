"""Print disentanglement_lib 1.5's values on the fixed cases of ``metrics_reference``.

Not a test. disentanglement_lib's metric modules import ``gin.tf``, whose TensorFlow hooks
need ``tf.estimator`` (gone from TensorFlow >= 2.16); the metrics themselves only use
``gin.configurable``, so ``gin.tf`` is aliased to ``gin`` below and TensorFlow is not
needed. To reproduce the numbers pinned in ``test_metrics_conformance.py``:

    pip download --no-deps disentanglement-lib==1.5 -d /tmp/dlib
    unzip -q /tmp/dlib/disentanglement_lib-1.5-py3-none-any.whl -d /tmp/dlib/whl
    pip install --no-deps --target /tmp/dlib/deps gin-config==0.4.0
    # current scikit-learn (1.9.1 here): disentanglement_lib's code as it runs today
    PYTHONPATH=/tmp/dlib/whl:/tmp/dlib/deps:tests \\
        python tests/unit/metrics/produce_dlib_reference.py
    # scikit-learn 1.5.2 with the pre-0.22 classifier defaults (--era): what produced
    # disentanglement_lib's published numbers
    pip install --no-deps --target /tmp/sk15 scikit-learn==1.5.2
    PYTHONPATH=/tmp/sk15:/tmp/dlib/whl:/tmp/dlib/deps:tests \\
        python tests/unit/metrics/produce_dlib_reference.py --era

``--era`` replaces ``LogisticRegression()`` by ``LogisticRegression(solver="liblinear",
multi_class="ovr")`` (scikit-learn < 0.22's defaults) and ``LinearSVC(...)`` by
``LinearSVC(..., dual=True)`` (its default before 1.5). Values were produced with NumPy
2.4.6 on x86-64.
"""

from __future__ import annotations

import functools
import sys
from types import SimpleNamespace

import metrics_reference as ref
import numpy as np
from metrics_toys import ToyFactors, deterministic_repr


class DlibToy:
    """``metrics_toys.ToyFactors`` behind disentanglement_lib's GroundTruthData interface."""

    def __init__(self, sizes):
        self.sizes = tuple(sizes)
        self.toy = ToyFactors(self.sizes)

    num_factors = property(lambda self: len(self.sizes))
    factors_num_values = property(lambda self: list(self.sizes))
    observation_shape = property(lambda self: [1, 1, len(self.sizes)])

    def sample_factors(self, num, random_state):
        return ref.dlib_sample_factors(self.sizes, num, random_state)

    def sample_observations_from_factors(self, factors, random_state):
        return self.toy.sample_observations_from_factors(factors, None)  # no noise, no draws

    def sample(self, num, random_state):
        f = self.sample_factors(num, random_state)
        return f, self.sample_observations_from_factors(f, random_state)

    def sample_observations(self, num, random_state):
        return self.sample(num, random_state)[1]


def import_dlib(era: bool) -> SimpleNamespace:
    """disentanglement_lib's metric modules without TensorFlow, configured as its study ran
    them; ``era``: with the classifier defaults of scikit-learn < 0.22 (patched first)."""
    import gin

    sys.modules["gin.tf"] = gin
    from sklearn import ensemble, linear_model, svm

    if era:
        linear_model.LogisticRegression = functools.partial(
            linear_model.LogisticRegression, solver="liblinear", multi_class="ovr"
        )
        svm.LinearSVC = functools.partial(svm.LinearSVC, dual=True)
    from disentanglement_lib.evaluation.metrics import (
        beta_vae,
        dci,
        factor_vae,
        mig,
        sap_score,
        utils,
    )
    from disentanglement_lib.evaluation.metrics import modularity_explicitness as me

    gin.bind_parameter("discretizer.discretizer_fn", utils._histogram_discretize)
    gin.bind_parameter("discretizer.num_bins", 20)
    gin.bind_parameter("prune_dims.threshold", 0.05)  # its study's FactorVAE configuration
    # GradientBoostingClassifier() has random_state=None there (the global RandomState);
    # seed it like infoprint's default so that the trees are reproducible.
    dci.ensemble.GradientBoostingClassifier = functools.partial(
        ensemble.GradientBoostingClassifier, random_state=0
    )
    return SimpleNamespace(
        beta_vae=beta_vae,
        dci=dci,
        factor_vae=factor_vae,
        mig=mig,
        sap_score=sap_score,
        utils=utils,
        me=me,
        linear_model=linear_model,
    )


def on_codes(lib: SimpleNamespace, era: bool) -> dict[str, float]:
    """MIG, SAP, modularity, explicitness (and DCI) on the fixed codes."""
    c, f, ct, ft = ref.dlib_codes_case()
    utils, me = lib.utils, lib.me
    out = {}
    out["mig"] = lib.mig._compute_mig(c.T, f.T)["discrete_mig"]
    out["sap"] = lib.sap_score._compute_sap(c.T, f.T, ct.T, ft.T, False)["SAP_score"]
    out["modularity"] = me.modularity(utils.discrete_mutual_info(utils.make_discretizer(c.T), f.T))
    # compute_modularity_explicitness's explicitness loop on the fixed arrays
    tr, mean, std = utils.normalize_data(c.T)
    te, _, _ = utils.normalize_data(ct.T, mean, std)
    pairs = [me.explicitness_per_factor(tr, f.T[i], te, ft.T[i]) for i in range(f.shape[1])]
    out["explicitness_train"] = float(np.mean([p[0] for p in pairs]))
    out["explicitness_test"] = float(np.mean([p[1] for p in pairs]))
    if not era:
        dci = lib.dci._compute_dci(c.T, f.T, ct.T, ft.T)
        out.update({f"dci_{k}": v for k, v in dci.items()})
    return out


def on_toy(lib: SimpleNamespace, era: bool) -> dict[str, float]:
    """BetaVAE (and FactorVAE) on the toy dataset's batches, and whether the classifier's
    fit takes a draw from the shared RandomState."""
    data = DlibToy(ref.DLIB_TOY_SIZES)
    b = ref.DLIB_BETA_VAE
    res = lib.beta_vae.compute_beta_vae_sklearn(
        data,
        deterministic_repr(),
        np.random.RandomState(b["seed"]),
        batch_size=b["batch_size"],
        num_train=b["num_train"],
        num_eval=b["num_eval"],
    )
    out = {f"beta_vae_{k}": v for k, v in res.items()}
    # draws the classifier's fit takes from the shared RandomState (liblinear takes one)
    probe = np.random.RandomState(0)
    xp = np.random.default_rng(0).normal(size=(60, 3))
    lib.linear_model.LogisticRegression(random_state=probe).fit(xp, np.arange(60) % 3)
    out["beta_vae_fit_consumes_draw"] = bool(probe.randint(10**9) != 209652396)
    if not era:
        fv = ref.DLIB_FACTOR_VAE
        res = lib.factor_vae.compute_factor_vae(
            data,
            deterministic_repr(),
            np.random.RandomState(fv["seed"]),
            batch_size=fv["batch_size"],
            num_train=fv["num_train"],
            num_eval=fv["num_eval"],
            num_variance_estimate=fv["num_variance_estimate"],
        )
        out.update({f"factor_vae_{k}": v for k, v in res.items()})
    return out


def main(era: bool) -> None:
    lib = import_dlib(era)
    out = {**on_codes(lib, era), **on_toy(lib, era)}
    import sklearn

    print(f"# scikit-learn {sklearn.__version__}, NumPy {np.__version__}, era={era}")
    for k, v in out.items():
        print(f"    {k!r}: {float(v)!r},")


if __name__ == "__main__":
    main("--era" in sys.argv[1:])
