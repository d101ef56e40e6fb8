"""Fingerprints during training (issue 14): the snapshot series of a run, across resumes."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
from omegaconf import open_dict

from infoprint.fingerprint.record import Fingerprint
from infoprint.fingerprint.snapshots import SnapshotSchedule, SnapshotSeries
from infoprint.store.records import RecordError
from infoprint.tasks import train as train_module
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config


def tiny(tmp_path: Path, overrides: list[str]):
    cfg = compose_config("train", [*TINY_TRAIN, "sweep_name=snap", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    return cfg


def test_snapshots_at_schedule_and_the_last_equals_the_final_fingerprint(tmp_path):
    cfg = tiny(
        tmp_path, ["logger=none", "fingerprint.every_n_steps=20", "fingerprint.snapshot_steps=[5]"]
    )
    train(cfg)
    job = Path(cfg.paths.output_dir)
    series = SnapshotSeries.load(job)
    assert series.steps.tolist() == [0, 5, 20, 40, 60]
    final = Fingerprint.load(job)
    np.testing.assert_array_equal(series.mu[-1], final.mu)
    np.testing.assert_array_equal(series.logvar[-1], final.logvar)
    assert series.probe_digest == final.probe_digest
    assert not np.allclose(series.mu[0], series.mu[-1])  # training moved the posteriors


class _Die(pl.Callback):
    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == 50:
            raise RuntimeError("killed at step 50")


def test_a_resumed_run_continues_the_series_without_gaps_or_duplicates(tmp_path, monkeypatch):
    cfg = tiny(
        tmp_path,
        [
            "logger=wandb",
            "callbacks=checkpoint",
            "callbacks.checkpoint.every_n_train_steps=20",
            "fingerprint.every_n_steps=20",
        ],
    )
    made = train_module._callbacks
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "_callbacks", lambda c: [*made(c), _Die()])
        with pytest.raises(RuntimeError, match="killed at step 50"):
            train(cfg)
    job = Path(cfg.paths.output_dir)
    assert SnapshotSeries.load(job).steps.tolist() == [0, 20, 40]
    train(cfg)  # resumes from last.ckpt at step 40
    series = SnapshotSeries.load(job)
    assert series.steps.tolist() == [0, 20, 40, 60]
    np.testing.assert_array_equal(series.mu[-1], Fingerprint.load(job).mu)
    (run,) = (job / "wandb").glob("offline-run-*")
    assert b"snapshots.npz" in next(run.glob("run-*.wandb")).read_bytes()  # in the artifact


def test_snapshot_files_are_validated_naming_the_file(tmp_path):
    series = SnapshotSeries.empty("d" * 64, 4, 2)
    series.append(0, np.zeros((4, 2)), np.zeros((4, 2)))
    series.append(10, np.ones((4, 2)), np.zeros((4, 2)))
    series.save(tmp_path)
    assert SnapshotSeries.load(tmp_path).steps.tolist() == [0, 10]
    with pytest.raises(ValueError, match="not after the last one"):
        series.append(10, np.ones((4, 2)), np.zeros((4, 2)))
    series.steps = np.array([10, 0])
    series.save(tmp_path)
    with pytest.raises(RecordError, match=r"snapshots\.npz: steps are not strictly increasing"):
        SnapshotSeries.load(tmp_path)
    (tmp_path / "snapshots.npz").write_bytes(b"garbage")
    with pytest.raises(RecordError, match=r"snapshots\.npz: unreadable"):
        SnapshotSeries.load(tmp_path)


def test_snapshot_schedule():
    log = SnapshotSchedule.parse(0, "log:4", 1000)
    assert sorted(log.steps) == [1, 10, 100, 1000]
    every = SnapshotSchedule.parse(25, [7], 100)
    assert [s for s in range(101) if every.due(s)] == [0, 7, 25, 50, 75, 100]
    assert not SnapshotSchedule.parse(0, [], 100).active
    with pytest.raises(ValueError, match="log:K"):
        SnapshotSchedule.parse(0, "every:3", 100)


def test_snapshots_of_another_probe_set_restart_the_series(tmp_path, caplog):
    cfg = tiny(tmp_path, ["logger=none", "fingerprint.every_n_steps=30"])
    job = Path(cfg.paths.output_dir)
    job.mkdir(parents=True)
    other = SnapshotSeries.empty("0" * 64, 64, 4)
    other.append(0, np.zeros((64, 4)), np.zeros((64, 4)))
    other.save(job)
    with caplog.at_level(logging.WARNING):
        train(cfg)
    assert "snapshots of another probe set" in caplog.text
    assert SnapshotSeries.load(job).steps.tolist() == [0, 30, 60]
