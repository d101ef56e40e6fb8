"""Lightning callback: fingerprint the run's latent channels (``docs/architecture.md`` §1, §4).

Thin adapter: the probe set, encoding, files and W&B artifact live in infoprint.
"""

from __future__ import annotations

import logging

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from infoprint import tracking
from infoprint.fingerprint.capture import channel_information, fingerprint_model
from infoprint.fingerprint.probe import ProbeSet, select_embedding_sample, select_probe_set
from infoprint.models.inference import encode_in_batches, evaluating
from infoprint.run.context import RunContext
from infoprint.run.layout import FINGERPRINT_FILE, RUN_FILE

log = logging.getLogger(__name__)


class FingerprintCallback(pl.Callback):
    """Encode the fixed probe set at fit end (and every ``every_n_steps`` if > 0).

    At fit end writes ``fingerprint.npz`` and ``run.json`` into the job directory and logs
    per-channel information (bits). When a W&B run is active and ``log_artifact`` is set,
    the ``fingerprint-<run id>`` artifact is logged at teardown, after the other fit-end
    callbacks (e.g. metrics) have added to run.json.
    """

    def __init__(
        self,
        context: RunContext,
        size: int = 1000,
        seed: int = 0,
        every_n_steps: int = 0,
        batch_size: int = 500,
        log_artifact: bool = True,
        embedding_size: int = 0,
    ) -> None:
        if every_n_steps < 0:
            raise ValueError(f"fingerprint.every_n_steps must be >= 0, got {every_n_steps}")
        self.context = context
        self.size = size
        self.seed = seed
        self.every_n_steps = every_n_steps
        self.batch_size = batch_size
        self.log_artifact = log_artifact
        self.embedding_size = embedding_size
        self.probe: ProbeSet | None = None
        self.embedding: ProbeSet | None = None
        self._saved = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        dataset = trainer.datamodule.dataset
        if self.probe is None:
            self.probe = select_probe_set(dataset, self.size, self.seed)
        if self.embedding_size and self.embedding is None:
            self.embedding = select_embedding_sample(dataset, self.embedding_size, self.seed)

    @rank_zero_only
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every_n_steps and step % self.every_n_steps == 0:
            with evaluating(pl_module):
                mu, logvar = encode_in_batches(
                    pl_module.encode, self.probe.images, pl_module.device, self.batch_size
                )
            bits = channel_information(mu, logvar)
            self._log_information(trainer, bits, step)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        meta = {
            **self.context.meta(),
            "steps": int(trainer.global_step),
            "observation_shape": list(trainer.datamodule.dataset.observation_shape),
        }
        fingerprint = fingerprint_model(
            pl_module, self.probe, meta, self.batch_size, embedding=self.embedding
        )
        bits = fingerprint.meta["information_bits"]
        if self.log_artifact and self.context.wandb:
            fingerprint.meta["wandb"] = {
                **self.context.wandb,
                "artifact": f"fingerprint-{self.context.run_id}",
            }
        fingerprint.save(self.context.output_dir)
        self._saved = True
        self._log_information(trainer, bits, trainer.global_step)
        tracking.update_summary({f"fingerprint/information/{k}": b for k, b in enumerate(bits)})
        log.info(
            "fingerprint of run %s: %s bits per channel -> %s",
            self.context.run_id,
            [round(b, 3) for b in bits],
            self.context.directory.fingerprint_file,
        )

    @rank_zero_only
    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Log the artifact last, so that run.json carries what later callbacks added."""
        if stage != "fit" or not self._saved or not (self.log_artifact and self.context.wandb):
            return
        meta = self.context.directory.read_meta()
        tracking.log_fingerprint(
            self.context.output_dir, [FINGERPRINT_FILE, RUN_FILE], meta, self.context.sweep
        )

    @staticmethod
    def _log_information(trainer: pl.Trainer, bits: list[float], step: int) -> None:
        metrics = {f"fingerprint/information/{k}": b for k, b in enumerate(bits)}
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
