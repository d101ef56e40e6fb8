"""The course of training in the analysis (issue 14): snapshots of a small sweep analysed,
whole-space NMI per step against an independent recomputation."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from infoprint.fingerprint.snapshots import SnapshotSeries
from infoprint.info import montecarlo_compare
from infoprint.tasks.analyze import analyze
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    for seed in range(3):
        overrides = [
            *TINY_TRAIN,
            "logger=none",
            "sweep_name=course",
            f"seed={seed}",
            "fingerprint.every_n_steps=20",
            "trainer.max_steps=60",
        ]
        if seed == 2:
            overrides.append("fingerprint.snapshot_steps=[10]")  # a step the others lack
        cfg = compose_config("train", overrides)
        with open_dict(cfg):
            cfg.paths.output_dir = str(root / str(seed))
        train(cfg)
    return root


def analyse(sweep: Path, out: Path, n_samples: int) -> dict:
    """The default analysis of ``sweep`` into ``out`` (no W&B, no traversals)."""
    cfg = compose_config(
        "analyze",
        [
            f"source.path={sweep}",
            "logger=none",
            "traversals.enabled=false",
            f"training.n_samples={n_samples}",
        ],
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    return analyze(cfg)


def test_the_course_of_training_is_analysed(sweep, tmp_path):
    found = analyse(sweep, tmp_path, n_samples=300)
    section = found["training"]
    assert section["runs_with_snapshots"] == 3 and section["steps"] == [0, 20, 40, 60]
    assert any("steps [10] not shared" in note for note in section["notes"])
    for name in (
        "training.csv",
        "hotspot_formation.csv",
        "training_information.png",
        "training_agreement.png",
        "training_structure.png",
    ):
        assert (tmp_path / name).is_file(), name
    with (tmp_path / "training.csv").open() as f:
        rows = list(csv.DictReader(f))
    # whole-space NMI between runs at each step equals an independent recomputation
    series = [SnapshotSeries.load(sweep / str(s)) for s in range(3)]
    for row in rows:
        step = int(row["step"])
        spaces = [s.at(step) for s in series]
        mc = montecarlo_compare(spaces, n_samples=300, seed=0, device="cpu").nmi.numpy()
        pairs = mc[np.triu_indices(3, 1)]
        assert float(row["nmi_median"]) == pytest.approx(float(np.median(pairs)), abs=1e-6)
    assert section["least_agreement_step"] in section["steps"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["training"]["steps"] == [0, 20, 40, 60]
    assert "course of training" in (tmp_path / "report.html").read_text()


def test_runs_without_snapshots_beside_runs_with_them(sweep, tmp_path):
    (sweep / "1" / "snapshots.npz").rename(sweep / "1" / "snapshots.bak")
    try:
        found = analyse(sweep, tmp_path, n_samples=100)
    finally:
        (sweep / "1" / "snapshots.bak").rename(sweep / "1" / "snapshots.npz")
    assert found["n_runs"] == 3  # the final-fingerprint analysis uses every run
    assert found["training"]["runs_with_snapshots"] == 2
    assert any("no snapshots" in note for note in found["training"]["notes"])
