"""Studies (issue 12): runs split into ensembles by their keys, each analysed on its own,
then compared (study.csv, hotspot links), on fingerprints with known structure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.ensembles import split_ensembles
from infoprint.errors import ConfigError
from infoprint.fingerprint.record import Fingerprint
from infoprint.tasks.analyze import NoFingerprintsError, analyze
from support import compose_config

N = 72
FACTORS = np.stack(np.meshgrid(np.arange(6), np.arange(12), indexing="ij"), -1).reshape(-1, 2)


def run(
    run_id: str, beta: float, seed: int, learned: tuple[int, ...], digest: str = "d"
) -> Fingerprint:
    """A run whose channels encode the given factors (plus one noise channel)."""
    rng = np.random.default_rng(seed + 100 * int(beta))
    columns = [FACTORS[:, k] * 1.5 + rng.normal(0, 0.05, N) for k in learned]
    while len(columns) < 3:  # noise channels fill the latent space (latent_dim 3 throughout)
        columns.append(rng.normal(0, 0.01, N))  # no information: dropped by the threshold
    mu = np.stack(columns, axis=1).astype(np.float32)
    logvar = np.full_like(mu, -3.0)
    logvar[:, len(learned) :] = 0.0
    return Fingerprint(
        mu=mu,
        logvar=logvar,
        probe_index=np.arange(N),
        factors=FACTORS.astype(np.int64),
        meta={
            "run_id": run_id,
            "probe_digest": digest * 64,
            "factor_names": ["posX", "posY"],
            "model": "beta_vae",
            "hyperparameters": {"beta": beta},
            "seed": seed,
            "dataset": "toy",
            "sweep": "s",
            "job_num": seed,
            "latent_dim": mu.shape[1],
            "information_bits": [1.0] * mu.shape[1],
        },
    )


def write_study(root: Path) -> None:
    job = 0
    for beta, learned in ((1.0, (0, 1)), (4.0, (0, 1)), (16.0, (0,))):
        for seed in range(4):
            run(f"r{beta:g}-{seed}", beta, seed, learned).save(root / str(job))
            job += 1
    run("lonely", 8.0, 0, (0,)).save(root / str(job))


def study_cfg(source: Path, out: Path, *overrides: str):
    cfg = compose_config("analyze", [f"source.path={source}", "logger=none", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    return cfg


def test_a_study_analyses_each_ensemble_and_compares_them(tmp_path):
    write_study(tmp_path / "runs")
    found = analyze(
        study_cfg(
            tmp_path / "runs",
            tmp_path / "out",
            "traversals.enabled=false",
            "hotspot_fusion.enabled=false",
        )
    )
    names = list(found["ensembles"])
    assert names == ["beta_vae-beta=1", "beta_vae-beta=4", "beta_vae-beta=8", "beta_vae-beta=16"]
    assert found["ensembles"]["beta_vae-beta=8"]["note"] == "one run: no clustering"
    out = tmp_path / "out"
    for name, learned in (("beta_vae-beta=1", 2), ("beta_vae-beta=16", 1)):
        folder = out / "ensembles" / name
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["n_runs"] == 4 and (folder / "report.html").is_file()
        # the per-ensemble NMI equals an independent recomputation on that ensemble alone
        runs = [Fingerprint.load(tmp_path / "runs" / str(j)) for j in range(12)]
        mine = [
            fp for fp in runs if fp.meta["hyperparameters"]["beta"] == float(name.split("=")[1])
        ]
        expected = ensemble_structure(mine, device="cpu")
        with np.load(folder / "results.npz") as saved:
            np.testing.assert_allclose(saved["nmi"], expected.nmi, atol=1e-6)
        nmi_hotspots = [h for h in summary["hotspots"] if h["measure"] == "nmi"]
        assert sorted(h["best_factor"] for h in nmi_hotspots) == ["posX", "posY"][:learned]
    with (out / "study.csv").open() as f:
        rows = {r["ensemble"]: r for r in csv.DictReader(f)}
    assert int(rows["beta_vae-beta=1"]["nmi_hotspots"]) == 2
    assert int(rows["beta_vae-beta=16"]["nmi_hotspots"]) == 1
    assert float(rows["beta_vae-beta=16"]["best_hotspot_nmi_posX"]) > 0.8
    assert rows["beta_vae-beta=8"]["note"] == "one run: no clustering"
    with (out / "hotspot_links.csv").open() as f:
        links = list(csv.DictReader(f))
    best = max(
        float(r["nmi"])
        for r in links
        if r["ensemble_a"] == "beta_vae-beta=1" and r["ensemble_b"] == "beta_vae-beta=16"
    )
    assert best > 0.8  # posX persists from β = 1 to β = 16
    for name in ("study.html", "study_structure.png", "study_trends.png", "hotspot_links.png"):
        assert (out / name).is_file(), name
    assert "ensembles/beta_vae-beta=1/report.html" in (out / "study.html").read_text()


def test_a_study_step_that_fails_is_listed_and_the_study_completes(tmp_path, monkeypatch):
    """The study runs on the step pipeline: a failing output step (the links figure) and a
    failing ensemble are recorded; summary.json and study.html are written and list them."""
    from infoprint.pipeline import ensemble, study_steps

    def broken(*args, **kwargs):
        raise RuntimeError("figure backend gone")

    monkeypatch.setattr(study_steps, "hotspot_links_figure", broken)
    real = ensemble.ensemble_context

    def failing_for_beta_16(inputs, out, fingerprints, progress):
        if fingerprints[0].meta["hyperparameters"]["beta"] == 16.0:
            raise ValueError("ensemble core failed")
        return real(inputs, out, fingerprints, progress)

    monkeypatch.setattr(study_steps, "ensemble_context", failing_for_beta_16)
    write_study(tmp_path / "runs")
    cfg = study_cfg(tmp_path / "runs", tmp_path / "out", "traversals.enabled=false")
    found = analyze(cfg)
    failed = {(f["step"], f["item"]): f for f in found["failed_steps"]}
    assert failed[("links", None)]["message"] == "figure backend gone"
    assert failed[("ensembles", "beta_vae-beta=16")]["error"] == "ValueError"
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["failed_steps"]) == 2
    assert summary["ensembles"]["beta_vae-beta=16"]["note"] == "failed: ValueError"
    page = (out / "study.html").read_text()
    assert "Failed steps (2)" in page and "figure backend gone" in page
    assert (out / "study.csv").is_file() and (out / "study_structure.png").is_file()
    assert not (out / "hotspot_links.png").exists()


def test_a_single_ensemble_keeps_todays_layout(tmp_path):
    for seed in range(3):
        run(f"r{seed}", 4.0, seed, (0, 1)).save(tmp_path / "runs" / str(seed))
    found = analyze(study_cfg(tmp_path / "runs", tmp_path / "out", "traversals.enabled=false"))
    assert found["n_runs"] == 3 and "ensembles" not in found
    assert (tmp_path / "out" / "report.html").is_file()
    assert not (tmp_path / "out" / "ensembles").exists()


def test_grouping_keys_errors_and_probe_sets(tmp_path):
    runs = [run("a", 1.0, 0, (0,)), run("b", 4.0, 1, (0,)), run("c", 4.0, 2, (0,), digest="e")]
    ensembles, notes = split_ensembles(runs, "auto")
    assert [e.name for e in ensembles] == [
        "beta_vae-beta=1-probe=dddddddd",
        "beta_vae-beta=4-probe=dddddddd",
        "beta_vae-beta=4-probe=eeeeeeee",
    ]
    assert "probe sets" in notes[0]
    with pytest.raises(ConfigError, match=r"unknown keys \['gamma'\].*'beta'"):
        split_ensembles(runs, ["gamma"])
    del runs[1].meta["hyperparameters"]["beta"]
    with pytest.raises(ConfigError, match="run b .* has no key 'beta'"):
        split_ensembles(runs, ["beta"])


def test_no_usable_run_lists_what_was_skipped(tmp_path):
    (tmp_path / "runs" / "0").mkdir(parents=True)
    (tmp_path / "runs" / "0" / "error.txt").write_text("Traceback\nRuntimeError: boom\n")
    with pytest.raises(NoFingerprintsError, match="RuntimeError: boom"):
        analyze(study_cfg(tmp_path / "runs", tmp_path / "out"))


def test_baselines_next_to_nmi_in_an_ensemble_and_in_a_study(tmp_path):
    """baselines.enabled=true (issue 15, item 3): run x run matrices, rank agreement with the
    whole-space NMI, UDR per run; in a study, one column per measure in study.csv."""
    from infoprint.info.baselines_kernel import linear_cka

    write_study(tmp_path / "runs")
    found = analyze(
        study_cfg(
            tmp_path / "runs",
            tmp_path / "out",
            "traversals.enabled=false",
            "hotspot_fusion.enabled=false",
            "training.enabled=false",
            "baselines.enabled=true",
            "baselines.n_samples=200",
        )
    )
    folder = tmp_path / "out" / "ensembles" / "beta_vae-beta=1"
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["baselines"]["rho_with_nmi"]) == {
        "cka_linear",
        "cka_bhattacharyya",
        "rsa",
        "udr_spearman",
        "udr_lasso",
    }
    with np.load(folder / "baselines.npz") as saved:
        runs = [Fingerprint.load(tmp_path / "runs" / str(j)) for j in range(2)]
        assert saved["cka_linear"][0, 1] == pytest.approx(linear_cka(runs[0].mu, runs[1].mu))
        np.testing.assert_allclose(np.diag(saved["cka_linear"]), 1.0)
    with (folder / "udr.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 4
    with (tmp_path / "out" / "study.csv").open() as f:
        row = next(csv.DictReader(f))
    assert 0 < float(row["baseline_cka_linear"]) <= 1 and "baseline_nmi" in row
    assert found["ensembles"]
