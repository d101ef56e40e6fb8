"""train(cfg): one run of a sweep, from a composed Hydra config to a fingerprint on disk.

A plain function (the lightning-hydra-template pattern) so tests can call it with a
config composed in-process; ``train.py`` only wraps it in ``@hydra.main``.

Reruns. A job directory that already holds results is handled by ``rerun``:

- ``skip`` (default): a finished job (``fingerprint.npz`` + ``run.json``) is skipped; an
  unfinished one with a ``last.ckpt`` resumes from it; any other starts afresh. Running
  the same sweep command with the same ``sweep_name`` again thus completes the sweep.
- ``resume``: every job with a ``last.ckpt`` resumes from it, finished or not (e.g. to
  train further after raising ``trainer.max_steps``) and rewrites its fingerprint; the
  others behave as under ``skip``.
- ``overwrite``: previous results (fingerprint, run.json, last.ckpt) are deleted and the
  job trains from scratch.

Skipped and resumed jobs must be the same run as before (model, hyper-parameters, seed,
dataset); a mismatch, e.g. a reused ``sweep_name`` with another grid, is a ConfigError.
A resumed job continues the saved global step, optimiser states and loop state; it is a
new W&B run (same group and name) and writes its metrics to ``csv/resumed-<step>/``.
Its data stream and sampling noise restart from the seed, so a resumed run is
statistically, not bitwise, the same as an uninterrupted one.

Checkpoints. The checkpoint callback (conf/callbacks) writes ``last.ckpt`` into the job
directory every 1000 steps; at the end of training train() saves the final state there
too, and with ``log_checkpoint: true`` logs it to W&B as artifact ``model-<run id>``
(type ``model``). Checkpoints are loaded with ``weights_only=True``.
"""

from __future__ import annotations

import json
import logging
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger

from callbacks.fingerprint import FingerprintCallback
from infoprint import tracking
from infoprint.fingerprint.record import FINGERPRINT_FILE, RUN_FILE
from infoprint.models.vae import VAE
from infoprint.run import RunContext, git_commit, new_run_id
from infoprint.tasks.config import ConfigError, check_train_config, rerun_mode

log = logging.getLogger(__name__)

ERROR_FILE = "error.txt"
LAST_CHECKPOINT = "last.ckpt"
IDENTITY_KEYS = ("model", "hyperparameters", "seed", "dataset")

# Lightning warns on every step-triggered save under manual optimisation that the
# checkpoint holds the weights after that step's update; that is what resuming needs.
_MANUAL_CHECKPOINT_WARNING = "Using ModelCheckpoint with manual optimization"


def _job_num() -> int:
    if not HydraConfig.initialized():
        return 0
    return int(OmegaConf.select(HydraConfig.get(), "job.num", default=0) or 0)


def _objective_hyperparameters(model_cfg: DictConfig) -> dict[str, Any]:
    values = OmegaConf.to_container(model_cfg, resolve=True)
    return {k: v for k, v in values.items() if not k.startswith("_")}


def run_context(cfg: DictConfig, model_name: str, dataset_name: str) -> RunContext:
    output_dir = Path(cfg.paths.output_dir)
    return RunContext(
        run_id=new_run_id(),
        sweep=str(cfg.sweep_name),
        job_num=_job_num(),
        output_dir=output_dir,
        model=model_name,
        hyperparameters=_objective_hyperparameters(cfg.model),
        seed=int(cfg.seed),
        dataset=dataset_name,
        git_commit=git_commit(Path(__file__).resolve().parent),
    )


def complete_model_config(cfg: DictConfig, dataset_size: int) -> None:
    """Fill ``model.dataset_size: null`` with the training set's size (β-TCVAE's MWS)."""
    if "dataset_size" in cfg.model and cfg.model.dataset_size is None:
        cfg.model.dataset_size = dataset_size


def build_model(cfg: DictConfig, observation_shape: tuple[int, ...]) -> VAE:
    net = instantiate(cfg.net, observation_shape=list(observation_shape))
    objective = instantiate(cfg.model)
    return VAE(
        net=net,
        objective=objective,
        likelihood=cfg.likelihood.name,
        likelihood_scale=cfg.likelihood.scale,
        lr=cfg.optim.lr,
        betas=tuple(cfg.optim.betas),
    )


@dataclass(frozen=True)
class Attempt:
    """What this run of a job does: skip it, or train (from ``checkpoint`` when set)."""

    skip: bool
    checkpoint: Path | None


def plan_attempt(output_dir: Path, mode: str) -> Attempt:
    """Decide from the job directory's contents and ``rerun`` mode (see module docstring)."""
    finished = (output_dir / FINGERPRINT_FILE).is_file() and (output_dir / RUN_FILE).is_file()
    checkpoint = output_dir / LAST_CHECKPOINT
    if mode == "overwrite":
        return Attempt(skip=False, checkpoint=None)
    if checkpoint.is_file() and (mode == "resume" or not finished):
        return Attempt(skip=False, checkpoint=checkpoint)
    return Attempt(skip=finished, checkpoint=None)


def run_identity(context: RunContext) -> dict[str, Any]:
    """What makes two attempts the same run: model, hyper-parameters, seed, dataset."""
    meta = context.meta()
    return {key: meta[key] for key in IDENTITY_KEYS}


