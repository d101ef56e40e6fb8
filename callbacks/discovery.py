"""What run a fit is, found from the trainer and its surroundings at setup.

``docs/architecture.md`` §4. Lightning's own callbacks find what they need from the trainer;
infoprint's do the same, so the fingerprint callback needs plain arguments only. The first
source that knows a field wins:

- output folder: the callback's ``output_dir`` argument; Hydra's runtime output folder when
  the fit runs in a Hydra job; the trainer's ``log_dir`` (``default_root_dir`` without a
  logger).
- sweep and job: the model's record of its run (``hparams["run"]``, written by infoprint's
  own training), then Hydra (a multirun: the sweep folder's name and ``hydra.job.num``; a
  single run: its folder's name, job 0), then the output folder's name, job 0.
- seed: the record, then Lightning's seeding (``PL_GLOBAL_SEED``, set by
  ``seed_everything``), else none.
- run id: the trainer's W&B logger's run (the fingerprint artifact goes to that run), then
  the record, then a new id.
- model and hyper-parameters: the record, then the module's class name and the scalar
  values of its ``hparams`` (nested ones as ``a.b``) together with the job's Hydra
  overrides other than seeds (``model.beta=4`` -> ``{"model.beta": 4.0}``), so that what a
  sweep varies is what the analysis splits ensembles by, whether or not the module saves
  it as a hyper-parameter.
- dataset: the record, then the probe set's dataset (the fingerprint callback fills it in).

One context per trainer: every infoprint callback of a fit shares it; an ``output_dir``
given to any of them (the fingerprint callback's) sets its folder.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infoprint import tracking
from infoprint.run.context import RunContext, git_commit, new_run_id

_CONTEXTS: weakref.WeakKeyDictionary[Any, RunContext] = weakref.WeakKeyDictionary()
_SCALARS = (bool, int, float, str, type(None))


def run_context(trainer: Any, pl_module: Any, output_dir: str | Path | None = None) -> RunContext:
    """The run of ``trainer``'s fit, found once per trainer (see the module docstring)."""
    context = _CONTEXTS.get(trainer)
    if context is None:
        context = discover_run(trainer, pl_module, output_dir)
        _CONTEXTS[trainer] = context
    elif output_dir is not None:
        context.output_dir = Path(output_dir)
    return context


def discover_run(trainer: Any, pl_module: Any, output_dir: str | Path | None = None) -> RunContext:
    """A fresh :class:`RunContext` for ``trainer``'s fit of ``pl_module``."""
    record = recorded_run(pl_module)
    hydra = _hydra_runtime()
    folder = Path(output_dir or (hydra or {}).get("output_dir") or _trainer_dir(trainer))
    sweep, job = _sweep_and_job(hydra, folder)
    run = wandb_run(trainer)
    ids = tracking.active_run_ids(run) if run is not None else None
    return RunContext(
        run_id=ids["run_id"] if ids else str(record.get("run_id") or new_run_id()),
        sweep=str(record.get("sweep", sweep)),
        job_num=int(record.get("job_num", job)),
        output_dir=folder,
        model=str(record.get("model", type(pl_module).__name__)),
        hyperparameters=dict(
            record["hyperparameters"] if record else _hyperparameters(pl_module, hydra)
        ),
        seed=record.get("seed", _lightning_seed()),
        dataset=str(record.get("dataset", "")),
        git_commit=git_commit((hydra or {}).get("cwd") or os.getcwd()),
        wandb=ids,
    )


def recorded_run(pl_module: Any) -> Mapping[str, Any]:
    """The model's record of its run (infoprint's models: ``hparams["run"]``), or {}."""
    record = getattr(pl_module, "hparams", {}).get("run")
    return record if isinstance(record, Mapping) and "model" in record else {}


def scalar_hparams(pl_module: Any) -> dict[str, Any]:
    """The module's hyper-parameters that are plain values, nested mappings as ``a.b``."""
    flat: dict[str, Any] = {}

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                visit(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, _SCALARS):
            flat[prefix] = value

    visit("", dict(getattr(pl_module, "hparams", {}) or {}))
    return flat


def override_values(overrides: list[str]) -> dict[str, Any]:
    """Hydra task overrides as ``{key: value}`` (typed as Hydra parses them), without the
    seed (a run's seed is not a hyper-parameter) and deletions."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    values: dict[str, Any] = {}
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.get_key_element().lstrip("+~")
        if override.is_delete() or key.rsplit(".", 1)[-1] == "seed":
            continue
        value = override.value()
        if isinstance(value, _SCALARS):
            values[key] = value
    return values


def _hyperparameters(pl_module: Any, hydra: dict[str, Any] | None) -> dict[str, Any]:
    overrides = override_values(hydra["overrides"]) if hydra else {}
    return {**scalar_hparams(pl_module), **overrides}


def wandb_run(trainer: Any) -> Any:
    """The W&B run of the trainer's ``WandbLogger`` (either Lightning package), or None
    (no such logger, or a rank other than zero)."""
    for logger in getattr(trainer, "loggers", ()):
        if type(logger).__name__ != "WandbLogger":
            continue
        run = logger.experiment
        if isinstance(getattr(run, "id", None), str) and hasattr(run, "log_artifact"):
            return run
    return None


def _trainer_dir(trainer: Any) -> str:
    return trainer.log_dir or trainer.default_root_dir


def _lightning_seed() -> int | None:
    seed = os.environ.get("PL_GLOBAL_SEED")
    return int(seed) if seed is not None and seed.lstrip("-").isdigit() else None


def _hydra_runtime() -> dict[str, Any] | None:
    """Output folder, launch folder, mode, sweep folder, job number and task overrides of
    the Hydra job this process runs, or None outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig
    except ImportError:
        return None
    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return {
        "output_dir": hydra.runtime.output_dir,
        "cwd": hydra.runtime.cwd,
        "multirun": str(hydra.mode) == "RunMode.MULTIRUN",
        "sweep_dir": hydra.sweep.dir,
        "job_num": hydra.job.get("num"),
        "overrides": list(hydra.overrides.task),
    }


def _sweep_and_job(hydra: dict[str, Any] | None, folder: Path) -> tuple[str, int]:
    if hydra and hydra["multirun"]:
        return Path(hydra["sweep_dir"]).name, int(hydra["job_num"] or 0)
    return folder.resolve().name, 0
