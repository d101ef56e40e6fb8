"""Fusion of sub-ensembles: analysis, files and figures; a ring ensemble trained in the test.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.4: 1-D β-VAEs (2 x 64
tanh here, 2 x 256 in the paper; β = 0.03, Gaussian likelihood) each cut the ring
somewhere; fusing more of them gives a more continuous closed curve ordered by angle.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from infoprint.analysis.fusion import (
    FUSION_COLUMNS,
    FusionOptions,
    FusionResult,
    continuity_table,
    fuse_channels,
    fuse_ensemble,
    fusion_rows,
    fusion_summary,
    write_fusion,
)
from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.terminal import table_text
from infoprint.plots.fusion import continuity_figure, fused_space_figure
from infoprint.tasks.train import train
from support import compose_config

RUNS = 20
SIZES = (2, 3, 5, 10, 20)
OBJECTIVES = ("exp_neg_vi", "nmi")
# The ring_fusion preset (2 x 64 tanh, β 0.03, Gaussian likelihood, batch 256, lr 1e-2),
# trained 600 instead of 2,000 steps (~2 s a run) on 100 instead of 200 probe angles: each
# learner then cuts the ring sharply enough (single-member continuity 3-100) for the gain
# from fusing more of them to stand out from the draw of the sub-ensembles.
RING_TRAIN = [
    "experiment=ring_fusion",
    "trainer.max_steps=600",
    "trainer.log_every_n_steps=100",
    "fingerprint.size=100",
    "logger=none",
    "callbacks=none",
    "torch_threads=1",
    "sweep_name=ring-fusion",
]


@pytest.fixture(scope="module")
def ring_ensemble(tmp_path_factory: pytest.TempPathFactory) -> list[Fingerprint]:
    base = tmp_path_factory.mktemp("ring-fusion")
    for seed in range(RUNS):
        cfg = compose_config("train", [*RING_TRAIN, f"seed={seed}"])
        with open_dict(cfg):
            cfg.paths.output_dir = str(base / str(seed))
        train(cfg)
    return [Fingerprint.load(base / str(seed)) for seed in range(RUNS)]


@pytest.fixture(scope="module")
def fused(ring_ensemble: list[Fingerprint]) -> FusionResult:
    options = FusionOptions(sizes=SIZES, repeats=3, objectives=OBJECTIVES)
    return fuse_ensemble(ring_ensemble, options, device="cpu")


def _table(result: FusionResult) -> str:
    lines = [f"member continuity: median {np.median(result.member_continuity):.2f}"]
    for o, objective in enumerate(result.objectives):
        for s, size in enumerate(result.sizes):
            lines.append(
                f"{objective:>10} size {size:2d}: continuity "
                f"{np.round(result.continuity[o, s], 2)} median "
                f"{result.median_continuity()[o, s]:.2f}, I(U) "
                f"{np.round(result.information[o, s], 2)} bits"
            )
    return "\n".join(lines)


@pytest.mark.slow
def test_continuity_falls_from_2_to_20_members(fused: FusionResult, tmp_path: Path) -> None:
    print(_table(fused))
    median = fused.median_continuity()
    assert fused.closed  # the ring's probe order is a closed curve
    assert list(fused.sizes) == list(SIZES)
    for o, objective in enumerate(fused.objectives):
        assert median[o, -1] < median[o, 0], objective
        # The full ensemble is more continuous than a single weak learner ...
        assert median[o, -1] < np.median(fused.member_continuity), objective
        # ... and still carries information (NMI's faint, degenerate optimum is not it).
        assert np.all(fused.information[o, -1] > 1.0), objective
    path = write_fusion(tmp_path, fused)
    with np.load(path, allow_pickle=False) as npz:
        assert npz["continuity"].shape == (len(OBJECTIVES), len(SIZES), 3)
        assert npz["mu_nmi"].shape == (100, 2)
    assert len(fusion_rows(fused)) == len(OBJECTIVES) * len(SIZES) * 3
    fused_space_figure(fused).savefig(tmp_path / "fused_space.png")
    continuity_figure(fused).savefig(tmp_path / "continuity.png")


def _winding(mu: np.ndarray) -> tuple[float, float]:
    """Turns of the closed curve of means around their centroid, and the fraction of
    steps between neighbouring probe points that turn the majority way."""
    centred = mu - mu.mean(axis=0)
    phase = np.arctan2(centred[:, 1], centred[:, 0])
    steps = np.angle(np.exp(1j * (np.roll(phase, -1) - phase)))
    turns = steps.sum() / (2 * math.pi)
    return turns, float(np.mean(np.sign(steps) == np.sign(turns)))


@pytest.mark.slow
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_fused_space_is_a_closed_curve_ordered_by_angle(
    fused: FusionResult, objective: str
) -> None:
    mu = fused.fused[objective].mu.numpy()
    turns, agreeing = _winding(mu)
    print(f"{objective}: {turns:.3f} turns, {agreeing:.1%} of steps agree")
    assert abs(turns) == pytest.approx(1.0, abs=1e-6)
    assert agreeing >= 0.9


def _cut_ring(runs: int, n: int = 40, dataset: str = "ring") -> list[Fingerprint]:
    """Fingerprints of idealised 1-D ring learners: the angle cut at a random place."""
    theta = 2 * np.pi * np.arange(n) / n
    cuts = np.random.default_rng(0).uniform(0, 2 * np.pi, runs)
    return [
        Fingerprint(
            mu=((theta - cut) % (2 * np.pi))[:, None].astype(np.float32),
            logvar=np.full((n, 1), 2 * math.log(0.2), np.float32),
            probe_index=np.arange(n, dtype=np.int64) * 10,
            factors=(np.arange(n) * 4 // n)[:, None],
            meta={
                "run_id": f"r{k}",
                "probe_digest": "d" * 64,
                "factor_names": ["angle"],
                "dataset": dataset,
            },
        )
        for k, cut in enumerate(cuts)
    ]


def test_fusion_analysis_files_figures_and_hotspot_fusion(tmp_path: Path) -> None:
    runs = _cut_ring(6)
    options = FusionOptions(sizes=(2, 10), repeats=2, objectives=("exp_neg_vi",), steps=60)
    result = fuse_ensemble(runs, options, device="cpu")
    assert result.closed and list(result.sizes) == [2, 6]  # 10 > 6 runs: the whole sweep
    assert result.continuity.shape == result.information.shape == (1, 2, 2)
    assert (result.subsets[1] == np.arange(6)).all() and (result.subsets[0, :, 2:] == -1).all()
    assert (result.n_members == [[2, 2], [6, 6]]).all()
    assert result.fused["exp_neg_vi"].mu.shape == (40, 2)
    assert len(result.member_continuity) == 6
    section = fusion_summary(result)
    assert section["sizes"] == [2, 6] and section["closed"] is True
    np.testing.assert_allclose(
        section["median_continuity"]["exp_neg_vi"],
        np.median(result.continuity[0], axis=1),
        atol=1e-4,
    )
    table = table_text(continuity_table(result)).splitlines()  # title, header, rule, rows
    assert table[0].startswith("fusion continuity")
    assert table[1].split()[1:3] == ["2", "6"] and table[3].startswith("exp_neg_vi")
    assert "one run alone" in table[4]
    rows = fusion_rows(result)
    assert len(rows) == 4 and all(len(row) == len(FUSION_COLUMNS) for row in rows)
    with np.load(write_fusion(tmp_path, result), allow_pickle=False) as npz:
        assert list(npz["objectives"]) == ["exp_neg_vi"] and bool(npz["closed"])
        np.testing.assert_array_equal(npz["continuity"], result.continuity)
        assert npz["logvar_exp_neg_vi"].shape == (40, 2)
    fused_space_figure(result, factor="angle").savefig(tmp_path / "fused.png")
    continuity_figure(result).savefig(tmp_path / "continuity.png")
    line = fuse_ensemble(
        runs, FusionOptions(sizes=(3,), repeats=1, objectives=("nmi",), dim=1, steps=20)
    )
    fused_space_figure(line).savefig(tmp_path / "fused_1d.png")
    one = FusionOptions(sizes=(2,), repeats=1, objectives=("nmi",), steps=5)
    assert not fuse_ensemble(_cut_ring(3, dataset="sprites"), one).closed
    assert fuse_ensemble(_cut_ring(3, dataset="sprites"), replace(one, closed=True)).closed

    hotspot = fuse_channels(runs, [("r0", 0), ("r3", 0), ("r5", 0)], steps=60, device="cpu")
    assert hotspot.mu.shape == (40, 2) and hotspot.similarity.shape == (3,)
    with pytest.raises(ValueError, match="no fingerprint with run id 'r9'"):
        fuse_channels(runs, [("r9", 0)])
    with pytest.raises(ValueError, match="channels 0..0"):
        fuse_channels(runs, [("r1", 1)])
    with pytest.raises(ValueError, match="fusion.objectives"):
        FusionOptions(objectives=("kl",))
