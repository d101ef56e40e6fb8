"""A user's mistake gets its one-line message, before anything is written."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from infoprint.analysis.checks import number
from infoprint.errors import ConfigError
from infoprint.tasks.config import check_train_config
from support import ROOT, compose_config, run_script


def test_a_bad_sweep_name_is_refused_before_hydra_writes(tmp_path):
    cwd = tmp_path / "here"
    cwd.mkdir()
    done = run_script("train.py", ["-m", "sweep_name=../../elsewhere", "logger=none"], cwd)
    assert done.returncode != 0 and "sweep_name must be a plain directory name" in done.stderr
    assert list(tmp_path.rglob("*")) == [cwd]  # no multirun.yaml, no .hydra/, anywhere


def test_a_config_error_prints_its_message_without_a_traceback(tmp_path, monkeypatch):
    command = [sys.executable, str(ROOT / "train.py"), "model.beta=abc", "logger=none"]
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "model.beta must be a number" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("override", "key"),
    [("fingerprint.batch_size=0", "fingerprint.batch_size"), ("torch_threads=-3", "torch_threads")],
)
def test_training_sizes_are_checked(override, key):
    cfg = compose_config("train", [override, "sweep_name=s", "paths.output_dir=run"])
    with pytest.raises(ConfigError, match=key):
        check_train_config(cfg)


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_analysis_numbers_must_be_finite(value):
    with pytest.raises(ConfigError, match="information_threshold must be a number"):
        number("information_threshold", value, 0.0)


@pytest.mark.parametrize("path", ["", "nonexistent"])
def test_an_analysis_of_a_missing_or_empty_path_writes_nothing(tmp_path, path):
    done = run_script("analyze.py", [f"source.path={path}", "logger=none"], tmp_path)
    assert done.returncode != 0 and "source.path" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_batch_beyond_the_machines_memory_is_refused_before_training():
    cfg = compose_config("train", ["data.batch_size=100000000", "sweep_name=s"])
    with pytest.raises(InstantiationException, match=r"data.batch_size=100000000: one batch"):
        instantiate(cfg.data, seed=0)  # as train() builds it, before any step
