"""``python analyze.py source.path=<another project's sweep>`` as its user runs it, from
another working directory: the analysis lands beside the sweep, its W&B run in the runs'
own project, traversals skipped with a note, or drawn by the user's ``traversals.loader``
when the sweep is analysed again."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from foreign import DECODER_MODULE, RUNS, foreign_sweep
from support import run_script


def test_a_foreign_sweep_is_analysed_beside_itself_into_its_own_wandb_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep = foreign_sweep(tmp_path / "project" / "logs" / "train" / "multiruns" / "2025-01-01")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    options = [f"source.path={sweep}", "hotspot_fusion.enabled=false", "device=cpu"]
    first = run_script("analyze.py", options, elsewhere, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert list(elsewhere.iterdir()) == []  # nothing in the working directory
    out = sweep / "analysis"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_runs"] == RUNS and summary["skipped"] == []
    assert summary["failed_steps"] == [] and summary["traversals"]["made"] == []
    (note,) = summary["notes"]
    assert note.startswith("traversals skipped: the runs' checkpoints are not infoprint's")
    assert "set traversals.loader=package.module:function" in note
    assert f"note: {note}" in " ".join(first.stdout.split())
    assert (out / "report.html").is_file() and (out / "structure_nmi.png").is_file()

    wandb = summary["wandb"]
    assert (wandb["project"], wandb["entity"], wandb["mode"]) == (
        "my-project",
        "my-team",
        "offline",
    )
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    assert run_dir.name.endswith(wandb["run_id"])
    records = next(run_dir.glob("run-*.wandb")).read_bytes()
    assert b"my-project" in records and b"my-team" in records

    # Analysed again (the first analysis folder inside the sweep is not a run), with the
    # user's decoder, importable from PYTHONPATH
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "user_decoders.py").write_text(textwrap.dedent(DECODER_MODULE))
    path = os.pathsep.join(p for p in (str(tmp_path / "lib"), os.environ.get("PYTHONPATH")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    again = run_script(
        "analyze.py", [*options, "traversals.loader=user_decoders:load", "logger=none"], elsewhere
    )
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_runs"] == RUNS and summary["skipped"] == []
    nmi = [f"nmi/{h['hotspot']}" for h in summary["hotspots"] if h["measure"] == "nmi"]
    assert nmi and summary["traversals"]["made"] == nmi
    assert summary["failed_steps"] == [] and summary["notes"] == []
    assert (out / "traversals.png").stat().st_size > 1000
    for name in nmi:
        assert (out / f"traversal_{name.replace('/', '_')}.png").is_file()
