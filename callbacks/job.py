"""Hydra callback: finish the job's W&B run whatever happened (``docs/architecture.md`` §12).

Runs on ``on_job_end`` for every job of a sweep, including failed ones and jobs that a
launcher runs in a reused worker process, so no run is left open for the next job.
"""

from __future__ import annotations

from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback

from infoprint import tracking


class FinishRun(Callback):
    def on_job_end(self, config: Any, job_return: JobReturn, **kwargs: Any) -> None:
        tracking.finish_active_run(0 if job_return.status == JobStatus.COMPLETED else 1)
