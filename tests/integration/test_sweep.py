"""The whole path as a user runs it: `train.py -m` sweep, then `analyze.py` on its dir."""

import base64
import csv
import json
import shutil
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from omegaconf import open_dict

from infoprint.analysis.decoding import traversals
from infoprint.analysis.hotspot_traversals import load_decoder
from infoprint.fingerprint.record import Fingerprint
from infoprint.tasks.analyze import analyze
from support import TINY_TRAIN, compose_config, run_script

pytestmark = pytest.mark.slow


def slow_information(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """Independent per-channel reference: Bhattacharyya coefficients by explicit formula.

    Returns C [d, N, N] for diagonal Gaussians (Murphy et al. 2025, Sec. 3).
    """
    m1, m2 = mu[:, None, :], mu[None, :, :]
    v1, v2 = np.exp(logvar)[:, None, :], np.exp(logvar)[None, :, :]
    v = 0.5 * (v1 + v2)
    d = 0.125 * (m1 - m2) ** 2 / v + 0.5 * (np.log(v) - 0.5 * (np.log(v1) + np.log(v2)))
    return np.exp(-d).transpose(2, 0, 1)


def slow_nmi_vi(ca: np.ndarray, cb: np.ndarray) -> tuple[float, float]:
    def bits(c):
        return -np.mean(np.log2(c.mean(axis=1)))

    ia, ib, iab = bits(ca), bits(cb), bits(ca * cb)
    iaa, ibb = bits(ca * ca), bits(cb * cb)
    nmi = (ia + ib - iab) / np.sqrt((2 * ia - iaa) * (2 * ib - ibb))
    return nmi, 2 * iab - iaa - ibb


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Three good jobs and three that fail with a NaN loss (learning rate 1e30)."""
    cwd = tmp_path_factory.mktemp("user")
    args = ["-m", *TINY_TRAIN, "trainer.max_steps=150", "sweep_name=it", "callbacks=checkpoint"]
    args += ["optim.lr=3e-3,1e30", "seed=0,1,2"]
    result = run_script("train.py", args, cwd)
    assert result.returncode != 0, "Hydra reports the failed jobs at the end of the sweep"
    assert "NonFiniteLossError" in result.stderr
    options = ["whole_space.enabled=true", "whole_space.n_samples=300"]
    options += ["fusion.enabled=true", "fusion.repeats=1", "fusion.optimizer=rmsprop"]
    options += ["fusion.steps=30", "fusion.objectives=[exp_neg_vi,nmi]"]
    analysis = run_script(
        "analyze.py", ["source.path=multirun/it", "hydra.run.dir=out", *options], cwd
    )
    assert analysis.returncode == 0, analysis.stderr[-3000:]
    return cwd, analysis.stdout


def test_every_job_is_its_own_directory_and_wandb_run(sweep):
    cwd, _ = sweep
    sweep_dir = cwd / "multirun" / "it"
    jobs = sorted(int(p.name) for p in sweep_dir.iterdir() if p.name.isdigit())
    assert jobs == [0, 1, 2, 3, 4, 5]
    run_ids = set()
    for job in range(6):
        job_dir = sweep_dir / str(job)
        (run_dir,) = (job_dir / "wandb").glob("offline-run-*")
        if job < 3:
            fp = Fingerprint.load(job_dir)
            assert fp.meta["job_num"] == job and fp.meta["sweep"] == "it"
            assert run_dir.name.endswith(fp.run_id)
            records = next(run_dir.glob("run-*.wandb")).read_bytes()
            assert f"fingerprint-{fp.run_id}".encode() in records
            run_ids.add(fp.run_id)
        else:
            assert "NonFiniteLossError" in (job_dir / "error.txt").read_text()
    assert len(run_ids) == 3


def test_analysis_outputs(sweep):
    cwd, stdout = sweep
    out = cwd / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_runs"] == 3 and summary["sweep"] == "it"
    assert [Path(s["run"]).name for s in summary["skipped"]] == ["3", "4", "5"]
    assert all("NonFiniteLossError" in s["reason"] for s in summary["skipped"])
    assert "skipped 3 runs" in stdout and "best factor" in stdout

    results = np.load(out / "results.npz", allow_pickle=False)
    m = len(results["channels"])
    assert m > 0 and results["nmi"].shape == (m, m) == results["vi"].shape
    assert results["factor_nmi"].shape == (m, 5)
    for key in ("information", "nmi", "vi", "factor_nmi"):
        assert np.isfinite(results[key]).all(), key
    np.testing.assert_allclose(results["nmi"], results["nmi"].T, atol=1e-6)
    np.testing.assert_allclose(np.diag(results["nmi"]), 1.0, atol=1e-4)
    assert (results["information"] >= 0.01).all()
    for measure in ("nmi", "vi"):
        assert sorted(results[f"{measure}_ordering"]) == list(range(m))
        assert (out / f"structure_{measure}.png").stat().st_size > 10_000

    with (out / "hotspots.csv").open() as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        members = row["members"].split(";")
        assert len(members) == int(row["size"])
        assert row["best_factor"] in summary["factor_names"]
        assert 0 <= float(row["best_factor_nmi"]) <= 1
    (analysis_run,) = (out / "wandb").glob("offline-run-*")
    assert analysis_run.is_dir()


def test_results_agree_with_an_independent_recomputation(sweep):
    cwd, _ = sweep
    results = np.load(cwd / "out" / "results.npz", allow_pickle=False)
    fingerprints = {
        fp.run_id: fp for fp in (Fingerprint.load(cwd / "multirun/it" / str(j)) for j in range(3))
    }
    coefficients = {rid: slow_information(fp.mu, fp.logvar) for rid, fp in fingerprints.items()}
    rng = np.random.default_rng(0)
    m = len(results["channels"])
    for a, b in rng.integers(0, m, size=(12, 2)):
        ca = coefficients[str(results["run_ids"][a])][results["channels"][a]]
        cb = coefficients[str(results["run_ids"][b])][results["channels"][b]]
        nmi, vi = slow_nmi_vi(ca.astype(np.float64), cb.astype(np.float64))
        assert results["nmi"][a, b] == pytest.approx(nmi, abs=1e-4)
        assert results["vi"][a, b] == pytest.approx(vi, abs=1e-3)


def test_whole_space_comparison_of_runs(sweep):
    cwd, _ = sweep
    result = np.load(cwd / "out" / "whole_space.npz", allow_pickle=False)
    assert result["nmi"].shape == (3, 3) and result["vi_se"].shape == (3, 3)
    np.testing.assert_allclose(np.diag(result["nmi"]), 1.0)
    assert (result["information"] > 0).all() and (result["information_se"] > 0).all()


def test_fusion_of_the_sweep(sweep):
    cwd, stdout = sweep
    fusion = np.load(cwd / "out" / "fusion.npz", allow_pickle=False)
    assert list(fusion["objectives"]) == ["exp_neg_vi", "nmi"]
    assert list(fusion["sizes"]) == [2, 3]  # sizes=auto: 2, then the whole 3-run sweep
    assert np.isfinite(fusion["continuity"]).all()
    section = json.loads((cwd / "out" / "summary.json").read_text())["fusion"]
    assert section["sizes"] == [2, 3] and section["repeats"] == 1
    table = stdout[stdout.index("fusion continuity") :].splitlines()
    for o, objective in enumerate(["exp_neg_vi", "nmi"]):
        median = section["median_continuity"][objective]
        np.testing.assert_allclose(median, fusion["continuity"][o, :, 0], atol=1e-4)
        row = next(line for line in table if line.startswith(objective))
        np.testing.assert_allclose([float(v) for v in row.split()[1:]], median, atol=0.006)
    for name in ("fusion_space.png", "fusion_continuity.png"):
        assert (cwd / "out" / name).stat().st_size > 5_000


def test_hotspot_traversals_and_report(sweep):
    cwd, _ = sweep
    out = cwd / "out"
    summary = json.loads((out / "summary.json").read_text())
    nmi_hotspots = [h for h in summary["hotspots"] if h["measure"] == "nmi"]
    assert nmi_hotspots and summary["traversals"]["missing"] == []
    for h in nmi_hotspots:
        image = plt.imread(out / f"traversal_nmi_{h['hotspot']}.png")
        assert image.shape[0] > 50
    report = (out / "report.html").read_text()
    for key, path in summary["files"].items():
        if str(path).endswith(".png"):
            data = base64.b64encode((out / path).read_bytes()).decode()
            assert data in report, key
    assert "Skipped runs (3)" in report and "NonFiniteLossError" in report
    first = summary["hotspots"][0]  # table cells at 4 significant digits
    assert f"<td>{first['mean_information']:.4g}</td>" in report


def test_every_nmi_hotspot_is_fused_into_one_channel(sweep):
    cwd, stdout = sweep
    summary = json.loads((cwd / "out" / "summary.json").read_text())
    nmi_hotspots = [h for h in summary["hotspots"] if h["measure"] == "nmi"]
    with (cwd / "out" / "hotspot_fusion.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["hotspot"]) for r in rows] == [h["hotspot"] for h in nmi_hotspots]
    for row, h in zip(rows, nmi_hotspots, strict=True):
        assert row["best_factor"] == h["best_factor"]
        assert float(row["member_nmi"]) == pytest.approx(h["best_factor_nmi"], abs=1e-6)
        assert 0.0 < float(row["fused_bits"]) and np.isfinite(float(row["fused_nmi"]))
    section = summary["hotspot_fusion"]
    assert [(r["hotspot"], r["best_factor"]) for r in section] == [
        (int(r["hotspot"]), r["best_factor"]) for r in rows
    ]
    np.testing.assert_allclose(
        [r["fused_nmi"] for r in section], [float(r["fused_nmi"]) for r in rows], atol=1e-6
    )
    assert "fused hotspot" in stdout


def test_decoder_rebuilt_from_a_job_dir_moves_along_its_channel(sweep):
    cwd, _ = sweep
    job = cwd / "multirun" / "it" / "0"
    fp = Fingerprint.load(job)
    decode = load_decoder(job)
    channel = int(np.argmax(fp.meta["information_bits"]))
    values = torch.linspace(float(fp.mu[:, channel].min()), float(fp.mu[:, channel].max()), 5)
    images = traversals(decode, torch.from_numpy(fp.mu[0]), [channel], values)[0]
    assert images.shape == (5, 1, 32, 32)
    assert np.abs(images[0] - images[-1]).mean() > 1e-3


def test_job_folders_copied_without_hydra_still_analyse_with_traversals(sweep, tmp_path):
    cwd, _ = sweep
    for job in range(3):
        copy = shutil.copytree(cwd / "multirun" / "it" / str(job), tmp_path / "copy" / str(job))
        shutil.rmtree(copy / ".hydra")
    options = ["logger=none", "hotspot_fusion.enabled=false", f"source.path={tmp_path / 'copy'}"]
    cfg = compose_config("analyze", options)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
    summary = analyze(cfg)
    assert summary["failed_steps"] == [] and summary["traversals"]["missing"] == []
    assert summary["traversals"]["made"]
    assert (tmp_path / "out" / "traversals.png").is_file()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_report_renders_in_headless_chromium(sweep, tmp_path):
    cwd, _ = sweep
    report = (cwd / "out" / "report.html").resolve()
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    subprocess.run(
        ["chromium", *flags, f"--screenshot={shot}", "--window-size=1200,2400", report.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = plt.imread(shot)
    assert image.shape[:2] == (2400, 1200)
    assert image[..., :3].std() > 0.05  # text, tables and figures, not a blank page
