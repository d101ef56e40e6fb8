"""Disentanglement metrics on numpy arrays (no Lightning, Hydra or wandb).

Observational metrics take ``codes [N, d]`` (posterior means) and integer ``factors
[N, K]``; interventional ones take a
:class:`~infoprint.metrics.sampling.FixedFactorDraws` (a ground-truth dataset, a
representation function, a ``numpy.random.Generator`` and the sizes to draw).
:mod:`infoprint.metrics.registry` runs any of them uniformly as
``metric(dataset, represent, rng, **options) -> dict[str, float]``.

Modules (import the metric functions from them, e.g.
``from infoprint.metrics.mig import mig``):

- :mod:`.mig`: MIG, DMIG, DLIG, XMIG and the MI estimators (histogram, kNN);
- :mod:`.factor_vae`: FactorVAE score; :mod:`.beta_vae`: BetaVAE score;
- :mod:`.sap`: SAP; :mod:`.dci`: DCI; :mod:`.modularity`: modularity and explicitness;
- :mod:`.sparsity`: normalised Hoyer sparsity;
- :mod:`.iwae`: IWAE estimate of log p(x) (torch);
- :mod:`.sampling`: input checks and ``sample_codes_and_factors``;
- :mod:`.registry`: metrics by name and ``compute_metrics``;
- :mod:`.scoring`: a model (``encode``) as a representation function, scored by plan.

The package namespace re-exports only the registry API and the sampling helper, so that
``infoprint.metrics.mig`` (and ``.dci``, ``.sap``, ``.modularity``) stay the modules rather
than being shadowed by functions of the same name.
"""

from __future__ import annotations

from infoprint.metrics.registry import (
    METRICS,
    MetricSpec,
    compute_metrics,
    get_metric,
    metric_names,
    register_metric,
)
from infoprint.metrics.sampling import sample_codes_and_factors

__all__ = [
    "METRICS",
    "MetricSpec",
    "compute_metrics",
    "get_metric",
    "metric_names",
    "register_metric",
    "sample_codes_and_factors",
]
