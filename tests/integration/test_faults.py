"""The fault suite (issue 18): kills, corrupt files, stray folders, malicious checkpoints,
wrong types and concurrent starts. Nothing already written is lost or counted twice, and
every message names the file or key."""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from infoprint.fingerprint.record import Fingerprint
from infoprint.run.directory import RunDirectory
from infoprint.sources.directory import DirectorySource
from infoprint.store.checkpoint import CheckpointError
from support import ROOT, TINY_TRAIN, make_fingerprint, run_script

pytestmark = pytest.mark.slow

TINY = [o for o in TINY_TRAIN if not o.startswith("callbacks=")]


class _CreatesAFile:
    """A pickle payload: unpickling it would create ``path`` (it must never run)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def write_malicious_checkpoint(path: Path, marker: Path) -> None:
    torch.save({"state_dict": {}, "payload": _CreatesAFile(marker)}, path)


def _sweep(cwd: Path, name: str, extra: list[str]) -> subprocess.CompletedProcess:
    return run_script("train.py", ["-m", *TINY, "logger=none", f"sweep_name={name}", *extra], cwd)


def test_malicious_checkpoint_on_resume_fails_that_job_only(tmp_path):
    first = _sweep(tmp_path, "m", ["callbacks=checkpoint", "seed=0,1"])
    assert first.returncode == 0, first.stderr[-3000:]
    sweep = tmp_path / "multirun" / "m"
    marker = tmp_path / "pwned"
    write_malicious_checkpoint(sweep / "0" / "last.ckpt", marker)

    again = _sweep(
        tmp_path, "m", ["callbacks=checkpoint", "seed=0,1", "rerun=resume", "trainer.max_steps=80"]
    )
    assert not marker.exists()  # nothing in the checkpoint ran
    error = (sweep / "0" / "error.txt").read_text()
    assert "CheckpointError" in error and str(sweep / "0" / "last.ckpt") in error
    assert "refused to load" in error
    assert again.returncode != 0  # the sweep reports the failure ...
    assert Fingerprint.load(sweep / "1").meta["steps"] == 80  # ... and the other job ran
    # the failed job keeps its earlier fingerprint; the analysis reads both runs once
    source = DirectorySource(sweep)
    assert len(list(source.iter_fingerprints())) == 2


def test_sigkill_during_training_then_rerun_loses_nothing(tmp_path):
    args = [
        *TINY,
        "logger=wandb",
        "callbacks=checkpoint",
        "sweep_name=k",
        "trainer.max_steps=4000",  # far more than one second of training: killed mid-run
        "callbacks.checkpoint.every_n_train_steps=50",
        "hydra.run.dir=multirun/k/0",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    job = tmp_path / "multirun" / "k" / "0"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not (job / "last.ckpt").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (job / "last.ckpt").is_file() and not (job / "fingerprint.npz").exists()
    killed_at = RunDirectory(job).checkpoint_step(_identity_of(job))

    again = run_script("train.py", args, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    fp = Fingerprint.load(job)
    assert fp.meta["steps"] == 4000
    logged = _logged_steps(job / "csv" / "metrics.csv")  # one log, every step once
    assert logged == sorted(set(logged)) and logged[0] < killed_at and logged[-1] >= 3999
    assert killed_at >= 50
    assert len(list((job / "wandb").glob("offline-run-*"))) == 1
    assert len(list((job / "wandb").glob("superseded-offline-run-*"))) == 1
    assert len(list(DirectorySource(tmp_path / "multirun" / "k").iter_fingerprints())) == 1


def _identity_of(job: Path) -> dict:
    ckpt = torch.load(job / "last.ckpt", map_location="cpu", weights_only=True)
    return ckpt["hyper_parameters"]["run"]


def _logged_steps(path: Path) -> list[int]:
    with path.open(newline="") as f:
        return [int(float(r["step"])) for r in csv.DictReader(f) if r.get("train/loss")]


def test_job_folder_is_self_contained_for_wandb_sync(tmp_path, monkeypatch):
    """Every file the offline run's records reference lies inside the job folder, so a copy
    of the folder (with every W&B directory outside it removed) still has them."""
    result = run_script("train.py", [*TINY, "sweep_name=w", "hydra.run.dir=job"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    job = (tmp_path / "job").resolve()
    copy = tmp_path / "elsewhere" / "job"
    shutil.copytree(job, copy)
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        shutil.rmtree(os.environ[var], ignore_errors=True)
    (records,) = (copy / "wandb").glob("offline-run-*/run-*.wandb")
    paths = _record_strings(records.read_bytes(), str(tmp_path).encode())
    assert any("staging" in p for p in paths), "the artifact's staged files are referenced"
    for path in paths:
        assert path.startswith(str(job)), f"{path} lies outside the job folder"
        assert (copy / Path(path).relative_to(job)).exists(), path


@pytest.mark.parametrize("study", [False, True], ids=["ensemble", "study"])
def test_analysis_folder_is_self_contained_for_wandb_sync(tmp_path, study):
    """The analysis's (and the study's) offline run stages its files inside the published
    analysis folder, and nothing lands in the user-wide W&B data folder."""
    sweep = tmp_path / "s"
    for job in range(4):
        beta = 1.0 + (job % 2) * study  # a study: two ensembles of two runs
        fp = make_fingerprint(n=40, d=3, seed=job, run_id=f"run{job}", job_num=job,
                              model="beta_vae", hyperparameters={"beta": beta})  # fmt: skip
        fp.save(sweep / str(job))
    args = [f"source.path={sweep}", "traversals.enabled=false", "hotspot_fusion.enabled=false"]
    result = run_script("analyze.py", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = sweep / "analysis"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["wandb"]["run_id"] and ("study" in summary) == study
    (records,) = (out / "wandb").glob("offline-run-*/run-*.wandb")
    strings = _record_strings(records.read_bytes(), str(tmp_path).encode())
    paths = [p for p in strings if "/wandb/" in p]  # files (the others: config values)
    assert any("staging" in p for p in paths), "the staged files are referenced"
    for path in paths:
        assert Path(path).is_relative_to(out) and Path(path).exists(), path
    home_staging = Path(os.environ["WANDB_DATA_DIR"]) / "artifacts" / "staging"
    assert not home_staging.exists() or not any(home_staging.iterdir())


def _record_strings(data: bytes, prefix: bytes) -> set[str]:
    """Protobuf strings in W&B's record file that start with ``prefix``: each is preceded
    by its length as a varint (one or two bytes for paths)."""
    found = set()
    for match in re.finditer(re.escape(prefix), data):
        i = match.start()
        one = data[i - 1]
        length = one if one < 0x80 else None
        if data[i - 1] < 0x80 and data[i - 2] >= 0x80:
            length = (data[i - 2] & 0x7F) | (data[i - 1] << 7)
        if length is not None and length >= len(prefix):
            found.add(data[i : i + length].decode("utf-8", errors="replace"))
    return found


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _set_array(d, "logvar", 200.0), r"logvar reaches 200, outside ±80"),
        (lambda d: _set_array(d, "mu", 1e20), r"mu reaches 1e\+20"),
        (lambda d: (d / "fingerprint.npz").write_bytes(b"PK\x03\x04trunc"), "unreadable npz"),
        (lambda d: (d / "run.json").write_text("[1, 2]"), "expected a JSON object"),
        (lambda d: (d / "run.json").unlink(), r"run\.json: file not found"),
    ],
)
def test_corrupt_fingerprints_are_skipped_naming_the_file(tmp_path, mutate, message):
    for job in range(3):
        make_fingerprint(run_id=f"run{job}").save(tmp_path / str(job))
    mutate(tmp_path / "1")
    source = DirectorySource(tmp_path)
    assert [fp.run_id for fp in source.iter_fingerprints()] == ["run0", "run2"]
    (skipped,) = source.skipped
    assert skipped.run == str(tmp_path / "1")
    assert re.search(message, skipped.reason) and str(tmp_path / "1") in skipped.reason


def _set_array(job: Path, key: str, value: float) -> None:
    with np.load(job / "fingerprint.npz") as npz:
        arrays = dict(npz)
    arrays[key][:] = value
    np.savez(job / "fingerprint.npz", **arrays)


def test_a_refused_rerun_changes_nothing_on_disk(tmp_path):
    assert _sweep(tmp_path, "r", ["seed=0", "model.beta=1"]).returncode == 0
    job = tmp_path / "multirun" / "r" / "0"

    def files() -> dict:  # Hydra's own log aside: it appends every attempt
        found = {p: p.read_bytes() for p in job.rglob("*") if p.is_file()}
        return {p: b for p, b in found.items() if p.name != "train.log"}

    before = files()
    refused = _sweep(tmp_path, "r", ["seed=0", "model.beta=7"])
    assert refused.returncode != 0 and "belongs to another run" in refused.stderr
    assert files() == before  # .hydra/, config_tree.txt, run.json: the run's own
    assert "model.beta=1" in (job / ".hydra" / "overrides.yaml").read_text()


def test_a_truncated_checkpoint_is_set_aside_and_the_run_starts_afresh(tmp_path):
    first = _sweep(tmp_path, "t", ["callbacks=checkpoint", "seed=0"])
    assert first.returncode == 0, first.stderr[-3000:]
    job = tmp_path / "multirun" / "t" / "0"
    (job / "fingerprint.npz").unlink()  # killed before its fingerprint ...
    data = (job / "last.ckpt").read_bytes()
    (job / "last.ckpt").write_bytes(data[: len(data) // 2])  # ... while a disk filled up
    again = _sweep(tmp_path, "t", ["callbacks=checkpoint", "seed=0"])
    assert again.returncode == 0, again.stderr[-3000:]
    said = again.stdout + again.stderr
    assert "not a readable checkpoint" in said and "starts afresh" in said
    assert (job / "last.ckpt.unreadable").stat().st_size == len(data) // 2
    assert Fingerprint.load(job).meta["steps"] == 60 and not (job / "error.txt").exists()


def _with_full_disk(max_bytes: int):
    """A child process for which no file grows past ``max_bytes`` (RLIMIT_FSIZE): its writes
    fail as on a full disk (EFBIG here, ENOSPC there; the same failed ``write``)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited: the write fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


