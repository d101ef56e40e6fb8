"""The analysis's numbers do not move when its code is reorganised (issue 25).

A small sweep made here (two ensembles of four runs whose channels carry two factors, in
float64) is analysed as a study and, its first ensemble alone, as a single analysis; every
number of ``results.npz``, ``hotspots.csv``, ``hotspot_fusion.csv`` (the fused channels),
``study.csv`` and ``hotspot_links.csv`` must equal the pinned ones in
``pinned/analysis_numbers.json`` (to 1e-9: float64 on another CPU's kernels may differ in
the last bits; on one machine they are equal bit for bit). A change that moves them on
purpose rewrites the pins: ``python tests/integration/test_pinned_numbers.py --write``.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import factor_fingerprint, run_script

pytestmark = pytest.mark.slow

PINNED = Path(__file__).parent / "pinned" / "analysis_numbers.json"
ANALYSE = ["logger=none", "dtype=float64", "traversals.enabled=false"]
TABLES = ("hotspots.csv", "hotspot_fusion.csv")
STUDY_TABLES = ("study.csv", "hotspot_links.csv")


def make_sweep(folder: Path, ensembles: int = 2) -> None:
    """Two ensembles (beta 1 and 4, noise 0.3 and 0.6) of four runs, 300 probe points (the
    first ``ensembles`` of them written)."""
    rng = np.random.default_rng(7)
    n = 300
    a, b = rng.integers(0, 6, n), rng.integers(0, 6, n)
    for e, (beta, noise) in enumerate([(1, 0.3), (4, 0.6)]):
        for seed in range(4):
            job = e * 4 + seed
            fp = factor_fingerprint(
                a, b, rng, noise, run_id=f"r{beta}-{seed}",
                seed=seed, model="beta_vae", hyperparameters={"beta": beta}, job_num=job,
            )  # fmt: skip
            if e < ensembles:
                fp.save(folder / str(job))


def _table(path: Path) -> list[list[str | float]]:
    def cell(value: str) -> str | float:
        try:
            return float(value)
        except ValueError:
            return value

    with path.open(newline="") as f:
        return [[cell(v) for v in row] for row in csv.reader(f)]


def _numbers(analysis: Path, tables: tuple[str, ...]) -> dict:
    with np.load(analysis / "results.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k].tolist() for k in sorted(npz.files)}
    return {"results": arrays, **{t: _table(analysis / t) for t in tables}}


def analysis_numbers(work: Path) -> dict:
    """Every pinned number of the study and of the single analysis, made in ``work``."""
    make_sweep(work / "s")
    make_sweep(work / "one", ensembles=1)
    for sweep in ("s", "one"):
        done = run_script("analyze.py", [f"source.path={work / sweep}", *ANALYSE], work)
        assert done.returncode == 0, done.stderr[-3000:]
    study = work / "s" / "analysis"
    found = {"single": _numbers(work / "one" / "analysis", TABLES)}
    for folder in sorted((study / "ensembles").iterdir()):
        found[f"study/{folder.name}"] = _numbers(folder, TABLES)
    found["study"] = {t: _table(study / t) for t in STUDY_TABLES}
    return found


def _assert_close(got, want, where: str) -> None:
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), where
        for key in want:
            _assert_close(got[key], want[key], f"{where}/{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_close(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), where
    else:
        assert got == want, where


def test_the_analysis_numbers_do_not_move(tmp_path):
    _assert_close(analysis_numbers(tmp_path), json.loads(PINNED.read_text()), "pinned")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    with tempfile.TemporaryDirectory() as work:
        PINNED.write_text(json.dumps(analysis_numbers(Path(work)), indent=1) + "\n")
    print(f"wrote {PINNED}")
