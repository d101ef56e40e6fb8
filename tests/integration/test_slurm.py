"""Sweeps through `+launcher=submitit_slurm` on a real single-node SLURM cluster.

The cluster (tests/slurm_cluster.py) runs on localhost for this module. Three sweeps, as
a user runs them with `python train.py -m ... +launcher=submitit_slurm`:

- ``array``: three jobs as one job array with array_parallelism=2, then `analyze.py`;
- ``cancel``: three jobs, one cancelled with `scancel` while it trains; the analysis lists
  it as skipped; the same command again completes only that job;
- ``timeout``: one job past its 1-minute time limit, requeued by submitit and resumed from
  its last.ckpt. It runs in the background from the start of the module (it mostly waits
  on SLURM's clock), so its minutes overlap the other two sweeps.

The node is GPU-less, so the preset's one GPU per job is dropped (gpus_per_node=null)
and jobs ask for 1 GB; everything else is the preset's unless a sweep says otherwise.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from job_probe import ATTEMPTS_FILE
from slurm_cluster import SlurmCluster, missing_programs

from infoprint.fingerprint.record import Fingerprint
from support import ROOT, TINY_TRAIN

pytestmark = pytest.mark.slow

# TINY_TRAIN without its torch_threads=1: the preset sets torch_threads from cpus_per_task.
TRAIN = [arg for arg in TINY_TRAIN if not arg.startswith("torch_threads=")]
SLURM = ["+launcher=submitit_slurm", "hydra.launcher.gpus_per_node=null", "hydra.launcher.mem_gb=1"]
PROBE = ["+callbacks.probe._target_=job_probe.JobProbe"]
ANALYSIS = ["traversals.enabled=false", "hotspot_fusion.enabled=false"]

ARRAY = [*TRAIN, *SLURM, *PROBE, "+callbacks.probe.seconds_per_step=0.02"]
ARRAY += ["hydra.launcher.cpus_per_task=2", "hydra.launcher.array_parallelism=2"]
ARRAY += ["trainer.max_steps=150", "sweep_name=array", "seed=0,1,2"]

CANCEL = [*TRAIN, *SLURM, *PROBE, "+callbacks.probe.seconds_per_step=0.03"]
CANCEL += ["hydra.launcher.cpus_per_task=1", "callbacks=checkpoint"]
CANCEL += ["callbacks.checkpoint.every_n_train_steps=50", "trainer.max_steps=400"]
CANCEL += ["sweep_name=cancel", "seed=0,1,2"]

# SLURM checks time limits every 30 s and sends the signal up to that much early: with a
# 1-minute limit and signal_delay_s=5, submitit's SIGUSR2 comes 25-55 s into a job. The
# first attempt is paced to need over 80 s, so it always times out, with a checkpoint
# every 50 steps (5 s); the resumed attempt runs unpaced and finishes in seconds.
TIMEOUT_STEPS = 800
TIMEOUT = [*TRAIN, *SLURM, *PROBE, "+callbacks.probe.seconds_per_step=0.1"]
TIMEOUT += ["+callbacks.probe.fresh_only=true", "callbacks=checkpoint"]
TIMEOUT += ["callbacks.checkpoint.every_n_train_steps=50", f"trainer.max_steps={TIMEOUT_STEPS}"]
TIMEOUT += ["hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=1"]
TIMEOUT += ["hydra.launcher.signal_delay_s=5", "sweep_name=timeout", "seed=0"]


@pytest.fixture(scope="module")
def cluster():
    missing = missing_programs()
    if missing or os.geteuid() != 0:
        reason = (
            f"SLURM is not installed (no {', '.join(missing)}): "
            "apt-get install slurmctld slurmd slurm-client munge (bash .ci/run does)"
            if missing
            else "the test cluster runs slurmctld/slurmd as root (SlurmUser=root)"
        )
        if os.environ.get("INFOPRINT_REQUIRE_SLURM"):
            pytest.fail(f"INFOPRINT_REQUIRE_SLURM is set but {reason}")
        pytest.skip(reason)
    with SlurmCluster() as started:
        yield started


@pytest.fixture(scope="module")
def env(cluster, tmp_path_factory):
    """The user's environment for train.py: the cluster, W&B offline in a temp dir."""
    wandb = tmp_path_factory.mktemp("wandb-env")
    python_path = [str(ROOT / "src"), str(ROOT), str(ROOT / "tests")]
    if os.environ.get("PYTHONPATH"):
        python_path.append(os.environ["PYTHONPATH"])
    return {
        **os.environ,
        **cluster.env,
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONUNBUFFERED": "1",
        "HYDRA_FULL_ERROR": "1",
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(wandb),
        "WANDB_CACHE_DIR": str(wandb / "cache"),
        "WANDB_CONFIG_DIR": str(wandb / "config"),
        "WANDB_DATA_DIR": str(wandb / "data"),
    }


