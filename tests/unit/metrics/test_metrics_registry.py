"""The metric registry, compute_metrics, and sample_codes_and_factors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from metrics_toys import ToyFactors, ground_truth_repr, random_repr

import infoprint.metrics as metrics
from infoprint.errors import ConfigError
from infoprint.metrics import compute_metrics, get_metric, metric_names, sample_codes_and_factors

# Small sizes for every metric, so the whole registry runs in a few seconds.
SMALL = {
    "mig": {"num_train": 1000},
    "dmig": {"num_train": 1000},
    "dlig": {"num_train": 1000},
    "xmig": {"num_train": 1000},
    "sap": {"num_train": 400, "num_test": 200},
    "dci": {"num_train": 300, "num_test": 150, "n_estimators": 20},
    "modularity": {"num_train": 1000},
    "explicitness": {"num_train": 400, "num_test": 200},
    "hoyer": {"num_train": 500},
    "factor_vae": {"num_train": 200, "num_eval": 100, "num_variance_estimate": 500},
    "beta_vae": {"num_train": 200, "num_eval": 100},
}


def test_registry_lists_every_metric():
    assert set(metric_names()) == set(SMALL)
    for name in metric_names():
        spec = get_metric(name)
        assert spec.name == name and spec.kind in ("observational", "interventional")
        assert set(SMALL[name]) <= set(spec.options())
    assert get_metric("factor_vae").options()["num_variance_estimate"] == 10_000
    assert get_metric("dmig").options()["reg_dim"] == "auto"
    assert get_metric("mig").options()["reg_dim"] is None


def test_all_metrics_on_ground_truth_and_random_codes():
    ds = ToyFactors((2, 3, 4))
    good = compute_metrics(ds, ground_truth_repr(extra_dims=1), SMALL, seed=0)
    bad = compute_metrics(ds, random_repr(4), SMALL, seed=0)
    for name in SMALL:
        assert name in good and isinstance(good[name], float), name
    assert all(isinstance(v, float) for v in good.values())
    assert good["mig"] > 0.95 and abs(bad["mig"]) < 0.05
    assert good["mig/f0"] > 0.95  # per-factor keys use the dataset's factor names
    assert good["factor_vae"] == 1.0 and bad["factor_vae"] < 0.6
    assert good["beta_vae"] == 1.0 and bad["beta_vae"] < 0.6
    assert good["dci"] > 0.9 and bad["dci"] < 0.15
    assert good["dci/informativeness_test"] > 0.95
    # classification SAP tops out at 1 - chance accuracy (0.5 for a binary factor)
    assert good["sap"] > 0.2 and abs(bad["sap"]) < 0.08
    assert good["explicitness"] > 0.95 and abs(bad["explicitness"] - 0.5) < 0.1
    assert good["modularity"] > bad["modularity"]
    assert good["factor_vae/num_active_dims"] == 4.0
    for name in ("dmig", "dlig", "xmig"):
        assert good[name] > 0.9 and abs(bad[name]) < 0.06, name


def test_reproducible_and_independent_of_order_and_other_metrics():
    ds = ToyFactors((2, 3, 4))
    mix = np.random.default_rng(0).normal(size=(3, 4))

    def represent(images):  # deterministic, so only the metrics' own draws matter
        return np.tanh(images.reshape(images.shape[0], -1) @ mix)

    both = compute_metrics(ds, represent, {"mig": SMALL["mig"], "sap": SMALL["sap"]}, seed=5)
    again = compute_metrics(ds, represent, {"sap": SMALL["sap"], "mig": SMALL["mig"]}, seed=5)
    alone = compute_metrics(ds, represent, {"mig": SMALL["mig"]}, seed=5)
    other_seed = compute_metrics(ds, represent, {"mig": SMALL["mig"]}, seed=6)
    assert both == again
    assert both["mig"] == alone["mig"]
    assert other_seed["mig"] != alone["mig"]


def test_list_of_names_and_options_pass_through():
    ds = ToyFactors((3, 3))
    out = compute_metrics(ds, ground_truth_repr(extra_dims=1), ["hoyer"])
    assert set(out) == {"hoyer"}
    knn = compute_metrics(
        ds,
        ground_truth_repr(extra_dims=1),
        {"mig": {"num_train": 300, "estimator": "knn", "entropy_estimator": "knn"}},
    )
    assert knn["mig"] > 0.8


def test_clear_errors_for_bad_names_and_options():
    ds = ToyFactors((3, 3))
    with pytest.raises(ConfigError, match="unknown metric 'migg'; one of: .*mig"):
        compute_metrics(ds, random_repr(), ["migg"])
    with pytest.raises(TypeError, match="metric 'sap': unknown option.*num_samples.*allowed"):
        compute_metrics(ds, random_repr(), {"sap": {"num_samples": 3}})
    with pytest.raises(TypeError, match="not a single string"):
        compute_metrics(ds, random_repr(), "mig")


def test_sample_codes_and_factors_shapes_and_checks():
    ds = ToyFactors((3, 4, 5))
    rng = np.random.default_rng(0)
    codes, factors = sample_codes_and_factors(ds, ground_truth_repr(), 130, rng, batch_size=64)
    assert codes.shape == (130, 3) and codes.dtype == np.float64
    assert factors.shape == (130, 3) and factors.dtype == np.int64
    np.testing.assert_allclose(codes, 2.0 * factors / np.array([2, 3, 4]), atol=0.1)

    def wrong_shape(images):
        return np.zeros((images.shape[0], 2, 2))

    with pytest.raises(ValueError, match=r"codes \[n, d\]"):
        sample_codes_and_factors(ds, wrong_shape, 10, rng)

    def nan_codes(images):
        return np.full((images.shape[0], 2), np.nan)

    with pytest.raises(ValueError, match="NaN"):
        sample_codes_and_factors(ds, nan_codes, 10, rng)


def test_importing_metrics_pulls_in_neither_torch_lightning_hydra_nor_wandb():
    code = (
        "import sys, infoprint.metrics, infoprint.metrics.registry;"
        "bad = [m for m in ('torch', 'lightning', 'pytorch_lightning', 'hydra', 'wandb')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert metrics.METRICS is get_metric.__globals__["METRICS"]
