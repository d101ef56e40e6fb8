"""Metrics by name: every metric as ``metric(dataset, represent, rng, **options) -> dict``.

Each registered metric draws what it needs from a ground-truth ``dataset``
(:class:`infoprint.data.base.GroundTruthDataset`) through a representation function
``represent: images [n, C, H, W] -> codes [n, d]`` and returns ``dict[str, float]``:
the headline score under the metric's own name (e.g. ``"mig"``, ``"factor_vae"``) plus
details under ``"<name>/<detail>"`` (e.g. ``"mig/shape"``, ``"factor_vae/train_accuracy"``).

Observational metrics (MIG family, SAP, DCI, modularity, explicitness, Hoyer) draw
``num_train`` (and ``num_test``) i.i.d. points with
:func:`infoprint.metrics.sampling.sample_codes_and_factors` and call the array function;
interventional ones (FactorVAE, BetaVAE) sample fixed-factor batches. Option defaults are
disentanglement_lib's (10,000 training points, 5,000 test/eval points); lower them for
quick CPU runs.

:func:`compute_metrics` computes a configured list of metrics with a reproducible,
order-independent random stream per metric. Each metric draws its own sample (nothing is
shared between metrics). ``represent_batch_size`` is, for every metric, only the number of
images per call of ``represent``; ``batch_size`` (FactorVAE, BetaVAE) is the metric's own
batch of images with one factor fixed (64 in the papers).

The IWAE estimate is not registered: it needs the decoder, not a representation
function; see :mod:`infoprint.metrics.iwae`.
"""

from __future__ import annotations

import functools
import inspect
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from infoprint.metrics.beta_vae import Classifier, beta_vae_score
from infoprint.metrics.dci import dci
from infoprint.metrics.factor_vae import factor_vae_score
from infoprint.metrics.mig import Convention, EntropyEstimator, Estimator, RegDim, mig_family
from infoprint.metrics.modularity import explicitness, modularity
from infoprint.metrics.sampling import (
    FactorSampler,
    RepresentationFunction,
    random_state_from,
    sample_codes_and_factors,
)
from infoprint.metrics.sap import sap
from infoprint.metrics.sparsity import hoyer_sparsity
from infoprint.registry import Registry

MetricFunction = Callable[..., dict[str, float]]

