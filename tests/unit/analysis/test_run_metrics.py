"""Per-run metrics joined with the channel structure, on an ensemble with a known answer."""

import csv
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict
from scipy.stats import spearmanr

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.hotspots import Clustering, cluster
from infoprint.analysis.run_metrics import (
    RUN_METRICS_FILE,
    run_metrics_table,
    spearman,
    spearman_correlations,
    write_run_metrics,
)
from infoprint.fingerprint.record import Fingerprint
from infoprint.run.directory import RunDirectory
from infoprint.tasks.analyze import analyze
from support import compose_config

N = 120  # every (a, b) pair 3 times: a has exactly 3 bits, b log2 5
HOTSPOT_CHANNELS = [2, 2, 2, 2, 1, 1]  # runs 0-3 learn factors a and b, runs 4-5 only a


def ensemble(scored: int = 5) -> list[Fingerprint]:
    """Six runs; ch0 encodes a (8 classes), ch1 encodes b (5 classes) in runs 0-3 and
    nothing in runs 4-5; ch2 carries nothing. The first ``scored`` runs have metrics:
    MIG rises with the hotspot channels, Hoyer falls, FactorVAE is constant, SAP is null
    in run 1."""
    rng = np.random.default_rng(0)
    factors = np.stack([np.arange(N) % 8, (np.arange(N) // 8) % 5], axis=1)
    runs = []
    for r in range(6):
        learns_b = r < 4
        mu = np.stack(
            [
                rng.choice([-2.0, 2.0]) * factors[:, 0] + 0.05 * rng.normal(size=N),
                (-1.5 * factors[:, 1] if learns_b else 0.0) + 0.05 * rng.normal(size=N),
                0.01 * rng.normal(size=N),
            ],
            axis=1,
        )
        logvar = np.stack(
            [np.full(N, -4.0), np.full(N, -4.0 if learns_b else 0.0), np.zeros(N)], axis=1
        )
        meta = {"run_id": f"run{r}", "job_num": r, "sweep": "s", "seed": r, "model": "beta_vae",
                "hyperparameters": {"beta": float(1 + r)}, "probe_digest": "x" * 64,
                "factor_names": ["a", "b"]}  # fmt: skip
        if r < scored:
            meta["metrics"] = {
                "mig": 0.25 * HOTSPOT_CHANNELS[r],
                "mig/a": 0.1 * r,
                "hoyer": 1.0 - 0.1 * r,
                "factor_vae": 0.5,
                "sap": None if r == 1 else 0.1 * r,
            }
        runs.append(
            Fingerprint(
                mu=mu.astype(np.float32),
                logvar=logvar.astype(np.float32),
                probe_index=np.arange(N),
                factors=factors,
                meta=meta,
            )
        )
    return runs


@pytest.fixture(scope="module")
def analysed():
    """The ensemble, its structure, OPTICS on NMI and a hand-made "vi" clustering."""
    fingerprints = ensemble()
    structure = ensemble_structure(fingerprints, threshold=0.01, dtype=torch.float64)
    # The hand-made clustering leaves run0's b channel and all of run 3 out as noise.
    labels = np.where(structure.channels == 0, 0, 1)
    labels[(structure.run_ids == "run0") & (structure.channels == 1)] = -1
    labels[structure.run_ids == "run3"] = -1
    hand = Clustering("vi", 2, np.arange(len(labels)), np.zeros(len(labels)), labels)
    return fingerprints, structure, [cluster(structure, "nmi"), hand]


@pytest.fixture(scope="module")
def joined(analysed):
    return run_metrics_table(*analysed)


def column(table, name):
    return [row[table.columns.index(name)] for row in table.rows]


def test_table_joins_runs_with_metrics_and_their_structure(joined):
    table = joined
    assert column(table, "run_id") == ["run0", "run1", "run2", "run3", "run4"]  # run5: none
    assert column(table, "job_num") == [0, 1, 2, 3, 4]
    assert column(table, "hparam/beta") == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert table.structure_columns == [
        "active_channels",
        "total_information_bits",
        "hotspot_channels_nmi",
        "hotspot_channels_vi",
    ]
    assert column(table, "hotspot_channels_nmi") == HOTSPOT_CHANNELS[:5]
    assert column(table, "hotspot_channels_vi") == [1, 2, 2, 0, 1]
    assert column(table, "active_channels") == HOTSPOT_CHANNELS[:5]
    # 3 bits for factor a (8 equal classes) plus log2 5 bits for b where it is learned
    expected = [3 + np.log2(5) if n == 2 else 3.0 for n in HOTSPOT_CHANNELS[:5]]
    np.testing.assert_allclose(column(table, "total_information_bits"), expected, atol=0.15)
    assert table.metric_columns == ["factor_vae", "hoyer", "mig", "mig/a", "sap"]
    assert table.headline_metrics == ["factor_vae", "hoyer", "mig", "sap"]
    assert column(table, "sap")[1] is None
    assert column(table, "mig") == [0.5, 0.5, 0.5, 0.5, 0.25]


def test_spearman_correlations_with_known_answers(joined):
    rho = spearman_correlations(joined)
    # Exact permutation p: 1 of the 5 distinct pairings reaches ρ = 1, two-sided 2/5.
    exact = rho["mig"]["hotspot_channels_nmi"]
    assert exact == {"rho": pytest.approx(1.0), "p": pytest.approx(0.4), "n": 5}
    assert rho["mig"]["active_channels"]["rho"] == pytest.approx(1.0)
    # Hoyer falls with the run index, hence with total information (higher in runs 0-3).
    assert rho["hoyer"]["total_information_bits"]["rho"] > 0.5
    assert rho["factor_vae"]["hotspot_channels_nmi"] == {"rho": None, "p": None, "n": 5}
    assert rho["sap"]["hotspot_channels_nmi"]["n"] == 4  # run1's SAP is null
    assert "mig/a" not in rho


def test_spearman_agrees_with_scipy_and_exact_small_sample_p_values():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, size=40).astype(float)  # with ties
    y = x + rng.normal(scale=10.0, size=40)
    rho, p = spearman(x, y)
    reference = spearmanr(x, y)  # t approximation: close for 40 runs
    assert rho == pytest.approx(reference.statistic, abs=1e-12)
    assert p == pytest.approx(reference.pvalue, abs=0.01) and 0.05 < p < 0.2
    # 3 runs in the same order: 1 of 3! pairings, two-sided p = 1/3 (the t test says 0)
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.5, 0.7])) == (
        pytest.approx(1.0),
        pytest.approx(1 / 3),
    )


