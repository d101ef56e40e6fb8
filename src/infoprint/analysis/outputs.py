"""What an analysis step produces, and the one place that writes it to disk.

A :class:`Table` is one table of results, rendered four ways from the same columns and
rows: a CSV file (:func:`write_table`, full precision), the report
(:mod:`infoprint.pipeline.report`), the terminal (:mod:`infoprint.pipeline.terminal`) and
W&B (:func:`infoprint.tracking.log_analysis`). A :class:`FigureFile` is a saved figure
with the caption the report shows under it (``docs/architecture.md`` §10).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from infoprint.store.atomic import atomic_write, atomic_write_text
from infoprint.store.layout import SUMMARY_FILE

FIGURE_DPI = 120


@dataclass(frozen=True)
class Table:
    """Columns and rows of one result table.

    ``name`` is its key in the report and W&B; ``file`` the CSV it is written to (None: not
    written); ``terminal`` the columns printed after the analysis (None: not printed).
    Column names are machine names (CSV header); people see them with spaces for '_'.
    """

    name: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""
    file: str | None = None
    terminal: Sequence[str] | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.name}: row {row} does not fit {self.columns}")

    @staticmethod
    def label(column: str) -> str:
        """A column's heading for people: ``best_factor`` -> ``best factor``."""
        return column.replace("_", " ")

    def select(self, columns: Sequence[str]) -> list[list[Any]]:
        """The rows restricted to ``columns``, in that order."""
        index = [list(self.columns).index(c) for c in columns]
        return [[row[j] for j in index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """One ``{column: value}`` per row (for summary.json)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class FigureFile:
    """A figure saved as PNG, and what the report says under it: what it shows, how to read it."""

    key: str
    path: Path
    caption: str

    def moved(self, old: Path, new: Path) -> FigureFile:
        """The same figure after its folder ``old`` became ``new``."""
        if not self.path.is_relative_to(old):
            return self
        return replace(self, path=new / self.path.relative_to(old))


def format_value(value: Any) -> str:
    """A value for people (report, terminal): floats to 4 significant digits, None empty."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating) and not isinstance(value, bool):
        return "nan" if math.isnan(value) else f"{float(value):.4g}"
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def write_table(table: Table, directory: Path) -> Path:
    """``directory / table.file`` as CSV with a header row, full precision; None cells empty."""
    if table.file is None:
        raise ValueError(f"table {table.name} has no file name")
    path = Path(directory) / table.file
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(table.columns)
    writer.writerows([["" if v is None else v for v in row] for row in table.rows])
    return atomic_write(path, lambda f: f.write(text.getvalue()), "w")


def save_figure(fig: Figure, path: Path, caption: str, key: str | None = None) -> FigureFile:
    """Save ``fig`` as PNG at ``path`` and close it."""
    try:
        atomic_write(Path(path), lambda f: fig.savefig(f, format="png", dpi=FIGURE_DPI))
    finally:
        plt.close(fig)
    return FigureFile(key or Path(path).stem, Path(path), caption)


def write_summary(directory: Path, summary: dict[str, Any]) -> Path:
    """``summary.json`` (numpy values, paths and dataclasses made JSON). Paths inside
    ``directory`` are written relative to it, so the folder can be moved or published."""
    directory = Path(directory)
    path = directory / SUMMARY_FILE

    def jsonable(value: Any) -> Any:
        if isinstance(value, Path) and value.is_relative_to(directory):
            return str(value.relative_to(directory))
        return _jsonable(value)

    return atomic_write_text(path, json.dumps(summary, indent=2, default=jsonable))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