__all__ = [
    "METRICS",
    "MetricFunction",
    "MetricSpec",
    "compute_metrics",
    "get_metric",
    "metric_names",
    "register_metric",
]


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric: its name, function, kind and one-line description."""

    name: str
    fn: MetricFunction
    kind: Literal["observational", "interventional"]
    description: str

    def options(self) -> dict[str, Any]:
        """The metric's keyword options and their defaults."""
        sig = inspect.signature(self.fn)
        return {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(
    name: str, kind: Literal["observational", "interventional"], description: str
) -> Callable[[MetricFunction], MetricFunction]:
    """Decorator: register ``fn(dataset, represent, rng, **options) -> dict[str, float]``."""

    def deco(fn: MetricFunction) -> MetricFunction:
        METRICS.add(name, MetricSpec(name=name, fn=fn, kind=kind, description=description))
        return fn

    return deco


def metric_names() -> tuple[str, ...]:
    """Names of all registered metrics, sorted."""
    return tuple(sorted(METRICS))


def get_metric(name: str) -> MetricSpec:
    """The registered metric ``name``; a ``ConfigError`` listing the metrics otherwise."""
    return METRICS[name]


def _prefixed(name: str, headline: float, details: Mapping[str, float]) -> dict[str, float]:
    out = {name: float(headline)}
    out.update({f"{name}/{k}": float(v) for k, v in details.items()})
    return out


# ------------------------------------------------------------------------- MIG family


def _mig_family_metric(name: str, default_reg_dim: RegDim) -> MetricFunction:
    def metric(
        dataset: FactorSampler,
        represent: RepresentationFunction,
        rng: np.random.Generator,
        *,
        num_train: int = 10_000,
        represent_batch_size: int = 1024,
        estimator: Estimator = "histogram",
        num_bins: int = 20,
        n_neighbors: int = 3,
        reg_dim: RegDim = default_reg_dim,
        entropy_estimator: EntropyEstimator = "plugin",
        convention: Convention = "infoprint",
    ) -> dict[str, float]:
        codes, factors = sample_codes_and_factors(
            dataset, represent, num_train, rng, represent_batch_size
        )
        return mig_family(
            codes,
            factors,
            metrics=(name,),
            reg_dim=reg_dim,
            estimator=estimator,
            num_bins=num_bins,
            n_neighbors=n_neighbors,
            random_state=random_state_from(rng),
            entropy_estimator=entropy_estimator,
            convention=convention,
            factor_names=tuple(dataset.factor_names),
        )

    metric.__name__ = f"{name}_metric"
    metric.__doc__ = (
        f"{name.upper()} on ``num_train`` sampled points (see :mod:`infoprint.metrics.mig`)."
    )
    return metric


register_metric("mig", "observational", "Mutual Information Gap (Chen et al. 2018)")(
    _mig_family_metric("mig", None)
)
register_metric("dmig", "observational", "Dependency-aware MIG (Watcharasupat & Lerch 2021)")(
    _mig_family_metric("dmig", "auto")
)
register_metric("dlig", "observational", "Dependency-aware latent information gap")(
    _mig_family_metric("dlig", "auto")
)
register_metric("xmig", "observational", "Dependency-blind MIG")(_mig_family_metric("xmig", "auto"))


# ------------------------------------------------------------------ other observational


def _train_test(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    num_train: int,
    num_test: int,
    represent_batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c, f = sample_codes_and_factors(dataset, represent, num_train, rng, represent_batch_size)
    ct, ft = sample_codes_and_factors(dataset, represent, num_test, rng, represent_batch_size)
    return c, f, ct, ft


@register_metric("sap", "observational", "Separated Attribute Predictability (Kumar et al. 2018)")
def sap_metric(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    represent_batch_size: int = 1024,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """SAP score (see :mod:`infoprint.metrics.sap`)."""
    c, f, ct, ft = _train_test(dataset, represent, rng, num_train, num_test, represent_batch_size)
    score = sap(c, f, codes_test=ct, factors_test=ft, continuous_factors=continuous_factors)
    return {"sap": score}


@register_metric("dci", "observational", "DCI with gradient-boosted trees (Eastwood & Williams)")
def dci_metric(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    represent_batch_size: int = 1024,
    n_estimators: int = 100,
) -> dict[str, float]:
    """DCI; headline ``dci`` is the disentanglement (see :mod:`infoprint.metrics.dci`)."""
    c, f, ct, ft = _train_test(dataset, represent, rng, num_train, num_test, represent_batch_size)
    scores = dci(
        c,
        f,
        codes_test=ct,
        factors_test=ft,
        n_estimators=n_estimators,
        random_state=random_state_from(rng),
    )
    return _prefixed("dci", scores["disentanglement"], scores)


@register_metric("modularity", "observational", "Modularity (Ridgeway & Mozer 2018)")
def modularity_metric(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    num_train: int = 10_000,
    represent_batch_size: int = 1024,
    num_bins: int = 20,
) -> dict[str, float]:
    """Modularity (see :mod:`infoprint.metrics.modularity`)."""
    c, f = sample_codes_and_factors(dataset, represent, num_train, rng, represent_batch_size)
    return {"modularity": modularity(c, f, num_bins=num_bins)}


@register_metric("explicitness", "observational", "Explicitness (Ridgeway & Mozer 2018)")
def explicitness_metric(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    represent_batch_size: int = 1024,
    classifier: Classifier = "lbfgs",
) -> dict[str, float]:
    """Explicitness; headline is the test ROC AUC (see :mod:`infoprint.metrics.modularity`)."""
    c, f, ct, ft = _train_test(dataset, represent, rng, num_train, num_test, represent_batch_size)
    scores = explicitness(c, f, codes_test=ct, factors_test=ft, classifier=classifier)
    return _prefixed("explicitness", scores["test"], scores)


@register_metric("hoyer", "observational", "Normalised Hoyer sparsity (Mathieu et al. 2019)")
def hoyer_metric(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    num_train: int = 10_000,
    represent_batch_size: int = 1024,
) -> dict[str, float]:
    """Normalised Hoyer sparsity (see :mod:`infoprint.metrics.sparsity`)."""
    c, _ = sample_codes_and_factors(dataset, represent, num_train, rng, represent_batch_size)
    return {"hoyer": hoyer_sparsity(c)}


# ---------------------------------------------------------------------- interventional


def _register_interventional(name: str, score: MetricFunction, description: str) -> None:
    """Register ``score(dataset, represent, rng, **options)`` with its eval accuracy as the
    headline; its own signature (kept through ``functools.wraps``) lists the options."""

    @functools.wraps(score)
    def metric(
        dataset: FactorSampler,
        represent: RepresentationFunction,
        rng: np.random.Generator,
        **options: Any,
    ) -> dict[str, float]:
        scores = score(dataset, represent, rng, **options)
        return _prefixed(name, scores["eval_accuracy"], scores)

    register_metric(name, "interventional", description)(metric)


_register_interventional("factor_vae", factor_vae_score, "FactorVAE score (Kim & Mnih 2018)")
_register_interventional("beta_vae", beta_vae_score, "BetaVAE score (Higgins et al. 2017)")


# -------------------------------------------------------------------------- run a list


def _metric_rng(seed: int, name: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the metric's name."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def compute_metrics(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    metrics: Sequence[str] | Mapping[str, Mapping[str, Any] | None],
    seed: int = 0,
) -> dict[str, float]:
    """Compute several registered metrics and merge their result dicts.

    ``metrics`` is a list of names, or a mapping ``name -> options`` (``None`` for the
    defaults), e.g. ``{"mig": {"num_train": 2000}, "factor_vae": {"num_train": 500}}``.
    Every metric gets its own generator seeded by ``(seed, crc32(name))``, so a metric's
    value does not depend on which other metrics are computed or in which order. Names and
    options are checked before anything is computed; errors say which metric and which
    option is wrong and what is allowed.
    """
    if isinstance(metrics, str):
        raise TypeError("metrics must be a list of names or a mapping, not a single string")
    if isinstance(metrics, Mapping):
        items = [(str(k), dict(v or {})) for k, v in metrics.items()]
    else:
        items = [(str(k), {}) for k in metrics]
    specs = []
    for name, options in items:
        spec = get_metric(name)
        allowed = spec.options()
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise TypeError(
                f"metric {name!r}: unknown option(s) {unknown}; allowed: {sorted(allowed)}"
            )
        specs.append((spec, options))
    out: dict[str, float] = {}
    for spec, options in specs:
        result = spec.fn(dataset, represent, _metric_rng(seed, spec.name), **options)
        clash = sorted(set(result) & set(out))
        if clash:
            raise ValueError(f"metric {spec.name!r} returned keys already taken: {clash}")
        out.update(result)
    return out
