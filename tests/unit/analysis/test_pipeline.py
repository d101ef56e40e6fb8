"""The analysis as steps: options refused before any work, failures isolated and reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import open_dict

import infoprint.pipeline.steps as steps
from infoprint.analysis.options import AnalysisOptions
from infoprint.errors import ConfigError
from infoprint.tasks.analyze import analyze
from support import compose_config, factor_fingerprint, run_script

N, RUNS = 120, 4


def _sweep(directory: Path) -> Path:
    """Four runs of 4×4 px 'images' whose two channels are the same two factors, noisily."""
    rng = np.random.default_rng(0)
    a, b = np.arange(N) % 6, (np.arange(N) // 6) % 3
    for r in range(RUNS):
        meta = {"run_id": f"r{r}", "job_num": r, "sweep": "synthetic"}
        fp = factor_fingerprint(a, b, rng, **meta, observation_shape=[1, 4, 4])
        fp.save(directory / str(r))
    return directory


def _analyse(tmp_path: Path, *overrides: str) -> dict:
    cfg = compose_config(
        "analyze",
        [
            f"source.path={_sweep(tmp_path / 'sweep')}",
            "logger=none",
            "hotspot_fusion.enabled=false",
            "device=cpu",
            *overrides,
        ],
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
    return analyze(cfg)


class _WritesAFile:
    """Unpickling this would create ``path``: what a malicious checkpoint does."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_bad_option_is_refused_before_any_work_and_leaves_no_folder(tmp_path: Path) -> None:
    result = run_script("analyze.py", ["hotspot_fusion.lr=0", "hydra.run.dir=out"], tmp_path)
    assert result.returncode != 0
    assert "hotspot_fusion.lr must be > 0; got 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("hotspot_fusion.lr=0", "hotspot_fusion.lr must be > 0; got 0"),
        ("traversals.measure=cka", "traversals.measure must be one of ['nmi', 'vi']"),
        ("clustering.measures=[nmi,cka]", "clustering.measures must be a non-empty subset"),
        ("clustering.min_samples=1", "clustering.min_samples must be 'auto' or an integer >= 2"),
        ("whole_space.n_samples=0", "whole_space.n_samples must be an integer >= 1"),
        ("dtype=float16", "dtype must be one of ['float32', 'float64']"),
        ("information_threshold=-1", "information_threshold must be a number >= 0"),
        ("logger.mode=loud", "logger.mode must be one of"),
        ("+fusion.typo=1", "fusion: unknown option(s) ['fusion.typo']"),
    ],
)
def test_each_bad_option_names_its_key(override: str, message: str) -> None:
    cfg = compose_config("analyze", [override])
    with pytest.raises(ConfigError) as raised:
        AnalysisOptions.from_config(cfg)
    assert message in str(raised.value)


def test_disabled_steps_have_no_options_and_defaults_are_valid() -> None:
    options = AnalysisOptions.from_config(compose_config("analyze", ["fusion.enabled=false"]))
    assert options.fusion is None and options.whole_space is None
    assert options.traversals is not None and options.hotspot_fusion is not None
    assert options.memory_budget == 512 * 2**20 and options.torch_dtype == torch.float32


def test_a_malicious_checkpoint_is_refused_and_the_analysis_completes(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    sweep = _sweep(tmp_path / "sweep")
    for job in sweep.iterdir():
        torch.save({"state_dict": _WritesAFile(marker)}, job / "last.ckpt")
    summary = _analyse(tmp_path)
    out = tmp_path / "out"
    assert not marker.exists()  # refused, never unpickled
    assert (out / "summary.json").is_file() and (out / "report.html").is_file()
    on_disk = json.loads((out / "summary.json").read_text())
    failed = on_disk["failed_steps"]
    assert failed and failed == summary["failed_steps"]
    assert all(f["step"] == "traversals" and f["error"] == "TraversalUnavailable" for f in failed)
    checkpoints = {str(job / "last.ckpt") for job in sweep.iterdir()}
    assert all(f["file"] in checkpoints and f["file"] in f["message"] for f in failed)
    assert len(on_disk["traversals"]["missing"]) == len(failed)
    report = (out / "report.html").read_text().replace("<wbr>", "")  # line-break hints
    assert f"Failed steps ({len(failed)})" in report and failed[0]["file"] in report
    assert (out / "hotspots.csv").is_file() and on_disk["hotspots"]


def test_an_optional_step_that_raises_is_recorded_and_the_rest_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("Monte Carlo went wrong")

    monkeypatch.setattr(steps, "compare_whole_spaces", broken)
    summary = _analyse(tmp_path, "whole_space.enabled=true", "traversals.enabled=false")
    assert summary["failed_steps"] == [
        {
            "step": "whole_space",
            "error": "RuntimeError",
            "message": "Monte Carlo went wrong",
            "file": None,
            "item": None,
        }
    ]
    assert "whole_space" not in summary and "run_metrics" in summary
    out = tmp_path / "out"
    assert summary["files"]["report"] == out / "report.html"
    assert "Monte Carlo went wrong" in (out / "report.html").read_text()
    assert (out / "structure_nmi.png").is_file()


def test_report_tables_scroll_keep_numbers_whole_and_figures_have_captions(tmp_path: Path) -> None:
    summary = _analyse(tmp_path, "traversals.enabled=false")
    report = (tmp_path / "out" / "report.html").read_text()
    assert "overflow-x: auto" in report and "white-space: nowrap" in report
    assert report.count('<div class="scroll') == report.count("<table>")
    figures = [k for k, path in summary["files"].items() if str(path).endswith(".png")]
    assert figures and report.count("<figcaption>") == len(figures)
    assert "<figcaption>structure_nmi.png</figcaption>" not in report  # a caption, not a name
    first = summary["hotspots"][0]
    assert f"<td>{first['mean_information']:.4g}</td>" in report
