"""Lightning callback: fingerprint the run's latent channels (``docs/architecture.md`` §1, §4).

A drop-in for any Lightning project: plain arguments only; at setup it finds the run
(:mod:`infoprint.callbacks.discovery`), the probe set's dataset and the encoder
(:mod:`infoprint.callbacks.probe_source`). The probe set, encoding, files and W&B artifact
live in infoprint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from infoprint import tracking
from infoprint.callbacks.discovery import run_context, wandb_run
from infoprint.callbacks.framework import CALLBACK_BASES
from infoprint.callbacks.probe_source import (
    ContractError,
    check_encoder,
    hooked_dataset,
    loader_dataset,
)
from infoprint.fingerprint.capture import channel_information, fingerprint_model, model_encoder
from infoprint.fingerprint.probe import (
    ProbeSet,
    dataset_name,
    select_embedding_sample,
    select_probe_set,
)
from infoprint.fingerprint.snapshots import SnapshotSchedule, SnapshotSeries
from infoprint.models.inference import encode_in_batches, evaluating
from infoprint.run.context import RunContext
from infoprint.store.layout import FINGERPRINT_FILE, RUN_FILE, SNAPSHOTS_FILE

log = logging.getLogger(__name__)


class FingerprintCallback(*CALLBACK_BASES):  # type: ignore[misc]
    """Encode a fixed probe set at fit end (and, if asked, during training).

    At fit end writes ``fingerprint.npz`` and ``run.json`` into the run's folder and logs
    per-channel information (bits) to the trainer's loggers. ``size`` points of the dataset
    chosen by ``seed`` (never the training seed: every run of a sweep shares them) form the
    probe set; ``dataset`` overrides where they come from, ``encoder`` names the module's
    method giving the posterior, ``output_dir`` the run's folder (default: Hydra's, else the
    trainer's). With ``every_n_steps > 0`` or ``snapshot_steps`` (a list, or ``"log:K"``),
    the full fingerprint is also taken at those steps, at step 0 and at the final step, into
    ``snapshots.npz`` (:mod:`infoprint.fingerprint.snapshots`). With a W&B logger and
    ``log_artifact``, the ``fingerprint-<run id>`` artifact (with the snapshots) is logged
    to that logger's run at teardown, after the other fit-end callbacks (e.g. metrics) have
    added to run.json. ``embedding_size`` > 0 also stores a larger uniform sample for
    whole-space comparison. Rank zero writes.
    """

    def __init__(
        self,
        size: int = 1000,
        seed: int = 0,
        every_n_steps: int = 0,
        batch_size: int = 500,
        log_artifact: bool = True,
        embedding_size: int = 0,
        snapshot_steps: str | list[int] | None = None,
        encoder: str = "encode",
        dataset: Any = None,
        output_dir: str | Path | None = None,
    ) -> None:
        SnapshotSchedule.parse(every_n_steps, snapshot_steps, 1)  # checked before training
        if int(size) < 2:
            raise ValueError(f"FingerprintCallback: size must be >= 2, got {size}")
        self.size = int(size)
        self.seed = int(seed)
        self.every_n_steps = every_n_steps
        self.snapshot_steps = snapshot_steps
        self.batch_size = int(batch_size)
        self.log_artifact = log_artifact
        self.embedding_size = int(embedding_size)
        self.encoder = encoder
        self.dataset = dataset
        self.output_dir = output_dir
        self.schedule = SnapshotSchedule()
        self.series: SnapshotSeries | None = None
        self.context: RunContext | None = None
        self.probe: ProbeSet | None = None
        self.embedding: ProbeSet | None = None
        self._wandb: Any = None
        self._saved = False

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if stage != "fit":
            return
        self.context = run_context(trainer, pl_module, self.output_dir)
        self._wandb = wandb_run(trainer)
        dataset = hooked_dataset(trainer, pl_module, self.dataset)
        if dataset is not None:
            self._draw(dataset, pl_module)

    def _draw(self, dataset: Any, pl_module: Any) -> None:
        """The probe set (and embedding sample) from ``dataset``, the encoder checked on it."""
        try:
            if self.probe is None:
                self.probe = select_probe_set(dataset, self.size, self.seed)
            if self.embedding_size and self.embedding is None:
                self.embedding = select_embedding_sample(dataset, self.embedding_size, self.seed)
        except ValueError as err:  # ProbeSetError, or sizes beyond the dataset
            raise ContractError(f"FingerprintCallback: {err}") from None
        check_encoder(pl_module, self.encoder, self.probe)
        if not self.context.dataset:
            self.context.dataset = dataset_name(dataset)

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        """Draw the probe set from the training loader if nothing gave it at setup; then
        continue the snapshot series from the step training starts at (0 or a resume)."""
        if self.probe is None:
            self._draw(loader_dataset(trainer), pl_module)
        self.schedule = SnapshotSchedule.parse(
            self.every_n_steps, self.snapshot_steps, int(trainer.max_steps)
        )
        if not (self.schedule.active and trainer.is_global_zero):
            return
        start = trainer.global_step
        self.series = self._earlier_series(start)
        if start == 0:
            self._snapshot(trainer, pl_module)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
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

    def _snapshot(self, trainer: Any, pl_module: Any) -> None:
        encode, device = model_encoder(pl_module, self.encoder)
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

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.is_global_zero:
            return
        meta = {
            **self.context.meta(),
            "steps": int(trainer.global_step),
            "observation_shape": list(self.probe.images.shape[1:]),
        }
        fingerprint = fingerprint_model(
            pl_module, self.probe, meta, self.batch_size, self.embedding, self.encoder
        )
        bits = fingerprint.meta["information_bits"]
        if self.log_artifact and self._wandb is not None:
            fingerprint.meta["wandb"] = {
                **(self.context.wandb or {}),
                "artifact": f"fingerprint-{self.context.run_id}",
            }
        fingerprint.save(self.context.output_dir)
        self._saved = True
        if self.series is not None:  # the final snapshot is the final fingerprint
            self._record(int(trainer.global_step), fingerprint.mu, fingerprint.logvar)
        self._log_information(trainer, bits, trainer.global_step)
        tracking.update_summary(
            {f"fingerprint/information/{k}": b for k, b in enumerate(bits)}, self._wandb
        )
        log.info(
            "fingerprint of run %s: %s bits per channel -> %s",
            self.context.run_id,
            [round(b, 3) for b in bits],
            self.context.directory.fingerprint_file,
        )

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Log the artifact last, so that run.json carries what later callbacks added."""
        if stage != "fit" or not trainer.is_global_zero or not self._saved:
            return
        if not (self.log_artifact and self._wandb is not None):
            return
        meta = self.context.directory.read_meta()
        files = [FINGERPRINT_FILE, RUN_FILE]
        if (self.context.output_dir / SNAPSHOTS_FILE).is_file():
            files.append(SNAPSHOTS_FILE)
        tracking.log_fingerprint(
            self.context.output_dir, files, meta, self.context.sweep, self._wandb
        )

    @staticmethod
    def _log_information(trainer: Any, bits: list[float], step: int) -> None:
        metrics = {f"fingerprint/information/{k}": b for k, b in enumerate(bits)}
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)
