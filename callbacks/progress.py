"""Lightning callback: training progress that reads well in a terminal and in a log file.

In a terminal (stderr is a TTY) a live ``rich`` bar: step, loss, steps per second, time
left. In a log file (multirun with the joblib or submitit launchers, SLURM) one log line
every ``percent`` % of the steps instead of a flood of carriage returns.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks.progress import ProgressBar
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from infoprint.callbacks.discovery import run_context
from infoprint.run.context import RunContext

log = logging.getLogger(__name__)


class Progress(ProgressBar):
    """A bar in a terminal, a line every ``percent`` % of ``trainer.max_steps`` otherwise."""

    def __init__(self, percent: float = 5.0, live: bool | None = None):
        super().__init__()
        if not 0 < percent <= 100:
            raise ValueError(f"callbacks.progress.percent must be in (0, 100], got {percent}")
        self.context: RunContext | None = None
        self.percent = float(percent)
        self.live = sys.stderr.isatty() if live is None else live
        self._enabled = True
        self._bar: RichProgress | None = None
        self._task: Any = None
        self._start_step = 0
        self._started = 0.0
        self._next_line = 0

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        self.context = run_context(trainer, pl_module)

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled and self.trainer.is_global_zero

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.is_enabled:
            return
        self._start_step = trainer.global_step
        self._started = time.perf_counter()
        self._next_line = self._start_step + self._line_every(trainer)
        total = trainer.max_steps
        if self.live:
            self._bar = RichProgress(
                TextColumn(f"[bold]{self.context.run_name}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task("train", total=total, status="")
            self._bar.update(self._task, completed=self._start_step)
            self._bar.start()
        else:
            log.info("run %s: training steps %d to %d", self.context.run_name, trainer.global_step,
                     total)  # fmt: skip

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if not self.is_enabled:
            return
        step = trainer.global_step
        if self._bar is not None:
            self._bar.update(self._task, completed=step, status=self._status(trainer, step))
        elif step >= self._next_line:
            self._next_line = step + self._line_every(trainer)
            log.info(
                "run %s: step %d/%d (%.0f%%), %s",
                self.context.run_name,
                step,
                trainer.max_steps,
                100.0 * step / trainer.max_steps,
                self._status(trainer, step),
            )

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _line_every(self, trainer: pl.Trainer) -> int:
        return max(1, round(trainer.max_steps * self.percent / 100.0))

    def _status(self, trainer: pl.Trainer, step: int) -> str:
        elapsed = time.perf_counter() - self._started
        rate = (step - self._start_step) / elapsed if elapsed > 0 else 0.0
        loss = trainer.logged_metrics.get("train/loss")
        text = f"{rate:.1f} steps/s"
        if loss is not None:
            text = f"loss {float(loss):.4g}, {text}"
        if not self.live and rate > 0:
            text += f", ~{(trainer.max_steps - step) / rate:.0f} s left"
        return text