def start(script: str, args: list[str], cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def run(script: str, args: list[str], cwd: Path, env: dict) -> tuple[int, str]:
    return finish(start(script, args, cwd, env))


def wait_for_empty_queue(cluster: SlurmCluster, timeout: float = 300) -> None:
    """The sweep command may return before the last jobs end (a failed job stops it)."""
    deadline = time.monotonic() + timeout
    while cluster.run("squeue", "-h").strip():
        assert time.monotonic() < deadline, cluster.run("squeue") + cluster.logs()
        time.sleep(0.5)


def analyze(sweep: str, cwd: Path, env: dict, out: str) -> dict:
    """`analyze.py` on the sweep: its summary, plus the runs its results are made of."""
    args = [f"source.path=multirun/{sweep}", f"hydra.run.dir={out}", *ANALYSIS]
    code, output = run("analyze.py", args, cwd, env)
    assert code == 0, output[-3000:]
    summary = json.loads((cwd / out / "summary.json").read_text())
    results = np.load(cwd / out / "results.npz", allow_pickle=False)
    summary["result_run_ids"] = sorted(set(results["run_ids"].tolist()))
    return summary


def attempts(job: Path) -> list[dict]:
    return [json.loads(line) for line in (job / ATTEMPTS_FILE).read_text().splitlines()]


def job_logs(sweep: Path) -> str:
    return "".join(p.read_text() for p in sorted((sweep / ".submitit").rglob("*_log.out")))


@pytest.fixture(scope="module")
def timeout_sweep(env, tmp_path_factory):
    """Started before the other sweeps; collected by the tests that need it."""
    cwd = tmp_path_factory.mktemp("timeout-user")
    process = start("train.py", ["-m", *TIMEOUT], cwd, env)
    result = {}

    def collect(cluster: SlurmCluster):
        if not result:
            result["code"], result["output"] = finish(process, timeout=400)
            wait_for_empty_queue(cluster)
        return cwd, result["code"], result["output"]

    yield collect
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def array_sweep(cluster, env, timeout_sweep, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("array-user")
    snapshots: list[list[tuple[str, str, str]]] = []
    process = start("train.py", ["-m", *ARRAY], cwd, env)
    while process.poll() is None:  # every array task's state, as the scheduler sees it
        out = cluster.run("squeue", "-h", "-r", "-n", "train", "-o", "%i %T %r", check=False)
        rows = [tuple(line.split()) for line in out.splitlines()]
        snapshots.append([row for row in rows if "_" in row[0]])  # array tasks only
        time.sleep(0.25)
    code, output = finish(process)
    assert code == 0, output[-3000:]
    summary = analyze("array", cwd, env, "analysis")
    return cwd, snapshots, summary


def test_a_sweep_is_one_job_array_of_jobs_in_their_own_directories(array_sweep):
    cwd, _, _ = array_sweep
    sweep = cwd / "multirun" / "array"
    (script,) = (sweep / ".submitit").glob(".submission_file_*.sh")
    assert "#SBATCH --array=0-2%2" in script.read_text()
    run_ids = set()
    for job in range(3):
        job_dir = sweep / str(job)
        fp = Fingerprint.load(job_dir)
        assert fp.meta["job_num"] == job and fp.meta["sweep"] == "array" and fp.meta["seed"] == job
        (run_dir,) = (job_dir / "wandb").glob("offline-run-*")
        assert run_dir.name.endswith(fp.run_id)
        assert f"fingerprint-{fp.run_id}".encode() in next(run_dir.glob("run-*.wandb")).read_bytes()
        (attempt,) = attempts(job_dir)
        assert attempt["slurm_array_task_id"] == str(job)
        run_ids.add(fp.run_id)
    assert len(run_ids) == 3
    array_ids = {a["slurm_job_id"] for job in range(3) for a in attempts(sweep / str(job))}
    assert len(array_ids) == 3  # one SLURM job per array task


def test_torch_threads_follow_cpus_per_task(array_sweep):
    cwd, _, _ = array_sweep
    for job in range(3):
        (attempt,) = attempts(cwd / "multirun" / "array" / str(job))
        assert attempt["slurm_cpus_per_task"] == "2" and attempt["torch_threads"] == 2


def test_array_parallelism_is_respected(array_sweep):
    _, snapshots, _ = array_sweep
    running = [sum(state == "RUNNING" for _, state, *_ in rows) for rows in snapshots]
    assert max(running) == 2, running  # the node has 8 CPUs: room for 4 such jobs
    held = [row for rows in snapshots for row in rows if row[1] == "PENDING"]
    assert any("JobArrayTaskLimit" in row for row in held), held


def test_the_analysis_reads_the_slurm_sweep(array_sweep):
    _, _, summary = array_sweep
    assert summary["n_runs"] == 3 and summary["sweep"] == "array" and summary["skipped"] == []


@pytest.fixture(scope="module")
def cancel_sweep(cluster, env, timeout_sweep, tmp_path_factory):
    """Cancel job 1 once it has a checkpoint; analyse; run the same command again."""
    cwd = tmp_path_factory.mktemp("cancel-user")
    sweep = cwd / "multirun" / "cancel"
    process = start("train.py", ["-m", *CANCEL], cwd, env)
    deadline = time.monotonic() + 180
    while not (sweep / "1" / "last.ckpt").is_file():
        assert process.poll() is None and time.monotonic() < deadline, finish(process)[1][-3000:]
        time.sleep(0.2)
    (attempt,) = attempts(sweep / "1")
    cluster.run("scancel", f"{attempt['slurm_array_job_id']}_{attempt['slurm_array_task_id']}")
    first_code, first_output = finish(process)
    wait_for_empty_queue(cluster)
    first = analyze("cancel", cwd, env, "analysis-1")
    fingerprints = {job: Fingerprint.load(sweep / str(job)).run_id for job in (0, 2)}
    again_code, again_output = run("train.py", ["-m", *CANCEL], cwd, env)
    wait_for_empty_queue(cluster)
    again = analyze("cancel", cwd, env, "analysis-2")
    return {
        "cwd": cwd,
        "first": (first_code, first_output, first),
        "again": (again_code, again_output, again),
        "run_ids_before": fingerprints,
    }


def test_a_cancelled_job_is_listed_as_skipped(cancel_sweep):
    code, _, summary = cancel_sweep["first"]
    assert code != 0, "the sweep command reports the cancelled job"
    assert summary["n_runs"] == 2
    (skipped,) = summary["skipped"]
    assert Path(skipped["run"]).name == "1"
    assert "SIGTERM" in skipped["reason"] or "killed" in skipped["reason"], skipped


def test_the_same_command_again_completes_only_the_cancelled_job(cancel_sweep):
    code, output, _ = cancel_sweep["again"]
    assert code == 0, output[-3000:]
    sweep = cancel_sweep["cwd"] / "multirun" / "cancel"
    for job, run_id in cancel_sweep["run_ids_before"].items():
        assert Fingerprint.load(sweep / str(job)).run_id == run_id
        assert len(attempts(sweep / str(job))) == 1  # not trained again
    cancelled = attempts(sweep / "1")
    assert [a["resumed"] for a in cancelled] == [False, True]
    assert cancelled[1]["start_step"] > 0 and cancelled[1]["start_step"] % 50 == 0
    assert Fingerprint.load(sweep / "1").meta["steps"] == 400
    logs = job_logs(sweep)
    assert logs.count("skipped (rerun=skip)") == 2
    assert logs.count(f"resuming {sweep / '1' / 'last.ckpt'} from step") == 1


def test_a_cancelled_then_rerun_sweep_has_every_run_exactly_once(cancel_sweep):
    _, _, summary = cancel_sweep["again"]
    assert summary["n_runs"] == 3 and summary["skipped"] == []
    sweep = cancel_sweep["cwd"] / "multirun" / "cancel"
    run_ids = [Fingerprint.load(sweep / str(job)).run_id for job in range(3)]
    assert len(set(run_ids)) == 3
    assert summary["result_run_ids"] == sorted(run_ids)


def test_a_job_past_its_time_limit_is_requeued_and_resumes_to_the_same_final_step(
    cluster, timeout_sweep
):
    cwd, _, _ = timeout_sweep(cluster)
    sweep = cwd / "multirun" / "timeout"
    job = sweep / "0"
    logs = job_logs(sweep)
    assert "Caught signal SIGUSR2" in logs and "this job is timed-out" in logs
    assert "Requeued job" in logs
    tries = attempts(job)
    assert len(tries) >= 2 and len({a["slurm_job_id"] for a in tries}) == 1
    assert [a["slurm_restart_count"] for a in tries] == list(range(len(tries)))
    assert [a["resumed"] for a in tries] == [False] + [True] * (len(tries) - 1)
    starts = [a["start_step"] for a in tries]
    assert starts == sorted(starts) and 0 < starts[1] < TIMEOUT_STEPS and starts[1] % 50 == 0
    assert [p.name for p in (job / "csv").iterdir() if p.is_dir()] == []  # one log
    with (job / "csv" / "metrics.csv").open(newline="") as f:
        logged = [int(float(r["step"])) for r in csv.DictReader(f) if r.get("train/loss")]
    assert logged == sorted(set(logged)) and logged[-1] >= TIMEOUT_STEPS - 1
    fp = Fingerprint.load(job)
    assert fp.meta["steps"] == TIMEOUT_STEPS
    assert list(job.glob("fingerprint*")) == [job / "fingerprint.npz"]
    # wandb sync <job>/wandb/offline-run-* uploads one run: the interrupted ones are superseded
    (run,) = (job / "wandb").glob("offline-run-*")
    assert run.name.endswith(fp.run_id)
    assert b"fingerprint-" in next(run.glob("run-*.wandb")).read_bytes()
    superseded = list((job / "wandb").glob("superseded-offline-run-*"))
    assert len(superseded) == len(tries) - 1
    assert (job / "train.log").read_text().count("fingerprint of run") == 1
    assert not (job / "error.txt").exists()  # the interrupted attempts' are archived
    assert len(list(job.glob("error.*.txt"))) == len(tries) - 1


def test_the_sweep_command_waits_for_the_requeued_job(cluster, timeout_sweep):
    _, code, output = timeout_sweep(cluster)
    assert code == 0, output[-3000:]
    assert "ConnectionResetError" not in output
