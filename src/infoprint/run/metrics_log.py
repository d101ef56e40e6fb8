"""The run's training log, ``csv/metrics.csv``: one file per run, also across resumes.

Lightning's CSVLogger deletes an existing ``metrics.csv`` when it starts. A resumed attempt
instead keeps the rows of earlier attempts logged before the step it resumes from and
drops the rest (the killed attempt trained past its last checkpoint; those steps are
trained again), so the log has every step once.
"""

from __future__ import annotations

import csv
from pathlib import Path

from lightning_fabric.loggers.logger import rank_zero_experiment
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter

from infoprint.store.layout import CSV_DIR


def rows_before(path: Path, step: int) -> list[dict[str, str]]:
    """Rows of a metrics.csv whose ``step`` is below ``step`` (empty if there is no file)."""
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if r.get("step", "").strip() and float(r["step"]) < step]


class _ResumedWriter(ExperimentWriter):
    def __init__(self, log_dir: str, kept: list[dict[str, str]]) -> None:
        super().__init__(log_dir)  # removes the old file; its kept rows are written first
        self.metrics = [{k: v for k, v in row.items() if v != ""} for row in kept]


class MetricsLog(CSVLogger):
    """``csv/metrics.csv`` in ``run_dir``; with ``resumed_from`` it continues the log."""

    def __init__(self, run_dir: Path, resumed_from: int | None = None) -> None:
        super().__init__(save_dir=run_dir, name=CSV_DIR, version="")
        self._kept = (
            []
            if resumed_from is None
            else rows_before(Path(self.log_dir) / ExperimentWriter.NAME_METRICS_FILE, resumed_from)
        )

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._experiment = _ResumedWriter(self.log_dir, self._kept)
        return self._experiment
