"""train(cfg): one run of a sweep, from a composed Hydra config to a fingerprint on disk.

A plain function (the lightning-hydra-template pattern) so tests can call it with a
config composed in-process; ``train.py`` only wraps it in ``@hydra.main``. The run
directory (:class:`~infoprint.run.directory.RunDirectory`) owns the job's files, its
state and the rerun decision (``rerun=skip|resume|overwrite``, see its docstring); the
model is built by :func:`~infoprint.models.builder.build_model` from plain values that
every checkpoint stores.

Reruns. Skipped and resumed jobs must be the same run as before (model, hyper-parameters,
seed, dataset); a mismatch, e.g. a reused ``sweep_name`` with another grid, is a
ConfigError. A resumed job continues the saved global step, optimiser states and loop
state; it is a new W&B run (same group and name; the earlier attempts' offline runs are
marked superseded) and continues ``csv/metrics.csv`` from the step it resumes at. Its data
stream and sampling noise restart from the seed, so a resumed run is statistically, not
bitwise, the same as an uninterrupted one.

Failures. Anything that goes wrong once the job directory exists, a checkpoint refused by
``weights_only=True`` included, writes ``error.txt`` there before the error propagates;
the other jobs of the sweep still run.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import Logger, WandbLogger

from infoprint import tracking
from infoprint.errors import ConfigError
from infoprint.models.builder import build_model, model_spec
from infoprint.run.checkpoint import DurableCheckpointIO
from infoprint.run.context import RunContext, git_commit, new_run_id
from infoprint.run.directory import Attempt, RunDirectory, RunDirectoryError
from infoprint.run.metrics_log import MetricsLog
from infoprint.tasks.config import check_train_config, rerun_mode
from infoprint.tasks.terminal import show_config, silence_third_party_noise

log = logging.getLogger(__name__)

# Lightning warns on every step-triggered save under manual optimisation that the
# checkpoint holds the weights after that step's update; that is what resuming needs.
_MANUAL_CHECKPOINT_WARNING = "Using ModelCheckpoint with manual optimization"
TREE_FIRST = ("model", "net", "data", "likelihood", "optim", "trainer", "fingerprint")


def _job_num() -> int:
    if not HydraConfig.initialized():
        return 0
    return int(OmegaConf.select(HydraConfig.get(), "job.num", default=0) or 0)


def _plain(node: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]


def _hyperparameters(spec_objective: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec_objective.items() if not k.startswith("_")}


def build(
    cfg: DictConfig, job_num: int | None = None
) -> tuple[pl.LightningDataModule, pl.LightningModule, RunContext]:
    """The data module, the freshly initialised model and the run's context (job number:
    ``job_num`` when given, a pack member's, else Hydra's)."""
    datamodule = instantiate(cfg.data, seed=cfg.seed)
    dataset = datamodule.dataset
    spec = model_spec(
        objective=_plain(cfg.model),
        net=_plain(cfg.net),
        likelihood=_plain(cfg.likelihood),
        optim=_plain(cfg.optim),
        observation_shape=tuple(dataset.observation_shape),
        dataset_size=len(dataset),
    )
    model = build_model(spec)
    context = RunContext(
        run_id=new_run_id(),
        sweep=str(cfg.sweep_name),
        job_num=_job_num() if job_num is None else int(job_num),
        output_dir=Path(cfg.paths.output_dir),
        model=model.objective.name,
        hyperparameters=_hyperparameters(spec.objective),
        seed=int(cfg.seed),
        dataset=dataset.name,
        git_commit=git_commit(Path(__file__).resolve().parent),
    )
    model.save_hyperparameters({"run": context.record()}, logger=False)
    return datamodule, model, context


def _callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """The callbacks of the config, in its order, built from plain arguments as in any
    Lightning + Hydra project; they find the run from the trainer and the model's record
    (``infoprint.callbacks.discovery``)."""
    callbacks = []
    for key, node in (cfg.get("callbacks") or {}).items():
        try:
            callbacks.append(instantiate(node))
        except InstantiationException as err:  # the callback's own message, keyed
            raise ConfigError(f"callbacks.{key}: {err.__cause__ or err}") from err
    return callbacks


def _loggers(cfg: DictConfig, context: RunContext, resumed_from: int | None) -> list[Logger]:
    loggers: list[Logger] = [MetricsLog(context.output_dir, resumed_from)]
    config = _plain(cfg)
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
        supersede_earlier=resumed_from is not None,
    )
    if run is not None:  # the callbacks find the run through this logger
        loggers.append(WandbLogger(experiment=run))
    return loggers


def _finish_wandb(exit_code: int) -> None:
    """Finish the W&B run; on a failing job, never let that replace the job's own error
    (SLURM's requeue signals W&B's service too, which then cannot be reached)."""
    try:
        tracking.finish_active_run(exit_code)
    except Exception:
        if exit_code == 0:
            raise
        log.warning("could not finish the W&B run of a failed job", exc_info=True)


def fit_run(
    cfg: DictConfig,
    run_dir: RunDirectory,
    datamodule: pl.LightningDataModule,
    model: pl.LightningModule,
    context: RunContext,
    checkpoint: Path | None,
    resumed_from: int | None,
    history: Sequence[tuple[int, dict[str, float]]] = (),
) -> None:
    """``Trainer.fit`` with the run's loggers and callbacks, from ``checkpoint`` if given.

    ``history``: (step, metrics) rows trained elsewhere (a pack), logged first, so the
    run's CSV log and W&B run hold them as if its own loop had logged them.
    """
    exit_code = 1
    try:
        loggers = _loggers(cfg, context, resumed_from)
        for step, row in history:
            for logger in loggers:
                logger.log_metrics(row, step)
        trainer: pl.Trainer = instantiate(
            cfg.trainer,
            logger=loggers,
            callbacks=_callbacks(cfg),
            default_root_dir=str(run_dir.path),
            plugins=[DurableCheckpointIO()],
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_MANUAL_CHECKPOINT_WARNING)
            trainer.fit(model, datamodule=datamodule, ckpt_path=checkpoint, weights_only=True)
        exit_code = 0
    finally:
        _finish_wandb(exit_code)


def _start(cfg: DictConfig, run_dir: RunDirectory, attempt: Attempt) -> dict[str, Any]:
    """Everything after the job directory exists (errors end up in its error.txt)."""
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, model, context = build(cfg)
    identity = context.identity()
    if attempt.skip:
        previous = run_dir.read_meta()
        run_dir.check_same_run(identity, previous, run_dir.run_file)
        run_dir.drop_hydra_record()  # the folder keeps the record of the run it holds
        log.info(
            "job %s is finished (run %s); skipped (rerun=skip)", run_dir.path, previous["run_id"]
        )
        return {"run_id": previous["run_id"], "output_dir": str(run_dir.path), "status": "skipped"}
    resumed_from = None
    if attempt.checkpoint is not None:
        resumed_from = run_dir.checkpoint_step(identity)
        log.info("resuming %s from step %d", attempt.checkpoint, resumed_from)
    elif rerun_mode(cfg) == "overwrite":
        for path in run_dir.remove_results():
            log.info("rerun=overwrite: removed %s", path)
    run_dir.adopt_hydra_record()  # checked: this attempt is the folder's run
    show_config(cfg, run_dir.config_tree_file, first=TREE_FIRST, echo=False)
    run_dir.archive_error()
    fit_run(cfg, run_dir, datamodule, model, context, attempt.checkpoint, resumed_from)
    status = "trained" if resumed_from is None else "resumed"
    return {"run_id": context.run_id, "output_dir": str(run_dir.path), "status": status}


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train one model and fingerprint it (or skip / resume it, see ``rerun``).

    Returns ``run_id``, ``output_dir`` and ``status`` (trained | resumed | skipped).
    """
    silence_third_party_noise()
    check_train_config(cfg)
    run_dir = RunDirectory(cfg.paths.output_dir)
    run_dir.path.mkdir(parents=True, exist_ok=True)
    attempt = run_dir.plan(rerun_mode(cfg))
    show_config(cfg, None, first=TREE_FIRST)  # written to the folder once it is this run's
    try:
        return _start(cfg, run_dir, attempt)
    except RunDirectoryError:  # another run's folder: refused, and left as it was
        run_dir.drop_hydra_record()
        raise
    except BaseException:
        run_dir.adopt_hydra_record()  # a failed attempt of this folder's run: its record
        run_dir.write_error(traceback.format_exc())
        raise
