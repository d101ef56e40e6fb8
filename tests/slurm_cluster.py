"""A real single-node SLURM cluster on localhost for the tests: munged, slurmctld, slurmd.

Everything lives in one temp folder (munge key and socket, slurm.conf, state, spool, logs)
and the three daemons run in the foreground as children of this process, so stopping the
cluster ends exactly what it started. No cgroups are needed (proctrack/linuxproc,
task/none), root is SlurmUser, and the ports are free ones picked at start, so the cluster
leaves the machine's own SLURM or munge (if any) alone. The node offers 8 CPUs whatever
the machine has (``SlurmdParameters=config_overrides``), so a few small jobs with the
launcher's CPU requests fit on a 2-core machine. Job credentials live 10 s
(``AuthInfo=cred_expire``), which is also how long SLURM holds a requeued job back (+1 s;
the default is 2 minutes). Clients find it through
``SLURM_CONF`` (see ``SlurmCluster.env``); ``sbatch`` exports the submitting environment to
the jobs, so jobs see it too.

Without accounting (no slurmdbd) ``sacct`` cannot answer, and submitit asks ``sacct`` for
the state of jobs that end without a result file (e.g. cancelled ones). The cluster
therefore puts a small ``sacct`` on ``PATH`` (``bin/sacct`` in its folder) that answers
submitit's one question (``sacct -o JobID,State,NodeList --parsable2 -j ID ...``) from
``scontrol show job``, which keeps finished jobs for ``MinJobAge`` seconds, and from the
job completion log (``jobcomp/filetxt``) after that.

Run it by hand to try a sweep on it:  python tests/slurm_cluster.py  (Ctrl-C stops it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")

# Seconds a finished job stays visible to scontrol/squeue (SLURM's minimum is 2).
MIN_JOB_AGE = 30
# Job credential lifetime; SLURM holds a requeued job back for this long + 1 s (default 120).
CRED_EXPIRE = 10

SLURM_CONF = """\
ClusterName=infoprint-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.socket.2,cred_expire={cred_expire}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/log/jobcomp.log
PlugStackConfig={root}/plugstack.conf
ReturnToService=2
MinJobAge={min_job_age}
KillWait=5
OverTimeLimit=0
InactiveLimit=0
MessageTimeout=20
SlurmdParameters=config_overrides
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""

# submitit's only sacct call: sacct -o JobID,State,NodeList --parsable2 -j ID [-j ID ...]
SACCT = """\
#!{python}
# sacct for a cluster without slurmdbd, for submitit's status query only. Rows come from
# `scontrol show job` (live and recently finished jobs), remembered in a cache so that a
# job's array id outlives MinJobAge, and from the job completion log for the final state.
import json, os, subprocess, sys

CACHE, JOBCOMP = {cache!r}, {jobcomp!r}


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


ids = [sys.argv[i + 1] for i, arg in enumerate(sys.argv[:-1]) if arg == "-j"]
try:
    with open(CACHE) as f:
        rows = json.load(f)
except (OSError, ValueError):
    rows = {{}}
with open(JOBCOMP, errors="replace") as f:
    for line in f:
        job = fields(line)
        name = rows.get(job.get("JobId"), [job.get("JobId")])[0]
        rows[job.get("JobId")] = [name, job.get("JobState", "UNKNOWN"), job.get("NodeList", "")]
live = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True)
for line in live.stdout.splitlines():
    job = fields(line)
    array, task = job.get("ArrayJobId"), job.get("ArrayTaskId", "")
    name = job.get("JobId")
    if array:
        name = f"{{array}}_{{task}}" if task.isdigit() else f"{{array}}_[{{task}}]"
    rows[job.get("JobId")] = [name, job.get("JobState", "UNKNOWN"), job.get("NodeList", "")]
with open(CACHE + ".tmp", "w") as f:
    json.dump(rows, f)
os.replace(CACHE + ".tmp", CACHE)
print("JobID|State|NodeList")
for name, state, nodes in rows.values():
    if name and name.split("_")[0] in ids:
        print(f"{{name}}|{{state}}|{{nodes}}")
"""


