"""A self-contained ``report.html`` of an analysis, readable without W&B or a server.

Figures are embedded as base64 PNGs; tables are plain HTML; every value is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORT_FILE = "report.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top;
         max-width: 40em; overflow-wrap: anywhere; }
th { background: #f3f3f3; } code { background: #f6f6f6; padding: 1px 4px; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
"""


def _cell(value: Any) -> str:
    """A table cell: floats to 4 significant digits (the files keep full precision)."""
    return html.escape(f"{value:.4g}" if isinstance(value, float) else str(value))


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _overview(summary: dict[str, Any]) -> list[list[Any]]:
    kept, total = summary.get("n_kept_channels", ""), summary.get("n_channels", "")
    probe = f"{summary.get('probe_size', '')} points, digest {summary.get('probe_digest', '')}"
    return [
        ["source", summary.get("source", "")],
        ["command", summary.get("command", "")],
        ["runs analysed", summary.get("n_runs", "")],
        ["channels (kept / all)", f"{kept} / {total}"],
        ["information threshold (bits)", summary.get("information_threshold", "")],
        ["probe set", probe],
        ["written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")],
    ]


def write_report(
    directory: Path,
    summary: dict[str, Any],
    figures: dict[str, Path],
    tables: dict[str, tuple[Sequence[str], Sequence[Sequence[Any]]]],
) -> Path:
    """Write ``report.html``: summary, every figure, every table, skipped runs, runs."""
    parts = [
        f"<h1>infoprint analysis: {html.escape(str(summary.get('sweep', '')))}</h1>",
        "<p>Channel fingerprints compared as in Murphy, Dillavou &amp; Bassett, "
        "<i>Comparing the information content of probabilistic representation spaces</i>, "
        "TMLR 2025.</p>",
        _table(["item", "value"], _overview(summary)),
    ]
    for name, (columns, rows) in tables.items():
        parts += [f"<h2>{html.escape(name)}</h2>", _table(columns, rows)]
    for name, path in figures.items():
        parts += [f"<h2>{html.escape(name)}</h2>", _figure(path, path.name)]
    skipped = summary.get("skipped", [])
    parts.append(f"<h2>Skipped runs ({len(skipped)})</h2>")
    parts.append(_table(["run", "reason"], [[s["run"], s["reason"]] for s in skipped]))
    runs = summary.get("runs", [])
    parts.append(f"<h2>Runs ({len(runs)})</h2>")
    parts.append(
        _table(["run id", "job", "path"], [[r["run_id"], r["job_num"], r["path"]] for r in runs])
    )
    document = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>infoprint analysis</title><style>{_STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    path = directory / REPORT_FILE
    path.write_text(document, encoding="utf-8")
    return path
