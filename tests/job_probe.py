"""A Lightning callback for test jobs: records each attempt, optionally paces the steps."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

ATTEMPTS_FILE = "attempts.jsonl"


class JobProbe(pl.Callback):
    """Append one line per attempt to ``attempts.jsonl`` in the job directory.

    The line holds what the job saw: SLURM job id and restart count, the CPUs SLURM gave
    it, PyTorch's thread count and the step it started from. ``seconds_per_step`` > 0
    sleeps after every training step, which gives a tiny run a known minimum wall time
    on any machine (e.g. to outlast a time limit); with ``fresh_only`` only an attempt
    that starts from scratch is paced, so a resumed one finishes at full speed.

        +callbacks.probe._target_=job_probe.JobProbe +callbacks.probe.seconds_per_step=0.1

    The jobs need this folder on ``PYTHONPATH``.
    """

    def __init__(self, seconds_per_step: float = 0.0, fresh_only: bool = False) -> None:
        self.seconds_per_step = seconds_per_step
        self.fresh_only = fresh_only
        self.pace = 0.0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        resumed = trainer.ckpt_path is not None
        self.pace = 0.0 if (resumed and self.fresh_only) else self.seconds_per_step
        record = {
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
            "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
            "slurm_restart_count": int(os.environ.get("SLURM_RESTART_COUNT", 0)),
            "slurm_cpus_per_task": os.environ.get("SLURM_CPUS_PER_TASK"),
            "torch_threads": torch.get_num_threads(),
            "start_step": int(trainer.global_step),
            "resumed": resumed,
            "time": time.time(),
        }
        with (Path(trainer.default_root_dir) / ATTEMPTS_FILE).open("a") as f:
            f.write(json.dumps(record) + "\n")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.pace:
            time.sleep(self.pace)