def _script_with_full_disk(script: str, args: list[str], cwd: Path, max_bytes: int):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=600, preexec_fn=_with_full_disk(max_bytes),
    )  # fmt: skip


def test_a_full_disk_while_checkpointing_names_the_file_and_never_blocks_the_job(tmp_path):
    args = ["-m", *TINY, "logger=none", "sweep_name=f", "callbacks=checkpoint", "seed=0"]
    full = _script_with_full_disk("train.py", args, tmp_path, 256 << 10)
    assert full.returncode != 0
    job = tmp_path / "multirun" / "f" / "0"
    error = (job / "error.txt").read_text()  # whole: written atomically, small enough
    assert f"could not write {job / 'last.ckpt'}" in error
    assert not (job / "last.ckpt").exists()  # no truncated checkpoint ...
    assert not [p for p in job.iterdir() if p.name.endswith(".tmp")]  # ... nor a temporary
    again = run_script("train.py", args, tmp_path)  # space freed: the job trains
    assert again.returncode == 0, again.stderr[-3000:]
    assert Fingerprint.load(job).meta["steps"] == 60 and (job / "last.ckpt").stat().st_size > 0


def test_a_full_disk_during_a_reanalysis_keeps_the_previous_one_and_names_the_file(tmp_path):
    sweep = tmp_path / "s"
    for job in range(4):
        make_fingerprint(n=200, d=3, seed=job, run_id=f"run{job}").save(sweep / str(job))
    assert run_script("analyze.py", _analysis_of(sweep, 0.01), tmp_path).returncode == 0
    full = _script_with_full_disk("analyze.py", _analysis_of(sweep, 0.02), tmp_path, 16 << 10)
    said = full.stdout + full.stderr
    assert "could not write" in said and str(sweep / "analysis") not in said.split("could not")[0]
    written = re.findall(r"could not write (\S+):", said)
    assert written and all(Path(w).parent.name.startswith(".analysis.partial-") for w in written)
    assert _one_analysis(sweep / "analysis") == 0.01  # the previous analysis, whole
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "1", "2", "3", "analysis"]