def test_runs_without_metrics_give_an_empty_table(analysed, tmp_path):
    fingerprints, structure, clusterings = analysed
    unscored = [replace(fp, meta={k: v for k, v in fp.meta.items() if k != "metrics"})
                for fp in fingerprints]  # fmt: skip
    table = run_metrics_table(unscored, structure, clusterings)
    assert table.rows == [] and table.metric_columns == []
    assert spearman_correlations(table) == {}
    write_run_metrics(tmp_path, table)
    assert (tmp_path / RUN_METRICS_FILE).read_text().startswith("run_id,sweep,job_num")


def test_recorded_metrics_round_trip_through_run_json(analysed, tmp_path):
    fingerprints, structure, clusterings = analysed
    fingerprints[5].save(tmp_path)
    RunDirectory(tmp_path).record_metrics({"mig": 0.75, "sap": float("nan"), "hoyer": float("inf")})
    assert '"sap": null' in (tmp_path / "run.json").read_text()
    loaded = Fingerprint.load(tmp_path)
    assert loaded.meta["metrics"] == {"hoyer": None, "mig": 0.75, "sap": None}
    np.testing.assert_array_equal(loaded.mu, fingerprints[5].mu)
    table = run_metrics_table([*fingerprints[:5], loaded], structure, clusterings)
    assert column(table, "run_id")[-1] == "run5"
    assert column(table, "mig")[-1] == 0.75 and column(table, "sap")[-1] is None


def test_run_metrics_csv(joined, tmp_path):
    with write_run_metrics(tmp_path, joined).open() as f:
        rows = list(csv.DictReader(f))
    assert [r["run_id"] for r in rows] == ["run0", "run1", "run2", "run3", "run4"]
    assert rows[1]["sap"] == "" and float(rows[2]["sap"]) == pytest.approx(0.2)
    assert rows[4]["hotspot_channels_nmi"] == "1"


def test_analyze_writes_table_figure_correlations_and_wandb_table(tmp_path):
    for fp in ensemble():
        fp.save(tmp_path / "sweep" / str(fp.meta["job_num"]))
    cfg = compose_config("analyze", [f"source.path={tmp_path / 'sweep'}"])
    GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
    summary = analyze(cfg)
    out = Path(cfg.paths.output_dir)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["run_metrics"]["n_runs"] == summary["run_metrics"]["n_runs"] == 5
    assert on_disk["run_metrics"]["spearman"]["mig"]["hotspot_channels_nmi"]["rho"] == 1.0
    assert on_disk["files"]["run_metrics"] == RUN_METRICS_FILE  # relative: the folder moves
    assert (out / "metrics_vs_structure.png").stat().st_size > 10_000
    assert len((out / RUN_METRICS_FILE).read_text().splitlines()) == 6
    (records,) = out.glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + 30  # W&B's writer may still be flushing the finished run
    while b"run_metrics" not in records.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert b"run_metrics" in records.read_bytes()