def _check_same_run(identity: dict[str, Any], previous: dict[str, Any], source: Path) -> None:
    for key in IDENTITY_KEYS:
        if previous.get(key) != identity[key]:
            raise ConfigError(
                f"{source} belongs to another run ({key} {previous.get(key)!r} there, "
                f"{identity[key]!r} now): the jobs of sweep_name changed. Use a new "
                f"sweep_name, or rerun=overwrite to replace the old results"
            )


def checkpoint_step(path: Path, identity: dict[str, Any]) -> int:
    """The global step of checkpoint ``path`` after checking it is this run's."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    previous = checkpoint.get("hyper_parameters", {}).get("run", {})
    _check_same_run(identity, previous, path)
    return int(checkpoint["global_step"])


def _remove_results(output_dir: Path) -> None:
    for name in (FINGERPRINT_FILE, RUN_FILE, LAST_CHECKPOINT):
        if (output_dir / name).is_file():
            log.info("rerun=overwrite: removing %s", output_dir / name)
            (output_dir / name).unlink()


def _archive_error(output_dir: Path) -> None:
    """Keep a previous attempt's error.txt as error.<k>.txt (it no longer marks a failure)."""
    error = output_dir / ERROR_FILE
    if error.is_file():
        k = 1
        while (archived := output_dir / f"error.{k}.txt").exists():
            k += 1
        error.rename(archived)


def _callbacks(cfg: DictConfig, context: RunContext) -> list[pl.Callback]:
    callbacks: list[pl.Callback] = [FingerprintCallback(context=context, **cfg.fingerprint)]
    for node in (cfg.get("callbacks") or {}).values():
        made = instantiate(node)
        callbacks.append(made(context=context) if node.get("_partial_") else made)
    return callbacks


def _loggers(cfg: DictConfig, context: RunContext, resumed_from: int | None) -> list[Logger]:
    version = "" if resumed_from is None else f"resumed-{resumed_from}"
    loggers: list[Logger] = [CSVLogger(save_dir=context.output_dir, name="csv", version=version)]
    config = OmegaConf.to_container(cfg, resolve=True)
    if resumed_from is not None:
        config["resumed_from_step"] = resumed_from
    run = tracking.start_run(
        project=cfg.logger.project,
        entity=cfg.logger.entity,
        mode=cfg.logger.mode,
        directory=context.output_dir,
        run_id=context.run_id,
        name=context.run_name,
        group=context.sweep,
        job_type="train",
        config=config,
        tags=list(cfg.logger.tags),
    )
    if run is not None:
        context.wandb = tracking.active_run_ids()
        loggers.append(WandbLogger(experiment=run))
    return loggers


def _save_last_checkpoint(trainer: pl.Trainer, output_dir: Path) -> Path | None:
    """Write the final state to ``last.ckpt`` when checkpointing is configured."""
    if trainer.checkpoint_callback is None:
        return None
    path = output_dir / LAST_CHECKPOINT
    trainer.save_checkpoint(path, weights_only=False)
    return path


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one model and fingerprint it (or skip / resume it, see ``rerun``).

    Returns ``run_id``, ``output_dir`` and ``status`` (trained | resumed | skipped).
    """
    check_train_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    mode = rerun_mode(cfg)
    attempt = plan_attempt(output_dir, mode)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data, seed=cfg.seed)
    dataset = datamodule.dataset
    complete_model_config(cfg, len(dataset))
    model = build_model(cfg, dataset.observation_shape)
    context = run_context(cfg, model.objective.name, dataset.name)
    identity = run_identity(context)
    if attempt.skip:
        previous = json.loads((output_dir / RUN_FILE).read_text())
        _check_same_run(identity, previous, output_dir / RUN_FILE)
        log.info(
            "job %s is finished (run %s); skipped (rerun=skip)", output_dir, previous["run_id"]
        )
        return {"run_id": previous["run_id"], "output_dir": str(output_dir), "status": "skipped"}
    resumed_from = None
    if attempt.checkpoint is not None:
        resumed_from = checkpoint_step(attempt.checkpoint, identity)
        log.info("resuming %s from step %d", attempt.checkpoint, resumed_from)
    elif mode == "overwrite":
        _remove_results(output_dir)
    _archive_error(output_dir)
    model.save_hyperparameters({"run": identity}, logger=False)
    exit_code = 1
    try:
        loggers = _loggers(cfg, context, resumed_from)
        trainer: pl.Trainer = instantiate(
            cfg.trainer,
            logger=loggers,
            callbacks=_callbacks(cfg, context),
            default_root_dir=str(output_dir),
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_MANUAL_CHECKPOINT_WARNING)
            trainer.fit(
                model, datamodule=datamodule, ckpt_path=attempt.checkpoint, weights_only=True
            )
        checkpoint = _save_last_checkpoint(trainer, output_dir)
        if checkpoint is not None and cfg.get("log_checkpoint"):
            tracking.log_checkpoint(checkpoint, context.run_id)
        exit_code = 0
    except BaseException:
        (output_dir / ERROR_FILE).write_text(traceback.format_exc())
        raise
    finally:
        tracking.finish_active_run(exit_code)
    status = "trained" if resumed_from is None else "resumed"
    return {"run_id": context.run_id, "output_dir": str(output_dir), "status": status}
