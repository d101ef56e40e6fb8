"""Fusing a hotspot's channels: the consensus of noisy copies of a factor knows it better."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.hotspot_fusion import (
    HOTSPOT_FUSION_COLUMNS,
    HOTSPOT_FUSION_FILE,
    fuse_hotspots,
    hotspot_fusion_rows,
    hotspot_fusion_table,
)
from infoprint.analysis.hotspots import cluster, hotspots
from infoprint.analysis.outputs import write_table
from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.terminal import table_text
from support import factor_fingerprint

N, RUNS = 240, 6


def _noisy_copies(noise: float, seed: int = 0) -> list[Fingerprint]:
    """Runs whose channel 0 is factor ``a`` (8 values) plus the run's own noise and whose
    channel 1 is factor ``b`` (3 values), sharp; ``a`` and ``b`` are independent."""
    rng = np.random.default_rng(seed)
    a = np.arange(N) % 8
    b = (np.arange(N) // 8) % 3
    runs = []
    for r in range(RUNS):
        runs.append(factor_fingerprint(a, b, rng, noise, run_id=f"r{r}", job_num=r))
    return runs


@pytest.fixture(scope="module")
def analysed():
    runs = _noisy_copies(noise=0.6)
    structure = ensemble_structure(runs, device="cpu")
    found = hotspots(structure, cluster(structure, "nmi"))
    return found, fuse_hotspots(runs, found, device="cpu")


def test_every_hotspot_is_fused_and_the_consensus_knows_its_factor_better(analysed) -> None:
    found, fused = analysed
    assert sorted(h.best_factor for h in found) == ["a", "b"]
    assert [f.hotspot for f in fused] == found
    for f in fused:
        assert f.space.mu.shape == (N, 1)
        assert f.factor_nmi.shape == (2,)
        k = ["a", "b"].index(f.hotspot.best_factor)
        assert f.best_factor_nmi == pytest.approx(f.factor_nmi[k])
        assert f.factor_nmi[1 - k] < 0.05  # the other, independent factor: nothing
        if f.hotspot.best_factor == "a":
            # Independent noise in each run averages out in the consensus.
            print(f"a: members {f.hotspot.best_factor_nmi:.3f}, fused {f.best_factor_nmi:.3f}")
            assert f.best_factor_nmi > f.hotspot.best_factor_nmi + 0.05
        else:
            # Sharp identical copies of b (log2 3 bits): the fused channel is one more copy.
            assert f.best_factor_nmi == pytest.approx(1.0, abs=0.02)
            assert f.space.information == pytest.approx(math.log2(3), abs=0.05)


def test_rows_table_and_csv(analysed, tmp_path) -> None:
    found, fused = analysed
    rows = hotspot_fusion_rows(fused)
    assert len(rows) == len(found) and all(len(r) == len(HOTSPOT_FUSION_COLUMNS) for r in rows)
    table = hotspot_fusion_table(fused, "exp_neg_vi")
    assert table.rows == rows and table.file == HOTSPOT_FUSION_FILE
    path = write_table(table, tmp_path)
    with path.open() as f:
        read = list(csv.DictReader(f))
    for row, f in zip(read, fused, strict=True):
        assert row["best_factor"] == f.hotspot.best_factor
        assert float(row["fused_nmi"]) == pytest.approx(f.best_factor_nmi, abs=1e-6)
        assert float(row["member_nmi"]) == pytest.approx(f.hotspot.best_factor_nmi, abs=1e-6)
    text = table_text(table)  # the terminal: title, header, rule, one line per hotspot
    assert "exp_neg_vi" in text.splitlines()[0] and len(text.splitlines()) == 3 + len(fused)


def test_without_factors_the_fused_channel_has_no_factor_nmi() -> None:
    runs = _noisy_copies(noise=0.3)
    for fp in runs:
        fp.factors = None
        fp.meta["factor_names"] = []
    structure = ensemble_structure(runs, device="cpu")
    found = hotspots(structure, cluster(structure, "nmi"))
    fused = fuse_hotspots(runs, found, steps=20, device="cpu")
    assert fused and all(f.factor_nmi is None and f.best_factor_nmi is None for f in fused)
    assert all(row[-1] == "" and row[-2] == "" for row in hotspot_fusion_rows(fused))


def test_hotspots_fused_together_equal_each_fused_alone() -> None:
    """Each hotspot's fusion equals its fusion alone bit for bit, and torch's thread count
    is left as it was (fuse() sets it to 1 for its own operations)."""
    runs = _noisy_copies(noise=0.6)
    structure = ensemble_structure(runs, device="cpu")
    found = hotspots(structure, cluster(structure, "nmi"))
    assert len(found) == 2
    threads = torch.get_num_threads()
    together = fuse_hotspots(runs, found, steps=10, device="cpu")
    assert torch.get_num_threads() == threads
    for hotspot, fused in zip(found, together, strict=True):
        (alone,) = fuse_hotspots(runs, [hotspot], steps=10, device="cpu")
        assert torch.equal(alone.space.mu, fused.space.mu)
        assert torch.equal(alone.space.logvar, fused.space.logvar)
        assert np.array_equal(alone.factor_nmi, fused.factor_nmi)
