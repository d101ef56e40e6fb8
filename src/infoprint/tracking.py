"""The one place that writes to Weights & Biases (DESIGN §5).

Runs are started with ``mode`` from the config (default ``${oc.env:WANDB_MODE,offline}``),
so a machine without an account or network still records everything; ``wandb sync``
uploads later. The process-wide mode is never flipped (no ``WandbLogger(offline=True)``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import wandb

log = logging.getLogger(__name__)

FINGERPRINT_ARTIFACT_TYPE = "fingerprint"


def start_run(
    *,
    project: str,
    entity: str | None,
    mode: str,
    directory: Path,
    run_id: str | None,
    name: str,
    group: str,
    job_type: str,
    config: dict[str, Any],
    tags: list[str] | None = None,
) -> Any:
    """Start a W&B run (or return None for ``mode=disabled``) with its files in ``directory``."""
    if mode not in ("online", "offline", "disabled", "shared"):
        raise ValueError(
            f"logger.mode must be online, offline or disabled, got {mode!r} "
            f"(set it in the config or through WANDB_MODE)"
        )
    if mode == "disabled":
        return None
    directory.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        project=project,
        entity=entity,
        mode=mode,
        dir=str(directory),
        id=run_id,
        name=name,
        group=group,
        job_type=job_type,
        config=config,
        tags=tags,
        reinit="finish_previous",
        settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
    )
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


def active_run_ids() -> dict[str, str] | None:
    """Entity, project and id of the active run (for run.json), or None."""
    run = wandb.run
    if run is None:
        return None
    return {
        "entity": run.entity or "",
        "project": run.project or "",
        "run_id": run.id,
        "mode": "offline" if run.offline else "online",
    }


def update_summary(values: dict[str, Any]) -> None:
    if wandb.run is not None:
        wandb.run.summary.update(values)


def log_images(images: dict[str, Any], step: int) -> None:
    """Log image arrays [H, W, 3] in [0, 1] against ``trainer/global_step``."""
    if wandb.run is None:
        return
    payload: dict[str, Any] = {key: wandb.Image(image) for key, image in images.items()}
    wandb.run.log({**payload, "trainer/global_step": step})


def log_fingerprint(directory: Path, files: list[str], meta: dict[str, Any], sweep: str) -> str:
    """Log a run's fingerprint files as artifact ``fingerprint-<run id>``; returns its name."""
    name = f"fingerprint-{meta['run_id']}"
    if wandb.run is None:
        return ""
    artifact = wandb.Artifact(name, type=FINGERPRINT_ARTIFACT_TYPE, metadata=meta)
    for file in files:
        artifact.add_file(str(directory / file), name=file)
    wandb.run.log_artifact(artifact, aliases=["latest"], tags=[_tag(sweep)])
    return name


def log_checkpoint(path: Path, run_id: str) -> None:
    """Log a checkpoint as a W&B ``model`` artifact."""
    if wandb.run is None:
        return
    artifact = wandb.Artifact(f"model-{run_id}", type="model")
    artifact.add_file(str(path), name=path.name)
    wandb.run.log_artifact(artifact, aliases=["latest"])


def log_analysis(
    images: dict[str, Path], tables: dict[str, tuple[list[str], list[list[Any]]]], summary: dict
) -> None:
    """Log the analysis figures (as ``wandb.Image``), tables and summary to the active run."""
    if wandb.run is None:
        return
    payload: dict[str, Any] = {key: wandb.Image(str(path)) for key, path in images.items()}
    payload |= {key: wandb.Table(columns=c, data=rows) for key, (c, rows) in tables.items()}
    wandb.run.log(payload)
    wandb.run.summary.update(summary)


def finish_active_run(exit_code: int = 0) -> None:
    """Finish the active run if there is one (safe to call twice)."""
    if wandb.run is not None:
        log.info("finishing W&B run %s (exit code %d)", wandb.run.id, exit_code)
        wandb.run.finish(exit_code=exit_code)


def _tag(text: str) -> str:
    """W&B artifact tags allow letters, digits, '-', '_' and '.' only."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:128]
