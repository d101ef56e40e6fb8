"""Lightning callback: fingerprint the run's latent channels (``docs/architecture.md`` §1, §4).

Thin adapter: the probe set, encoding, files and W&B artifact live in infoprint.
"""

from __future__ import annotations

import logging

import pytorch_lightning as pl
from pytorch_lightning.utilities import rank_zero_only

from infoprint import tracking
from infoprint.fingerprint.capture import channel_information, fingerprint_model, model_encoder
from infoprint.fingerprint.probe import ProbeSet, select_embedding_sample, select_probe_set
from infoprint.fingerprint.snapshots import SnapshotSchedule, SnapshotSeries
from infoprint.models.inference import encode_in_batches, evaluating
from infoprint.run.context import RunContext
from infoprint.run.layout import FINGERPRINT_FILE, RUN_FILE, SNAPSHOTS_FILE

log = logging.getLogger(__name__)


class FingerprintCallback(pl.Callback):
    """Encode the fixed probe set at fit end, and snapshot it during training.

    At fit end writes ``fingerprint.npz`` and ``run.json`` into the job directory and logs
    per-channel information (bits). With ``every_n_steps > 0`` or ``snapshot_steps`` (a
    list, or ``"log:K"``), the full fingerprint is also taken at those steps, at step 0 and
    at the final step, into ``snapshots.npz`` (:mod:`infoprint.fingerprint.snapshots`), and
    per-channel information is logged against ``trainer/global_step``. When a W&B run is
    active and ``log_artifact`` is set, the ``fingerprint-<run id>`` artifact (with the
    snapshots) is logged at teardown, after the other fit-end callbacks (e.g. metrics) have
    added to run.json.
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
        snapshot_steps: str | list[int] | None = None,
    ) -> None:
        SnapshotSchedule.parse(every_n_steps, snapshot_steps, 1)  # checked before training
        self.context = context
        self.size = size
        self.seed = seed
        self.every_n_steps = every_n_steps
        self.snapshot_steps = snapshot_steps
        self.schedule = SnapshotSchedule()
        self.series: SnapshotSeries | None = None
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
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Continue the snapshot series from the step training starts at (0 or a resume)."""
        self.schedule = SnapshotSchedule.parse(
            self.every_n_steps, self.snapshot_steps, int(trainer.max_steps)
        )
        if not self.schedule.active:
            return
        start = trainer.global_step
        self.series = self._earlier_series(start)
        if start == 0:
            self._snapshot(trainer, pl_module)

    @rank_zero_only
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.series is not None and self.schedule.due(trainer.global_step):
            self._snapshot(trainer, pl_module)

    def _earlier_series(self, start: int) -> SnapshotSeries:
        directory = self.context.output_dir
        if not (directory / SNAPSHOTS_FILE).is_file():
            return SnapshotSeries.empty(self.probe.digest, self.probe.size, 0)
        earlier = SnapshotSeries.load(directory)
        if earlier.probe_digest != self.probe.digest:
            log.warning(
                "%s: snapshots of another probe set; the series starts again",
                directory / SNAPSHOTS_FILE,
            )
            return SnapshotSeries.empty(self.probe.digest, self.probe.size, 0)
        # a snapshot at the resume step shares the checkpoint's weights: keep it
        return earlier.before(start + 1)

    def _snapshot(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        encode, device = model_encoder(pl_module)
        with evaluating(pl_module):
            mu, logvar = encode_in_batches(encode, self.probe.images, device, self.batch_size)
        self._record(trainer.global_step, mu, logvar)
        self._log_information(trainer, channel_information(mu, logvar), trainer.global_step)

    def _record(self, step: int, mu, logvar) -> None:
        assert self.series is not None
        if len(self.series) == 0:
            self.series = SnapshotSeries.empty(self.probe.digest, *mu.shape)
        if len(self.series) and int(self.series.steps[-1]) == step:
            self.series = self.series.before(step)
        self.series.append(step, mu, logvar)
        self.series.save(self.context.output_dir)

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
        if self.series is not None:  # the final snapshot is the final fingerprint
            self._record(int(trainer.global_step), fingerprint.mu, fingerprint.logvar)
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
        files = [FINGERPRINT_FILE, RUN_FILE]
        if (self.context.output_dir / SNAPSHOTS_FILE).is_file():
            files.append(SNAPSHOTS_FILE)
        tracking.log_fingerprint(self.context.output_dir, files, meta, self.context.sweep)

    @staticmethod
    def _log_information(trainer: pl.Trainer, bits: list[float], step: int) -> None:
        metrics = {f"fingerprint/information/{k}": b for k, b in enumerate(bits)}
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
