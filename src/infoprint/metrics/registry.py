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

import dataclasses
import functools
import inspect
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, Literal

import numpy as np

from infoprint.metrics.beta_vae import Classifier, beta_vae_score
from infoprint.metrics.dci import dci
from infoprint.metrics.factor_vae import factor_vae_score
from infoprint.metrics.mig import Convention, EntropyEstimator, Estimator, RegDim, mig_family
from infoprint.metrics.modularity import explicitness, modularity
from infoprint.metrics.sampling import (
    FactorSampler,
    FixedFactorDraws,
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


# ---------------------------------------------------- draws and options, for every metric

ScoreFunction = Callable[..., dict[str, float]]
"""``score(draws, **options) -> dict[str, float]``: a metric on the points drawn for it."""


@dataclass(frozen=True)
class Sample:
    """The i.i.d. points an observational metric scores, drawn with
    :func:`~infoprint.metrics.sampling.sample_codes_and_factors`: ``codes [n, d]`` and
    ``factors [n, K]`` (the test split only for metrics that have one), the dataset's
    factor names and the metric's generator after the draws."""

    codes: np.ndarray
    factors: np.ndarray
    codes_test: np.ndarray | None
    factors_test: np.ndarray | None
    factor_names: tuple[str, ...]
    rng: np.random.Generator

    def arrays(self) -> dict[str, np.ndarray]:
        """``codes``, ``factors`` and (if drawn) ``codes_test``, ``factors_test``: the
        arguments of the array functions (:func:`~infoprint.metrics.sap.sap`, ...)."""
        out = {"codes": self.codes, "factors": self.factors}
        if self.codes_test is not None and self.factors_test is not None:
            out |= {"codes_test": self.codes_test, "factors_test": self.factors_test}
        return out


def _draw_sample(
    dataset: FactorSampler,
    represent: RepresentationFunction,
    rng: np.random.Generator,
    *,
    num_train: int,
    represent_batch_size: int,
    num_test: int | None = None,
) -> Sample:
    """``num_train`` points, then ``num_test`` more when the metric has a test split."""
    c, f = sample_codes_and_factors(dataset, represent, num_train, rng, represent_batch_size)
    ct = ft = None
    if num_test is not None:
        ct, ft = sample_codes_and_factors(dataset, represent, num_test, rng, represent_batch_size)
    return Sample(c, f, ct, ft, tuple(dataset.factor_names), rng)


_TRAIN = {"num_train": 10_000, "represent_batch_size": 1024}
_TRAIN_TEST = {"num_train": 10_000, "num_test": 5_000, "represent_batch_size": 1024}
_FIXED_FACTOR = {
    f.name: f.default for f in dataclasses.fields(FixedFactorDraws) if f.default is not MISSING
}


def _signature(sizes: Mapping[str, int], score: ScoreFunction) -> inspect.Signature:
    """``(dataset, represent, rng, *, <sizes>, <score's keyword-only options>)``."""
    param = inspect.Parameter
    head = [param(n, param.POSITIONAL_OR_KEYWORD) for n in ("dataset", "represent", "rng")]
    own = [param(k, param.KEYWORD_ONLY, default=v, annotation=int) for k, v in sizes.items()]
    options = inspect.signature(score).parameters.values()
    rest = [p for p in options if p.kind is param.KEYWORD_ONLY]
    return inspect.Signature([*head, *own, *rest], return_annotation=dict[str, float])


def _register(
    name: str,
    kind: Literal["observational", "interventional"],
    description: str,
    sizes: Mapping[str, int],
    draw: Callable[..., Any],
) -> Callable[[ScoreFunction], ScoreFunction]:
    """Decorator: register ``score(draws, **options)`` as the metric ``name``.

    The metric is ``metric(dataset, represent, rng, **options)``: the options named in
    ``sizes`` (with those defaults) make the draws, ``draw(dataset, represent, rng,
    **sizes)``; the rest go to ``score``. Its signature lists both, so
    :meth:`MetricSpec.options` sees every option.
    """

    def deco(score: ScoreFunction) -> ScoreFunction:
        def metric(
            dataset: FactorSampler,
            represent: RepresentationFunction,
            rng: np.random.Generator,
            **options: Any,
        ) -> dict[str, float]:
            given = {k: options.pop(k, default) for k, default in sizes.items()}
            return score(draw(dataset, represent, rng, **given), **options)

        metric.__name__ = metric.__qualname__ = f"{name}_metric"
        metric.__doc__ = score.__doc__
        metric.__signature__ = _signature(sizes, score)  # type: ignore[attr-defined]
        register_metric(name, kind, description)(metric)
        return score

    return deco


def _observational(
    name: str, description: str, *, test: bool = False
) -> Callable[[ScoreFunction], ScoreFunction]:
    """Register an observational metric on a :class:`Sample` of ``num_train`` (and, with
    ``test``, ``num_test``) i.i.d. points."""
    return _register(
        name, "observational", description, _TRAIN_TEST if test else _TRAIN, _draw_sample
    )


# ------------------------------------------------------------------------- MIG family


def _mig_family_score(name: str, default_reg_dim: RegDim) -> ScoreFunction:
    def score(
        sample: Sample,
        *,
        estimator: Estimator = "histogram",
        num_bins: int = 20,
        n_neighbors: int = 3,
        reg_dim: RegDim = default_reg_dim,
        entropy_estimator: EntropyEstimator = "plugin",
        convention: Convention = "infoprint",
    ) -> dict[str, float]:
        return mig_family(
            **sample.arrays(),
            metrics=(name,),
            reg_dim=reg_dim,
            estimator=estimator,
            num_bins=num_bins,
            n_neighbors=n_neighbors,
            random_state=random_state_from(sample.rng),
            entropy_estimator=entropy_estimator,
            convention=convention,
            factor_names=sample.factor_names,
        )

    score.__doc__ = (
        f"{name.upper()} on ``num_train`` sampled points (see :mod:`infoprint.metrics.mig`)."
    )
    return score


for _name, _reg_dim, _description in (
    ("mig", None, "Mutual Information Gap (Chen et al. 2018)"),
    ("dmig", "auto", "Dependency-aware MIG (Watcharasupat & Lerch 2021)"),
    ("dlig", "auto", "Dependency-aware latent information gap"),
    ("xmig", "auto", "Dependency-blind MIG"),
):
    _observational(_name, _description)(_mig_family_score(_name, _reg_dim))


# ------------------------------------------------------------------ other observational


@_observational("sap", "Separated Attribute Predictability (Kumar et al. 2018)", test=True)
def sap_metric(sample: Sample, *, continuous_factors: bool = False) -> dict[str, float]:
    """SAP score (see :mod:`infoprint.metrics.sap`)."""
    return {"sap": sap(**sample.arrays(), continuous_factors=continuous_factors)}


@_observational("dci", "DCI with gradient-boosted trees (Eastwood & Williams)", test=True)
def dci_metric(sample: Sample, *, n_estimators: int = 100) -> dict[str, float]:
    """DCI; headline ``dci`` is the disentanglement (see :mod:`infoprint.metrics.dci`)."""
    random_state = random_state_from(sample.rng)
    scores = dci(**sample.arrays(), n_estimators=n_estimators, random_state=random_state)
    return _prefixed("dci", scores["disentanglement"], scores)


@_observational("modularity", "Modularity (Ridgeway & Mozer 2018)")
def modularity_metric(sample: Sample, *, num_bins: int = 20) -> dict[str, float]:
    """Modularity (see :mod:`infoprint.metrics.modularity`)."""
    return {"modularity": modularity(**sample.arrays(), num_bins=num_bins)}


@_observational("explicitness", "Explicitness (Ridgeway & Mozer 2018)", test=True)
def explicitness_metric(sample: Sample, *, classifier: Classifier = "lbfgs") -> dict[str, float]:
    """Explicitness; headline is the test ROC AUC (see :mod:`infoprint.metrics.modularity`)."""
    scores = explicitness(**sample.arrays(), classifier=classifier)
    return _prefixed("explicitness", scores["test"], scores)


@_observational("hoyer", "Normalised Hoyer sparsity (Mathieu et al. 2019)")
def hoyer_metric(sample: Sample) -> dict[str, float]:
    """Normalised Hoyer sparsity (see :mod:`infoprint.metrics.sparsity`)."""
    return {"hoyer": hoyer_sparsity(sample.codes)}


# ---------------------------------------------------------------------- interventional


def _interventional(name: str, score: ScoreFunction, description: str) -> None:
    """Register ``score(draws: FixedFactorDraws, **options)`` with its eval accuracy as the
    headline; the options are the draws' sizes and ``score``'s keyword options."""

    @functools.wraps(score)
    def headline(draws: FixedFactorDraws, **options: Any) -> dict[str, float]:
        scores = score(draws, **options)
        return _prefixed(name, scores["eval_accuracy"], scores)

    _register(name, "interventional", description, _FIXED_FACTOR, FixedFactorDraws)(headline)


_interventional("factor_vae", factor_vae_score, "FactorVAE score (Kim & Mnih 2018)")
_interventional("beta_vae", beta_vae_score, "BetaVAE score (Higgins et al. 2017)")


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
