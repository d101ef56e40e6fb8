"""MetricsCallback on real tiny runs: run.json, W&B summary and loggers; factor-less data."""

import json
import math
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict
from wandb.proto import wandb_internal_pb2

from infoprint.data.sprites import ProceduralSprites
from infoprint.fingerprint.record import Fingerprint
from infoprint.metrics.scoring import metric_plan
from infoprint.tasks.train import train
from support import TINY_TRAIN, compose_config

# Tiny samples: the callback's plumbing is under test here, not the metrics' accuracy.
TINY_METRICS = [
    "callbacks=metrics",
    "callbacks.metrics.names=[mig,sap,hoyer,factor_vae]",
    "callbacks.metrics.options.mig.num_train=300",
    "callbacks.metrics.options.sap.num_train=200",
    "callbacks.metrics.options.sap.num_test=100",
    "callbacks.metrics.options.hoyer.num_train=200",
    "callbacks.metrics.options.factor_vae.num_train=30",
    "callbacks.metrics.options.factor_vae.num_eval=20",
    "callbacks.metrics.options.factor_vae.num_variance_estimate=300",
    "+callbacks.metrics.options.factor_vae.batch_size=16",
]


class UnlabelledSprites:
    """Sprite images without their factors, like a user's own image folder (architecture §8)."""

    name = "unlabelled"
    factor_names = ()
    factor_sizes = ()

    def __init__(self, resolution: int = 32, size: int = 256) -> None:
        self.sprites = ProceduralSprites(resolution)
        self.index = np.random.default_rng(0).choice(len(self.sprites), size, replace=False)

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return self.sprites.observation_shape

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.sprites[int(self.index[i])][0], np.zeros(0, dtype=np.int64)


def metrics_cfg(tmp_path: Path, extra: list[str] = ()):
    tiny = [o for o in TINY_TRAIN if not o.startswith("callbacks=")]
    cfg = compose_config("train", [*tiny, *TINY_METRICS, "sweep_name=metrics", *extra])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    GlobalHydra.instance().clear()
    return cfg


def wandb_summary(job: Path, expected: str, timeout: float = 30.0) -> dict[str, Any]:
    """The summary of the job's offline W&B run, once W&B's writer has flushed ``expected``."""
    (path,) = job.glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + timeout
    while expected not in (summary := summary_records(path.read_bytes())):
        if time.monotonic() > deadline:
            return summary
        time.sleep(0.2)
    return summary


def summary_records(data: bytes) -> dict[str, Any]:
    """Summary updates in a .wandb file, merged in order.

    The file is a LevelDB-format log (7-byte file header, 32 KiB blocks, records split
    into FULL/FIRST/MIDDLE/LAST chunks behind 7-byte headers) of W&B protobuf records.
    """
    block, pos, chunk, summary = 32768, 7, b"", {}
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer padding
            pos += block - pos % block
            continue
        length, kind = struct.unpack_from("<HB", data, pos + 4)
        if pos + 7 + length > len(data):  # the writer is still at it
            break
        chunk, pos = chunk + data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # FULL or LAST: the record is complete
            record = wandb_internal_pb2.Record.FromString(chunk)
            chunk = b""
            if record.WhichOneof("record_type") == "summary":
                for item in record.summary.update:
                    summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return summary


def test_metrics_are_recorded_in_run_json_wandb_and_csv(tmp_path):
    cfg = metrics_cfg(tmp_path)
    train(cfg)
    job = Path(cfg.paths.output_dir)
    meta = json.loads((job / "run.json").read_text())
    metrics = meta["metrics"]
    for name in ("mig", "sap", "hoyer", "factor_vae"):
        assert name in metrics and math.isfinite(metrics[name]), name
    assert {f"mig/{f}" for f in meta["factor_names"]} <= set(metrics)
    assert "factor_vae/train_accuracy" in metrics
    for key in ("mig", "sap", "hoyer", "factor_vae", "factor_vae/train_accuracy"):
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
    # The fingerprint written before is intact and still validates.
    fp = Fingerprint.load(job)
    assert fp.meta["metrics"] == metrics and len(fp.meta["information_bits"]) == 4
    assert fp.mu.shape == (64, 4) and fp.meta["wandb"]["artifact"] == f"fingerprint-{fp.run_id}"
    # W&B: the run summary holds metrics/<key>; the CSV logger logged them too.
    summary = wandb_summary(job, "metrics/factor_vae")
    for key, value in metrics.items():
        assert summary[f"metrics/{key}"] == pytest.approx(value), key
    header = (job / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"metrics/mig", "metrics/sap", "metrics/hoyer", "metrics/factor_vae"} <= set(header)


def test_dataset_without_factors_is_skipped(tmp_path):
    cfg = metrics_cfg(tmp_path, ["logger.mode=disabled"])
    with open_dict(cfg):
        cfg.data.dataset = {"_target_": f"{__name__}.UnlabelledSprites", "resolution": 32}
    train(cfg)
    meta = json.loads((Path(cfg.paths.output_dir) / "run.json").read_text())
    assert meta["factor_names"] == [] and "metrics" not in meta


def test_a_failing_metric_leaves_the_run_and_its_fingerprint_intact(tmp_path):
    cfg = metrics_cfg(tmp_path, ["callbacks.metrics.options.sap.num_test=0"])
    train(cfg)
    job = Path(cfg.paths.output_dir)
    fp = Fingerprint.load(job)
    assert "metrics" not in fp.meta and not (job / "error.txt").exists()
    error = wandb_summary(job, "metrics/error")["metrics/error"]
    assert error.startswith("ValueError") and "n must be >= 1" in error


def test_bad_metric_config_fails_before_training(tmp_path):
    cfg = metrics_cfg(tmp_path, ["logger.mode=disabled", "callbacks.metrics.names=[mig,nig]"])
    with pytest.raises(ValueError, match=r"callbacks.metrics.names: unknown metric 'nig'.*mig"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "fingerprint.npz").exists()
    with pytest.raises(ValueError, match=r"callbacks.metrics.options.dci: .*'num_trees'"):
        metric_plan(["mig"], {"dci": {"num_trees": 3}}, key="callbacks.metrics")
    plan = metric_plan(["mig"], {"mig": {"num_train": 5}, "dci": None}, key="k")
    assert plan == {"mig": {"num_train": 5}}