def test_checkpoint_errors_name_the_file(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "last.ckpt"
    write_malicious_checkpoint(bad, marker)
    with pytest.raises(CheckpointError, match=re.escape(str(bad)) + ".*refused to load"):
        RunDirectory(tmp_path).load_model()
    assert not marker.exists()
    bad.write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match=re.escape(str(bad)) + ".*not a readable"):
        RunDirectory(tmp_path).load_model()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.beta=abc", r"model\.beta must be a number, got 'abc'"),
        ("optim.lr=-1", r"optim\.lr must be a positive number, got -1"),
        ("model.beta=-2", r"model\.beta must be >= 0, got -2"),
        ("+model.gamma=3", r"model\.gamma: not an argument of .*BetaVAE"),
    ],
)
def test_bad_values_fail_before_any_work_naming_the_key(tmp_path, override, message):
    result = run_script("train.py", [*TINY, "logger=none", override], tmp_path, timeout=120)
    assert result.returncode != 0
    assert re.search(message, result.stderr), result.stderr[-2000:]
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*.npz"))


def run_twice_at_once(script: str, args: list[str], cwd: Path) -> None:
    """Start ``script`` twice at the same moment and require both to succeed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(ROOT / script), *args]
    procs = [
        subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]


def test_two_unnamed_sweeps_started_together_do_not_collide(tmp_path):
    run_twice_at_once(
        "train.py", ["-m", *TINY, "logger=none", "trainer.max_steps=5", "seed=0"], tmp_path
    )
    sweeps = sorted((tmp_path / "multirun").iterdir())
    assert len(sweeps) == 2
    ids = {json.loads((s / "0" / "run.json").read_text())["run_id"] for s in sweeps}
    assert len(ids) == 2


SLOW_SWEEP = [*TINY, "callbacks=none", "logger=none", "seed=0,1", "sweep_name=L",
              "+callbacks.probe._target_=job_probe.JobProbe",
              "+callbacks.probe.seconds_per_step=0.1"]  # fmt: skip


def test_a_second_command_on_a_running_sweep_is_refused_naming_the_holder(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(ROOT / "train.py"), "-m", *SLOW_SWEEP]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)  # fmt: skip
    lock_file = tmp_path / "multirun" / "L" / ".sweep.lock"
    deadline = time.monotonic() + 120
    while not lock_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    holder = json.loads(lock_file.read_text())
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert second.returncode != 0
    assert f"pid {first.pid} on {holder['host']}" in second.stderr, second.stderr[-2000:]
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()[-2000:]
    assert not lock_file.exists()  # released at the end
    for job in ("0", "1"):  # one attempt each: the refused command trained nothing
        run = tmp_path / "multirun" / "L" / job
        assert len((run / "attempts.jsonl").read_text().splitlines()) == 1


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sweep = tmp_path / "multirun" / "L"
    sweep.mkdir(parents=True)
    host = socket.gethostname()
    stale = {"pid": dead.pid, "host": host, "started": "2026-01-01T00:00:00"}
    (sweep / ".sweep.lock").write_text(json.dumps(stale))
    args = ["-m", *TINY, "logger=none", "trainer.max_steps=5", "seed=0", "sweep_name=L"]
    done = run_script("train.py", args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (sweep / "0" / "fingerprint.npz").is_file() and not (sweep / ".sweep.lock").exists()


def test_two_analyses_of_one_sweep_at_once(tmp_path):
    for job in range(4):
        make_fingerprint(n=40, d=3, seed=job, run_id=f"run{job}").save(tmp_path / "s" / str(job))
    args = [
        f"source.path={tmp_path / 's'}",
        "logger=none",
        "traversals.enabled=false",
        "hotspot_fusion.enabled=false",
    ]
    run_twice_at_once("analyze.py", args, tmp_path)
    # each wrote its own staging folder; the last to finish replaced the other's whole
    out = tmp_path / "s" / "analysis"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_runs"] == 4
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["0", "1", "2", "3", "analysis"]
    assert all((out / path).is_file() for path in summary["files"].values())


ANALYSE = ["logger=none", "traversals.enabled=false", "hotspot_fusion.enabled=false"]


def _analysis_of(sweep: Path, threshold: float) -> list[str]:
    return [f"source.path={sweep}", f"information_threshold={threshold}", *ANALYSE]


def _one_analysis(out: Path) -> float:
    """The threshold of the analysis in ``out``, after checking every file is its own."""
    summary = json.loads((out / "summary.json").read_text())
    listed = {out / path for path in summary["files"].values()} | {out / "summary.json"}
    present = {p for p in out.iterdir() if p.is_file() and p.suffix != ".log"}
    assert present == listed, present ^ listed  # nothing stale, nothing missing
    return summary["information_threshold"]


def test_a_reanalysis_replaces_the_folder_whole_and_a_failed_one_changes_nothing(tmp_path):
    sweep = tmp_path / "s"
    for job in range(4):
        make_fingerprint(n=40, d=3, seed=job, run_id=f"run{job}").save(sweep / str(job))
    assert run_script("analyze.py", _analysis_of(sweep, 0.01), tmp_path).returncode == 0
    (sweep / "analysis" / "traversal_nmi_9.png").write_bytes(b"stale")  # an earlier output
    assert run_script("analyze.py", _analysis_of(sweep, 0.02), tmp_path).returncode == 0
    assert _one_analysis(sweep / "analysis") == 0.02  # the stale figure is gone
    failed = run_script("analyze.py", [*_analysis_of(sweep, 0.02), "ensembles.by=[nope]"], tmp_path)
    assert failed.returncode != 0
    assert _one_analysis(sweep / "analysis") == 0.02
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "1", "2", "3", "analysis"]


def test_a_reanalysis_killed_at_any_moment_leaves_the_previous_one_whole(tmp_path):
    sweep = tmp_path / "s"
    for job in range(6):
        make_fingerprint(n=300, d=4, seed=job, run_id=f"run{job}").save(sweep / str(job))
    assert run_script("analyze.py", _analysis_of(sweep, 0.01), tmp_path).returncode == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(ROOT / "analyze.py"), *_analysis_of(sweep, 0.02)]
    for delay in (1.0, 3.0, 5.0):
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        proc.kill()
        proc.wait()
        assert _one_analysis(sweep / "analysis") in (0.01, 0.02)  # one or the other, whole
