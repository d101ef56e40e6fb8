"""A run's ``last.ckpt`` written without a Trainer, in the layout Lightning's Trainer writes.

``docs/architecture.md`` §9 (packs). A pack trains its members outside Lightning's loop,
yet each member's run directory must hold the checkpoint its lone run would hold, so that
``rerun=skip|resume`` (with or without packs), :func:`~infoprint.models.builder.load_model`
and the checkpoints source read it as any other. :func:`training_checkpoint` is the
checkpoint Lightning 2's ``Trainer.save_checkpoint`` writes after ``step`` steps of
automatic optimisation on the endless training loader of
:class:`~infoprint.data.module.GroundTruthDataModule` (one epoch that never ends; the
epoch is marked complete at the end of training): the loop counters all equal ``step``.
``tests/integration/test_packs.py`` checks it key for key against a checkpoint the
Trainer wrote itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.plugins import TorchCheckpointIO

from infoprint.store.checkpoint import save_checkpoint


def _progress(value: int, *fields: str) -> dict[str, dict[str, int]]:
    return {scope: dict.fromkeys(fields, value) for scope in ("total", "current")}


_BATCH_FIELDS = ("ready", "completed", "started", "processed")


def _idle_batches() -> dict[str, Any]:
    return {**_progress(0, *_BATCH_FIELDS), "is_last_batch": False}


def fit_loop_state(step: int) -> dict[str, Any]:
    """Lightning's ``fit_loop`` state after ``step`` automatic-optimisation steps."""
    return {
        "state_dict": {},
        "epoch_loop.state_dict": {"_batches_that_stepped": step},
        "epoch_loop.batch_progress": {**_progress(step, *_BATCH_FIELDS), "is_last_batch": False},
        "epoch_loop.scheduler_progress": _progress(0, "ready", "completed"),
        "epoch_loop.automatic_optimization.state_dict": {},
        "epoch_loop.automatic_optimization.optim_progress": {
            "optimizer": {
                "step": _progress(step, "ready", "completed"),
                "zero_grad": _progress(step, "ready", "completed", "started"),
            }
        },
        "epoch_loop.manual_optimization.state_dict": {},
        "epoch_loop.manual_optimization.optim_step_progress": _progress(0, "ready", "completed"),
        "epoch_loop.val_loop.state_dict": {},
        "epoch_loop.val_loop.batch_progress": _idle_batches(),
        "epoch_progress": _progress(1, *_BATCH_FIELDS),
    }


def training_checkpoint(
    model: pl.LightningModule, optimizer_state: dict[str, Any], step: int
) -> dict[str, Any]:
    """The checkpoint of ``model`` (on the CPU) after ``step`` training steps, with its
    optimiser's ``optimizer_state``, as ``Trainer.save_checkpoint`` writes it."""
    if not model.automatic_optimization:
        raise ValueError("training_checkpoint writes automatic-optimisation checkpoints only")
    idle = {"state_dict": {}, "batch_progress": _idle_batches()}
    predict = {"state_dict": {}, "batch_progress": _progress(0, *_BATCH_FIELDS)}
    return {
        "epoch": 1,
        "global_step": step,
        "pytorch-lightning_version": pl.__version__,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "loops": {
            "fit_loop": fit_loop_state(step),
            "validate_loop": idle,
            "test_loop": idle,
            "predict_loop": predict,
        },
        "callbacks": {},
        "optimizer_states": [optimizer_state],
        "lr_schedulers": [],
        "hparams_name": None,
        "hyper_parameters": dict(model.hparams),
    }


class DurableCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, durable (``docs/architecture.md`` §3): every checkpoint
    the Trainer saves goes through :func:`~infoprint.store.checkpoint.save_checkpoint`
    (temporary file, fsync, rename), so a kill, a crash or a full disk leaves the previous
    ``last.ckpt`` whole, and a failed write names the file. Lightning's own writer renames
    too, without the fsync. infoprint's training passes it to the Trainer (``plugins``)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(checkpoint, path)
