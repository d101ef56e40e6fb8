"""The one place that writes to Weights & Biases (``docs/architecture.md`` §12).

Runs are started with ``mode`` from the config (default ``${oc.env:WANDB_MODE,offline}``),
so a machine without an account or network still records everything; ``wandb sync``
uploads later. The process-wide mode is never flipped (no ``WandbLogger(offline=True)``).

Self-contained run directories: artifact files are staged inside the run's own
``wandb/`` folder (not the user-wide ``~/.local/share/wandb``), so a job folder copied to
another machine still syncs, and nothing outside the project grows. A resumed job is a
new W&B run (same name and group, ``resumed_from_step`` in its config); the offline runs
of its earlier attempts are renamed ``superseded-offline-run-*`` (kept, not deleted), so
that ``wandb sync <job>/wandb/offline-run-*`` uploads one run per job, never a killed
attempt as a separate crashed run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import wandb

from infoprint.store.layout import FINGERPRINT_FILE, RUN_FILE, WANDB_DIR

log = logging.getLogger(__name__)

FINGERPRINT_ARTIFACT_TYPE = "fingerprint"


def start_run(
    *,
    mode: str,
    directory: Path,
    run_id: str | None,
    supersede_earlier: bool = False,
    **identity: Any,
) -> Any:
    """Start a W&B run (or return None for ``mode=disabled``) with its files in ``directory``.

    ``identity``: ``wandb.init``'s project, entity, name, group, job_type, config and tags.
    ``supersede_earlier`` (a resumed job): earlier offline runs in ``directory/wandb`` are
    renamed ``superseded-offline-run-*`` first.
    """
    if mode not in ("online", "offline", "dryrun", "disabled", "shared"):  # dryrun = offline
        raise ValueError(
            f"logger.mode must be online, offline or disabled, got {mode!r} "
            f"(set it in the config or through WANDB_MODE)"
        )
    if mode == "disabled":
        return None
    directory.mkdir(parents=True, exist_ok=True)
    if supersede_earlier:
        supersede_offline_runs(directory / WANDB_DIR)
    settings = wandb.Settings(console="off", silent=True, x_disable_stats=True)
    run = wandb.init(
        mode=mode,
        dir=str(directory),
        id=run_id,
        reinit="finish_previous",
        settings=settings,
        **identity,
    )
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def supersede_offline_runs(wandb_dir: Path) -> list[Path]:
    """Rename ``offline-run-*`` folders of killed attempts to ``superseded-offline-run-*``."""
    renamed = []
    for run_dir in sorted(wandb_dir.glob("offline-run-*")):
        target = run_dir.with_name(f"superseded-{run_dir.name}")
        run_dir.rename(target)
        renamed.append(target)
    return renamed


@contextmanager
def staging_in(directory: Path) -> Iterator[Path]:
    """Stage artifact files under ``directory`` (W&B reads WANDB_DATA_DIR when it stages)."""
    old = os.environ.get("WANDB_DATA_DIR")
    os.environ["WANDB_DATA_DIR"] = str(directory)
    try:
        yield directory
    finally:
        if old is None:
            os.environ.pop("WANDB_DATA_DIR", None)
        else:
            os.environ["WANDB_DATA_DIR"] = old


def active_run_ids(run: Any = None) -> dict[str, str] | None:
    """Entity, project and id of ``run`` (default: the active run) for run.json, or None."""
    run = run if run is not None else wandb.run
    if run is None:
        return None
    return {
        "entity": run.entity or "",
        "project": run.project or "",
        "run_id": run.id,
        "mode": "offline" if run.offline else "online",
    }


def update_summary(values: dict[str, Any], run: Any = None) -> None:
    """Add ``values`` to the summary of ``run`` (default: the active run), if any."""
    run = run if run is not None else wandb.run
    if run is not None:
        run.summary.update(values)


def _own_staging(run: Any) -> Any:
    """Stage what ``run`` logs (tables, media) inside the folder the run was started in."""
    return staging_in(Path(run.settings.root_dir) / WANDB_DIR / "data")


def log_images(images: dict[str, Any], step: int) -> None:
    """Log image arrays [H, W, 3] in [0, 1] against ``trainer/global_step``."""
    if wandb.run is None:
        return
    with _own_staging(wandb.run):
        payload: dict[str, Any] = {key: wandb.Image(image) for key, image in images.items()}
        wandb.run.log({**payload, "trainer/global_step": step})


def log_fingerprint(
    directory: Path, files: list[str], meta: dict[str, Any], sweep: str, run: Any = None
) -> str:
    """Log a run's fingerprint files as artifact ``fingerprint-<run id>`` to ``run`` (default:
    the active run); returns its name."""
    name = f"fingerprint-{meta['run_id']}"
    run = run if run is not None else wandb.run
    if run is None:
        return ""
    with staging_in(directory / WANDB_DIR / "data"):
        artifact = wandb.Artifact(name, type=FINGERPRINT_ARTIFACT_TYPE, metadata=meta)
        for file in files:
            artifact.add_file(str(directory / file), name=file)
        run.log_artifact(artifact, aliases=["latest"], tags=[_tag(sweep)])
    return name


def log_checkpoint(path: Path, run_id: str) -> None:
    """Log a checkpoint as a W&B ``model`` artifact."""
    if wandb.run is None:
        return
    with staging_in(path.parent / WANDB_DIR / "data"):
        artifact = wandb.Artifact(f"model-{run_id}", type="model")
        artifact.add_file(str(path), name=path.name)
        wandb.run.log_artifact(artifact, aliases=["latest"])


def log_analysis(
    images: dict[str, Path], tables: dict[str, tuple[list[str], list[list[Any]]]], summary: dict
) -> None:
    """Log the analysis figures (as ``wandb.Image``), tables and summary to the active run."""
    if wandb.run is None:
        return
    with _own_staging(wandb.run):  # tables are staged as artifacts
        payload: dict[str, Any] = {key: wandb.Image(str(path)) for key, path in images.items()}
        payload |= {key: wandb.Table(columns=c, data=rows) for key, (c, rows) in tables.items()}
        wandb.run.log(payload)
        wandb.run.summary.update(summary)


def use_fingerprints(directories: list[Path], staging: Path) -> int:
    """Declare the fingerprint artifact of every run directory as an input of the active run
    (lineage in the dashboard), staged under ``staging`` (the analysis's own folder);
    returns how many were declared. An offline run cannot declare inputs (W&B refuses
    ``use_artifact`` offline): their names go into its summary as ``inputs/fingerprints``."""
    if wandb.run is None:
        return 0
    if wandb.run.offline:  # W&B declares inputs only online: record their names instead
        names = [f"fingerprint-{_run_id(d)}" for d in directories if (d / RUN_FILE).is_file()]
        wandb.run.summary.update({"inputs/fingerprints": names})
        return len(names)
    used = 0
    for directory in directories:
        meta_file = directory / RUN_FILE
        if not (directory / FINGERPRINT_FILE).is_file() or not meta_file.is_file():
            continue
        run_id = _run_id(directory)
        with staging_in(staging / WANDB_DIR / "data"):
            artifact = wandb.Artifact(f"fingerprint-{run_id}", type=FINGERPRINT_ARTIFACT_TYPE)
            for name in (FINGERPRINT_FILE, RUN_FILE):
                artifact.add_file(str(directory / name), name=name)
            wandb.run.use_artifact(artifact)
        used += 1
    return used


def log_outputs(name: str, directory: Path, files: list[Path]) -> None:
    """Log an analysis's output files as artifact ``name`` of type ``analysis``."""
    if wandb.run is None:
        return
    with staging_in(directory / WANDB_DIR / "data"):
        artifact = wandb.Artifact(_tag(name), type="analysis")
        for path in files:
            if path.is_file():
                artifact.add_file(str(path), name=str(path.relative_to(directory)))
        wandb.run.log_artifact(artifact)


def finish_active_run(exit_code: int = 0) -> None:
    """Finish the active run if there is one (safe to call twice)."""
    if wandb.run is not None:
        log.info("finishing W&B run %s (exit code %d)", wandb.run.id, exit_code)
        wandb.run.finish(exit_code=exit_code)


def _run_id(directory: Path) -> str:
    return str(json.loads((directory / RUN_FILE).read_text()).get("run_id", directory.name))


def _tag(text: str) -> str:
    """W&B artifact tags allow letters, digits, '-', '_' and '.' only."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:128]
