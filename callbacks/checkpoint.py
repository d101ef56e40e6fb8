"""Lightning callback: the run's ``last.ckpt`` (``docs/architecture.md`` §3, §9).

Saved every ``every_n_train_steps`` and at the end of training into the run directory;
the checkpoint carries the model's description (see ``infoprint.models.builder``), so
``load_model(last.ckpt)`` rebuilds the model anywhere. With ``log_artifact`` the final
checkpoint is also logged to W&B as ``model-<run id>`` (type ``model``).
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_only

from infoprint import tracking
from infoprint.callbacks.discovery import run_context
from infoprint.run.context import RunContext


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt`` in the run directory, every ``every_n_train_steps`` and at the end."""

    def __init__(self, every_n_train_steps: int = 1000, log_artifact: bool = False) -> None:
        if every_n_train_steps < 1:
            raise ValueError(
                f"callbacks.checkpoint.every_n_train_steps must be >= 1, got {every_n_train_steps}"
            )
        super().__init__(save_last=True, save_top_k=0, every_n_train_steps=every_n_train_steps)
        self.log_artifact = log_artifact
        self.context: RunContext | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Save into the run's folder (found as every infoprint callback finds it)."""
        self.context = run_context(trainer, pl_module)
        self.dirpath = str(self.context.output_dir)
        super().setup(trainer, pl_module, stage)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        path = self.context.directory.checkpoint
        trainer.save_checkpoint(path, weights_only=False)
        self._log(path)

    @rank_zero_only
    def _log(self, path) -> None:
        if self.log_artifact:
            tracking.log_checkpoint(path, self.context.run_id)
