"""A self-contained ``report.html`` of an analysis, readable without W&B or a server.

``docs/architecture.md`` §10. Figures are embedded as base64 PNGs, each with a caption
saying what it shows and how to read it; tables are HTML, with numbers to 4 significant
digits (the files keep full precision), headers and numbers never broken, and wide tables
scrolling sideways in their own box. Steps that failed are listed first. Every value is
escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infoprint.analysis.outputs import FigureFile, Table, format_value, is_number
from infoprint.pipeline.run import AnalysisContext, StepFailure
from infoprint.pipeline.summary import summary
from infoprint.store.atomic import atomic_write_text

REPORT_FILE = "report.html"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222;
       padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
.scroll { overflow-x: auto; max-width: 100%; margin: 0.5em 0; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; vertical-align: top; white-space: nowrap;
         text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; text-align: center; }
td.text { text-align: left; }
td.long { text-align: left; white-space: normal; min-width: 20em; max-width: 40em;
          overflow-wrap: anywhere; }
.caption, figcaption { font-size: 0.85em; color: #555; max-width: 60em; }
.failures td, .failures th { background: #fff1f0; }
code { background: #f6f6f6; padding: 1px 4px; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
"""


LONG_TEXT = 40
"""Text cells longer than this wrap (after ';' and '/' first); shorter ones stay whole."""


def _cell(value: Any) -> str:
    """A table cell: numbers right-aligned to 4 significant digits and never broken, short
    text whole, long text (member lists, paths, messages) wrapping within 40em."""
    text = format_value(value)
    if is_number(value):
        return f"<td>{html.escape(text)}</td>"
    if len(text) <= LONG_TEXT:
        return f'<td class="text">{html.escape(text)}</td>'
    breakable = html.escape(text).replace(";", ";<wbr>").replace("/", "/<wbr>")
    return f'<td class="long">{breakable}</td>'


def html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], css: str = "") -> str:
    """A table in its own horizontally scrolling box; headers are ``Table.label``s."""
    head = "".join(f"<th>{html.escape(Table.label(str(c)))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll{" " + css if css else ""}">{table}</div>'


def _table(table: Table) -> str:
    parts = [f"<h2>{html.escape(table.title)}</h2>", html_table(table.columns, table.rows)]
    if table.caption:
        parts.append(f'<p class="caption">{html.escape(table.caption)}</p>')
    return "\n".join(parts)


def _figure(figure: FigureFile) -> str:
    data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    return (
        f"<h2>{html.escape(figure.path.name)}</h2>"
        f'<figure><img alt="{html.escape(figure.caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>"
    )


def _overview(found: dict[str, Any]) -> list[list[Any]]:
    kept, total = found["n_kept_channels"], found["n_channels"]
    return [
        ["source", found["source"]],
        ["command", found["command"]],
        ["runs analysed", str(found["n_runs"])],
        ["channels (kept / all)", f"{kept} / {total}"],
        ["information threshold (bits)", format_value(found["information_threshold"])],
        ["probe set", f"{found['probe_size']} points, digest {found['probe_digest']}"],
        ["hotspots", str(len(found["hotspots"]))],
        ["written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")],
    ]


def failures_html(failures: Sequence[StepFailure]) -> list[str]:
    """The failed steps as a table (nothing when none failed)."""
    failed = [asdict(f) for f in failures]
    if not failed:
        return []
    columns = ["step", "item", "error", "message", "file"]
    rows = [[f[c] or "" for c in columns] for f in failed]
    return [
        f"<h2>Failed steps ({len(failed)})</h2>",
        '<p class="caption">These parts of the analysis could not be made; everything else '
        "was. Each row names the step, the exception and the file it concerns.</p>",
        html_table(columns, rows, "failures"),
    ]


def notes_html(notes: Sequence[str]) -> list[str]:
    """What was left out on purpose, as a list (nothing when nothing was)."""
    if not notes:
        return []
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return [
        f"<h2>Notes ({len(notes)})</h2>",
        '<p class="caption">Parts of the analysis left out on purpose (not failures), and '
        "how to include them.</p>",
        f"<ul>{items}</ul>",
    ]


def write_report(directory: Path, context: AnalysisContext) -> Path:
    """Write ``report.html``: overview, failures, each step's tables and figures, runs."""
    found = summary(context)
    parts = [
        f"<h1>infoprint analysis: {html.escape(str(found['sweep']))}</h1>",
        "<p>Channel fingerprints compared as in Murphy, Dillavou &amp; Bassett, "
        "<i>Comparing the information content of probabilistic representation spaces</i>, "
        "TMLR 2025. Tables show numbers to 4 significant digits; the CSV and npz files next "
        "to this report keep full precision.</p>",
        html_table(["item", "value"], _overview(found)),
        *failures_html(context.failures),
        *notes_html(context.notes()),
    ]
    for result in context.results.values():
        parts += [_table(t) for t in result.tables]
        parts += [_figure(f) for f in result.figures]
    skipped = found["skipped"]
    parts.append(f"<h2>Skipped runs ({len(skipped)})</h2>")
    parts.append(html_table(["run", "reason"], [[s["run"], s["reason"]] for s in skipped]))
    runs = found["runs"]
    parts.append(f"<h2>Runs ({len(runs)})</h2>")
    parts.append(
        html_table(
            ["run_id", "job", "path"], [[r["run_id"], r["job_num"], str(r["path"])] for r in runs]
        )
    )
    return write_html(Path(directory) / REPORT_FILE, "infoprint analysis", parts)


def write_html(path: Path, title: str, parts: Sequence[str]) -> Path:
    """A self-contained HTML page of ``parts`` (the report's style), written atomically."""
    document = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    return atomic_write_text(path, document)
