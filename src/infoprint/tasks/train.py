"""train(cfg): one run of a sweep, from a composed Hydra config to a fingerprint on disk.

A plain function (the lightning-hydra-template pattern) so tests can call it with a
config composed in-process; ``train.py`` only wraps it in ``@hydra.main``.
"""

from __future__ import annotations

import logging
import traceback
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
from infoprint.models.vae import VAE
from infoprint.run import RunContext, git_commit, new_run_id
from infoprint.tasks.config import check_train_config

log = logging.getLogger(__name__)

ERROR_FILE = "error.txt"


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


def _callbacks(cfg: DictConfig, context: RunContext) -> list[pl.Callback]:
    callbacks: list[pl.Callback] = [FingerprintCallback(context=context, **cfg.fingerprint)]
    for node in (cfg.get("callbacks") or {}).values():
        made = instantiate(node)
        callbacks.append(made(context=context) if node.get("_partial_") else made)
    return callbacks


def _loggers(cfg: DictConfig, context: RunContext) -> list[Logger]:
    loggers: list[Logger] = [CSVLogger(save_dir=context.output_dir, name="csv", version="")]
    run = tracking.start_run(
        project=cfg.logger.project,
        entity=cfg.logger.entity,
        mode=cfg.logger.mode,
        directory=context.output_dir,
        run_id=context.run_id,
        name=context.run_name,
        group=context.sweep,
        job_type="train",
        config=OmegaConf.to_container(cfg, resolve=True),
        tags=list(cfg.logger.tags),
    )
    if run is not None:
        context.wandb = tracking.active_run_ids()
        loggers.append(WandbLogger(experiment=run))
    return loggers


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one model and fingerprint it; returns the run's fingerprint metadata."""
    check_train_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data, seed=cfg.seed)
    dataset = datamodule.dataset
    model = build_model(cfg, dataset.observation_shape)
    context = run_context(cfg, model.objective.name, dataset.name)
    exit_code = 1
    try:
        loggers = _loggers(cfg, context)
        trainer: pl.Trainer = instantiate(
            cfg.trainer,
            logger=loggers,
            callbacks=_callbacks(cfg, context),
            default_root_dir=str(output_dir),
        )
        trainer.fit(model, datamodule=datamodule)
        exit_code = 0
    except BaseException:
        (output_dir / ERROR_FILE).write_text(traceback.format_exc())
        raise
    finally:
        tracking.finish_active_run(exit_code)
    return {"run_id": context.run_id, "output_dir": str(output_dir)}
