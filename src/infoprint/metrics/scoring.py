"""Scoring a model: the model as a representation function, and the metric plan.

The metrics of :mod:`infoprint.metrics` see a model only through a representation
function ``images [n, C, H, W] -> codes [n, d]``; as in disentanglement_lib (Locatello
et al. 2019) the codes are the posterior means. Any model with
``encode(x) -> (mu, logvar)`` qualifies, the same contract as fingerprinting; this knows
nothing of the VAE class, Lightning or W&B. The scores of a run are stored in its run.json
by :meth:`infoprint.run.directory.RunDirectory.record_metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from infoprint.metrics.registry import compute_metrics, get_metric, metric_names
from infoprint.metrics.sampling import FactorSampler, RepresentationFunction
from infoprint.models.inference import encode_in_batches, evaluating

MetricOptions = dict[str, dict[str, Any]]


def metric_plan(
    names: Sequence[str], options: Mapping[str, Mapping[str, Any] | None] | None, key: str
) -> MetricOptions:
    """``{name: options}`` for the metrics in ``names``; checked against the registry.

    ``options`` may hold options for metrics that are not in ``names`` (so a config can
    carry ready sample sizes for metrics one switches on later); every name and option is
    still checked. Errors name the config ``key`` and what is allowed.
    """
    if isinstance(names, str):
        raise TypeError(f"{key}.names must be a list of metric names, got the string {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{key}.names lists a metric twice: {list(names)}")
    options = {str(k): dict(v or {}) for k, v in (options or {}).items()}
    for where, listed in (("names", names), ("options", options)):
        for name in listed:
            if name not in metric_names():
                raise ValueError(
                    f"{key}.{where}: unknown metric {name!r}; allowed: {', '.join(metric_names())}"
                )
    for name, given in options.items():
        allowed = sorted(get_metric(name).options())
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            raise ValueError(
                f"{key}.options.{name}: unknown option(s) {unknown}; allowed: {allowed}"
            )
    return {str(name): options.get(str(name), {}) for name in names}


def representation(model: torch.nn.Module) -> RepresentationFunction:
    """Posterior means of ``model.encode`` as a numpy representation function.

    The model is used as it is (mode and device); wrap the calls in :func:`evaluating`.
    """

    def represent(images: np.ndarray) -> np.ndarray:
        device = next(model.parameters()).device
        images = np.ascontiguousarray(images, dtype=np.float32)
        mu, _ = encode_in_batches(model.encode, images, device, batch_size=max(len(images), 1))
        return mu

    return represent


def score_model(
    model: torch.nn.Module,
    dataset: FactorSampler,
    metrics: MetricOptions,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Compute ``metrics`` (a :func:`metric_plan`) of ``model`` on ``dataset``.

    The model is evaluated in eval mode without gradients, on ``device`` when given (e.g.
    the trainer's GPU; Lightning moves the model to the CPU when fitting ends), then put
    back as it was. ``seed`` seeds each metric's own sample
    (:func:`infoprint.metrics.compute_metrics`); keeping it fixed across a sweep scores
    every run on the same factor draws.
    """
    with evaluating(model, device):
        return compute_metrics(dataset, representation(model), metrics, seed=seed)