def missing_programs() -> list[str]:
    """SLURM and munge programs this machine lacks (empty: a cluster can start)."""
    return [p for p in (*DAEMONS, *CLIENTS) if shutil.which(p) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 - 512
    return 4096


class SlurmCluster:
    """One partition (``test``) with one node (this machine, ``cpus`` CPUs) on localhost."""

    def __init__(self, root: Path | None = None, cpus: int = 8) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="infoprint-slurm-"))
        self.cpus = cpus
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        """What clients (and, through sbatch, the jobs) need to talk to this cluster."""
        return {
            "SLURM_CONF": str(self.conf),
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def run(self, *args: str, check: bool = True) -> str:
        """A client command (scontrol, squeue, scancel, ...) against this cluster."""
        result = subprocess.run(
            args, env={**os.environ, **self.env}, capture_output=True, text=True, timeout=60
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, timeout: float = 60) -> SlurmCluster:
        for sub in ("munge", "state", "spool", "run", "log", "bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(self.root / sub, 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        (self.root / "log" / "jobcomp.log").touch()
        (self.root / "plugstack.conf").touch()
        self.conf.write_text(
            SLURM_CONF.format(
                host=self.node,
                node=self.node,
                root=self.root,
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                cpus=self.cpus,
                memory_mb=_memory_mb(),
                min_job_age=MIN_JOB_AGE,
                cred_expire=CRED_EXPIRE,
            )
        )
        sacct = self.root / "bin" / "sacct"
        sacct.write_text(
            SACCT.format(
                python=sys.executable,
                cache=str(self.root / "state" / "sacct-cache.json"),
                jobcomp=str(self.root / "log" / "jobcomp.log"),
            )
        )
        sacct.chmod(0o755)
        munge = self.root / "munge"
        log = self.root / "log" / "munged.log"
        munged = ["munged", "--foreground", "--force", f"--key-file={key}", f"--log-file={log}"]
        munged += [f"--socket={munge / 'munge.socket.2'}", f"--pid-file={munge / 'munged.pid'}"]
        self._spawn("munged", [*munged, f"--seed-file={munge / 'seed'}"])
        self._wait(lambda: (munge / "munge.socket.2").exists(), timeout, "munged's socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._ok("scontrol", "ping"), timeout, "slurmctld to answer")
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, f"node {self.node} to be idle")
        return self

    def stop(self) -> None:
        """Cancel every job, then end slurmd, slurmctld and munged (in that order)."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self._ok("scancel", "--full", "--user=root")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.run("squeue", "-h", check=False).strip():
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self, lines: int = 40) -> str:
        """The end of each daemon's log, for failure messages."""
        parts = []
        for log in sorted((self.root / "log").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def _spawn(self, name: str, command: list[str]) -> None:
        with open(self.root / "log" / f"{name}.out", "wb") as out:  # the child keeps its copy
            self.processes[name] = subprocess.Popen(
                command,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _ok(self, *args: str) -> bool:
        try:
            self.run(*args)
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        return True

    def _node_idle(self) -> bool:
        state = self.run("sinfo", "-h", "-N", "-o", "%T", check=False).strip()
        return state == "idle"

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name} exited ({process.returncode})\n{self.logs()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"timed out waiting for {what}\n{self.logs()}")
            time.sleep(0.2)


if __name__ == "__main__":
    if missing := missing_programs():
        sys.exit(
            f"missing {', '.join(missing)}: apt-get install slurmctld slurmd slurm-client munge"
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    with SlurmCluster() as cluster:
        print(f"export SLURM_CONF={cluster.conf} PATH={cluster.root / 'bin'}:$PATH", flush=True)
        while True:
            signal.pause()
