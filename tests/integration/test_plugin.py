"""infoprint as a plugin, proved as a user meets it (issue: "pip install and go").

A wheel built from the repository is installed (non-editable) into a fresh virtual
environment outside the repository; a small foreign Lightning + Hydra project
(``tests/plugin_project``: its own layout, model, datamodule and ``callbacks`` package, on
the ``lightning`` package, W&B logger offline) adds the fingerprint callback with a config
file of plain arguments, trains a 3-seed sweep and is analysed by ``AnalyzeSweep`` at the
sweep's end and by ``infoprint-analyze``; the same callback runs from LightningCLI and under
DDP. The environment's other packages come from the test's own environment through a
``.pth`` line (whose own ``.pth`` files, the editable checkout's among them, are not read),
so nothing is downloaded and the suite stays fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from infoprint.fingerprint.record import Fingerprint

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
PROJECT = ROOT / "tests" / "plugin_project"


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 600):
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding infoprint from a wheel (its bin/ folder)."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"  # the repository's files, so the checkout gets no build/
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    env = dict(os.environ)
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"), str(source)],
        work,
        env,
    )
    (wheel,) = (work / "dist").glob("infoprint-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")], work, env)
    python = work / "venv" / "bin" / "python"
    purelib = _run([str(python), "-c", PURELIB], work, env).stdout.strip()
    Path(purelib, "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], work, env
    )
    return python.parent


@pytest.fixture
def user_env(venv: Path, tmp_path: Path) -> dict[str, str]:
    """The user's shell: the environment's bin/ first, the project's src/ importable."""
    env = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(tmp_path / "project" / "src")
    env.update(PYTHONUNBUFFERED="1", HYDRA_FULL_ERROR="1")
    env.pop("PYTHONHOME", None)
    shutil.copytree(PROJECT, tmp_path / "project")
    return env


def test_the_wheel_installs_infoprint_alone_and_its_code_is_imported(venv, user_env, tmp_path):
    site = Path(_run([str(venv / "python"), "-c", PURELIB], tmp_path, user_env).stdout.strip())
    top = sorted(p.name for p in site.iterdir() if not p.name.endswith((".dist-info", ".pth")))
    assert top == ["hydra_plugins", "infoprint"], top  # nothing else at top level
    assert sorted(p.name for p in (site / "hydra_plugins").iterdir()) == ["infoprint_packs"]
    probe = (
        "import sys, infoprint, infoprint.callbacks.fingerprint as f, infoprint.conf as c;"
        "print(f.__file__); print(c.__file__); print(*sys.path, sep=chr(10))"
    )
    out = _run([str(venv / "python"), "-c", probe], tmp_path, user_env).stdout.splitlines()
    assert out[0].startswith(str(site)) and out[1].startswith(str(site)), out
    assert not {str(ROOT), str(ROOT / "src"), str(ROOT / "callbacks")} & set(out[2:])
    assert (site / "infoprint" / "conf" / "experiment" / "demo.yaml").is_file()
    # the commands find the config tree in the package, from any working directory
    job = _run([str(venv / "infoprint-train"), "--cfg", "job"], tmp_path, user_env).stdout
    assert "infoprint.callbacks.FingerprintCallback" in job and "sweep_name" in job
    module = _run(
        [str(venv / "python"), "-m", "infoprint", "analyze", "--cfg", "job"], tmp_path, user_env
    ).stdout
    assert "information_threshold" in module
    usage = subprocess.run(
        [str(venv / "python"), "-m", "infoprint"],
        cwd=tmp_path,
        env=user_env,
        capture_output=True,
        text=True,
    )
    assert usage.returncode == 2 and "train" in usage.stderr and "analyze" in usage.stderr


