"""The analysis in the terminal: one status line per step while it runs, tables with ``rich``.

Progress goes to stderr (a spinner on a terminal, one line per finished or failed step);
the result tables go to stdout, so ``python analyze.py > result.txt`` keeps just the tables
(``docs/architecture.md`` §10).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from infoprint.analysis.outputs import Table, format_value, is_number


def rich_table(table: Table) -> Group:
    """``table``'s terminal columns with ``rich``: its title, then header, rule and rows."""
    columns = list(table.terminal or table.columns)
    rows = table.select(columns)
    shown = RichTable(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for j, column in enumerate(columns):
        numeric = bool(rows) and all(is_number(r[j]) or r[j] is None for r in rows)
        justify = "right" if numeric else "left"
        shown.add_column(Table.label(column), justify=justify, no_wrap=numeric)
    for row in rows:
        shown.add_row(*(Text(format_value(v)) for v in row))
    if not rows:
        shown.add_row(*([Text("(none)")] + [Text("")] * (len(columns) - 1)))
    return Group(Text(table.title, style="bold"), shown)


def table_text(table: Table, width: int = 120) -> str:
    """``table`` as plain text (no colours), as the terminal shows it."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(rich_table(table))
    return buffer.getvalue().rstrip("\n")


class StepProgress:
    """Status per analysis step on stderr: a spinner while it runs, then ✓ or ✗ and seconds."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.perf_counter()
        with self.console.status(f"{escape(title)} …"):
            yield
        self.console.print(f"[green]✓[/] {escape(title)} ({time.perf_counter() - started:.1f} s)")

    def failed(self, title: str, message: str) -> None:
        self.console.print(f"[red]✗[/] {escape(title)} failed: {escape(message)}")

    def remark(self, title: str, message: str) -> None:
        """Something a step left out on purpose (not a failure), and why."""
        self.console.print(f"[yellow]-[/] {escape(title)}: {escape(message)}")

    def note(self, text: str) -> None:
        """A heading line, e.g. the ensemble a study analyses next."""
        self.console.print(f"[bold]{escape(text)}[/]")
