"""Lightning callback: disentanglement metrics of the run at fit end.

Thin adapter: scoring lives in :mod:`infoprint.metrics.scoring`, run.json in
:class:`~infoprint.run.directory.RunDirectory`, W&B writing in :mod:`infoprint.tracking`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from infoprint import tracking
from infoprint.callbacks.discovery import run_context
from infoprint.data.base import has_factors
from infoprint.metrics.scoring import metric_plan, score_model
from infoprint.run.context import RunContext
from infoprint.run.directory import METRICS_KEY

log = logging.getLogger(__name__)


class MetricsCallback(pl.Callback):
    """At fit end, score the model with the metrics in ``names`` on the run's dataset.

    Only datasets with ground-truth factors are scored (others are skipped with a log
    line). The scores go to the W&B run summary and the Lightning loggers as
    ``metrics/<key>`` and into ``run.json`` under ``metrics``. Must run after the
    fingerprint callback, which writes run.json (train.yaml lists that one first). A metric
    that fails is logged (and its error put in the W&B summary as ``metrics/error``)
    without failing the run: the trained model and its fingerprint are already saved.
    ``options`` maps metric names to their options (sample sizes); it is checked against
    the metric registry when the callback is built, before any training.
    """

    def __init__(
        self,
        names: Sequence[str] = (),
        options: Mapping[str, Mapping[str, Any] | None] | None = None,
        seed: int = 0,
    ) -> None:
        self.context: RunContext | None = None
        self.plan = metric_plan(list(names), options, key="callbacks.metrics")
        self.seed = int(seed)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.context = run_context(trainer, pl_module)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        dataset = trainer.datamodule.dataset
        if not self.plan:
            return
        if not has_factors(dataset):
            log.info("metrics skipped: dataset %s has no ground-truth factors", dataset.name)
            return
        started = time.perf_counter()
        try:
            scores = score_model(
                pl_module, dataset, self.plan, self.seed, device=trainer.strategy.root_device
            )
        except Exception as err:  # the trained run and its fingerprint stay good
            log.exception("metrics of run %s failed; run.json gets none", self.context.run_id)
            tracking.update_summary({f"{METRICS_KEY}/error": f"{type(err).__name__}: {err}"})
            return
        self.context.directory.record_metrics(scores)
        logged = {f"{METRICS_KEY}/{k}": v for k, v in scores.items()}
        tracking.update_summary(logged)
        for logger in trainer.loggers:
            logger.log_metrics(logged, step=trainer.global_step)
        log.info(
            "metrics of run %s in %.1f s: %s -> %s",
            self.context.run_id,
            time.perf_counter() - started,
            {k: round(v, 4) for k, v in scores.items() if "/" not in k},
            self.context.directory.run_file,
        )