def test_a_foreign_sweep_is_fingerprinted_logged_and_analysed(venv, user_env, tmp_path):
    project = tmp_path / "project"
    sweep_args = ["-m", "seed=0,1,2", "model.beta=1.0"]  # the user's own sweep command
    _run([str(venv / "python"), "src/train.py", *sweep_args], project, user_env)
    (sweep,) = (project / "logs" / "train" / "multiruns").iterdir()
    for job in range(3):
        run_dir = sweep / str(job)
        assert (run_dir / "steps.txt").read_text() == "60"  # the project's own callback ran
        fp = Fingerprint.load(run_dir)
        meta = fp.meta
        assert fp.mu.shape == (300, 3) and np.isfinite(fp.logvar).all()
        assert (meta["model"], meta["seed"], meta["job_num"]) == ("DigitsVAE", job, job)
        assert meta["sweep"] == sweep.name and meta["steps"] == 60
        hparams = {"latent_dim": 3, "hidden": 64, "beta": 1.0, "lr": 0.003, "model.beta": 1.0}
        assert meta["hyperparameters"] == hparams  # the module's, and the sweep's overrides
        assert meta["factor_names"] == ["factor_0"] and fp.factors.max() == 9  # digit labels
        (wandb_run,) = (run_dir / "wandb").glob("offline-run-*")  # the logger's run, only
        assert wandb_run.name.endswith(meta["run_id"]) and meta["wandb"]["project"] == "digits-vae"
        log = next(wandb_run.glob("run-*.wandb")).read_bytes()
        assert f"fingerprint-{meta['run_id']}".encode() in log  # the artifact, in that run
    summary = json.loads((sweep / "analysis" / "summary.json").read_text())  # AnalyzeSweep
    assert len(summary["runs"]) == 3 and summary["wandb"]["project"] == "digits-vae"
    assert "traversals" not in {f["step"] for f in summary.get("failed_steps", [])}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run(
        [
            str(venv / "infoprint-analyze"),
            f"source.path={sweep}",
            "hydra.run.dir=again",
            "hotspot_fusion.enabled=false",
        ],
        elsewhere,
        user_env,
    )
    again = json.loads((elsewhere / "again" / "summary.json").read_text())
    assert len(again["runs"]) == 3


def test_the_callback_from_lightning_cli(venv, user_env, tmp_path):
    project = tmp_path / "project"
    root = tmp_path / "cli-run"
    _run(
        [
            str(venv / "python"),
            "src/cli.py",
            "fit",
            "--model",
            "digitsvae.model.DigitsVAE",
            "--data",
            "digitsvae.data.DigitsData",
            "--trainer.max_steps",
            "30",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.default_root_dir",
            str(root),
            "--trainer.callbacks+=infoprint.callbacks.FingerprintCallback",
            "--trainer.callbacks.size",
            "200",
        ],
        project,
        user_env,
    )
    (run_dir,) = {p.parent for p in root.rglob("fingerprint.npz")}
    fp = Fingerprint.load(run_dir)
    assert fp.mu.shape == (200, 3) and fp.meta["model"] == "DigitsVAE"
    assert isinstance(fp.meta["seed"], int)  # LightningCLI seeds; the callback reads it


DDP_SCRIPT = """
import lightning.pytorch as L
from digitsvae.data import DigitsData
from digitsvae.model import DigitsVAE
from infoprint.callbacks import FingerprintCallback

if __name__ == "__main__":
    L.seed_everything(3)
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=20,
                        enable_progress_bar=False, default_root_dir="ddp-run", logger=False,
                        enable_checkpointing=False, callbacks=[FingerprintCallback(size=100)])
    trainer.fit(DigitsVAE(), datamodule=DigitsData())
"""
CHECK_ABSENT = """
    import sys
    print("pytorch_lightning imported:", "pytorch_lightning" in sys.modules)
"""


# Makes `pytorch_lightning` unimportable in every process of the run: `lightning` alone.
WITHOUT_PYTORCH_LIGHTNING = """
import sys


class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pytorch_lightning":
            raise ImportError(f"{name} is not installed here")


sys.meta_path.insert(0, Absent())
"""


def test_the_callback_under_ddp_on_lightning_alone_writes_once_from_rank_zero(
    venv, user_env, tmp_path
):
    project = tmp_path / "project"
    (project / "ddp.py").write_text(DDP_SCRIPT + CHECK_ABSENT)
    site = tmp_path / "lightning-alone"
    site.mkdir()
    (site / "sitecustomize.py").write_text(WITHOUT_PYTORCH_LIGHTNING)
    env = {**user_env, "PYTHONPATH": f"{site}{os.pathsep}{user_env['PYTHONPATH']}"}
    out = _run([str(venv / "python"), "ddp.py"], project, env).stdout
    assert "pytorch_lightning imported: False" in out
    written = list((project / "ddp-run").rglob("fingerprint.npz"))
    assert len(written) == 1
    fp = Fingerprint.load(written[0].parent)
    assert fp.mu.shape == (100, 3) and fp.meta["seed"] == 3 and fp.meta["steps"] == 20
