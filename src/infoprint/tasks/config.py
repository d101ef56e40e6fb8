"""Checks of a composed config, run before any work: a wrong key fails naming the key.

One owner for config validation (``docs/architecture.md`` §11). Every object node
(``_target_``) is checked against its class's signature: unknown arguments and values of
the wrong type (``model.beta=abc``) fail with the key and the expected type; value ranges
are the classes' own checks, run by building the objects before data are loaded.
"""

from __future__ import annotations

import atexit
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from infoprint.errors import ConfigError
from infoprint.run import lock
from infoprint.run.directory import RERUN_MODES
from infoprint.tasks.resolvers import register_resolvers

register_resolvers()  # before any config that uses them is composed

__all__ = [
    "ConfigError",
    "check_object_node",
    "check_pack_config",
    "check_train_config",
    "rerun_mode",
]

DEFAULT_RERUN = "skip"


def rerun_mode(cfg: DictConfig) -> str:
    """``rerun``: what a job does with a directory holding earlier results (default skip)."""
    mode = OmegaConf.select(cfg, "rerun", default=DEFAULT_RERUN)
    if mode not in RERUN_MODES:
        raise ConfigError(f"rerun must be one of {', '.join(RERUN_MODES)}, got {mode!r}")
    return mode


def _require(cfg: DictConfig, key: str) -> object:
    value = OmegaConf.select(cfg, key, default=None)
    if value is None:
        raise ConfigError(f"config key {key!r} is missing")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _expects(hint: Any) -> set[type]:
    """The scalar types a type hint admits among int, float, bool, str (empty: not checked)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_expects(h) for h in typing.get_args(hint)))
    return {hint} & {int, float, bool, str}


def _check_value(value: Any, hint: Any, key: str) -> None:
    expected = _expects(hint)
    if not expected or value is None or isinstance(value, Mapping | list):
        return
    if float in expected and _is_number(value):
        return
    if int in expected and isinstance(value, int) and not isinstance(value, bool):
        return
    if type(value) in expected:
        return
    names = " or ".join(sorted("a number" if t is float else t.__name__ for t in expected))
    raise ConfigError(f"{key} must be {names}, got {value!r} ({type(value).__name__})")


def check_object_node(node: Any, key: str) -> None:
    """Check a ``_target_`` node (and nested ones) against its class's signature."""
    if not isinstance(node, Mapping):
        return
    for name, value in node.items():
        if isinstance(value, Mapping):
            check_object_node(value, f"{key}.{name}")
    target = node.get("_target_")
    if target is None:
        return
    try:
        cls = get_object(str(target))
    except Exception as err:
        raise ConfigError(f"{key}._target_: cannot import {target!r} ({err})") from err
    function = cls.__init__ if inspect.isclass(cls) else cls
    params = inspect.signature(function).parameters
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError):
        hints = {}
    open_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    allowed = [p for p in params if p not in ("self", "args", "kwargs")]
    for name, value in node.items():
        if name.startswith("_"):
            continue
        if name not in params and not open_kwargs:
            raise ConfigError(f"{key}.{name}: not an argument of {target}; allowed: {allowed}")
        _check_value(value, hints.get(name), f"{key}.{name}")


def _check_optimizer(node: Any, key: str) -> None:
    lr = node.get("lr") if isinstance(node, Mapping) else None
    if not _is_number(lr) or lr <= 0:
        raise ConfigError(f"{key}.lr must be a positive number, got {lr!r}")


def _objects(cfg: DictConfig) -> dict[str, Any]:
    return {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        for key in ("model", "net", "likelihood", "optim", "data")
    }


def check_sweep_name(name: Any) -> None:
    """``sweep_name`` names one folder under ``multirun/``: a plain directory name."""
    text = str(name)
    if not text or "/" in text or "\\" in text or text.startswith(".") or "\0" in text:
        raise ConfigError(f"sweep_name must be a plain directory name, got {text!r}")


class SweepGuard(Callback):
    """Hydra callback (conf/train.yaml), before Hydra writes anything (``multirun.yaml``,
    ``.hydra/``): refuse a bad ``sweep_name``, and take the sweep folder's lock
    (:mod:`infoprint.run.lock`) so a second sweep command on it is refused naming the one
    running; the lock is released when the sweep ends (or its process exits)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._refuse(check_sweep_name, config.get("sweep_name"))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._refuse(check_sweep_name, config.get("sweep_name"))
        sweep_dir = Path(str(config.hydra.sweep.dir))
        self._refuse(lock.acquire, sweep_dir)
        atexit.register(lock.release, sweep_dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        lock.release(Path(str(config.hydra.sweep.dir)))

    @staticmethod
    def _refuse(check: Callable[[Any], Any], value: Any) -> None:
        try:
            check(value)
        except ConfigError as err:
            raise SystemExit(f"infoprint-train: {err}") from None


def check_train_config(cfg: DictConfig) -> None:
    """Validate everything train() relies on before any data are loaded."""
    for key in (
        "data.dataset",
        "model",
        "net",
        "likelihood",
        "optim",
        "trainer",
        "logger",
        "fingerprint",
    ):
        _require(cfg, key)
    seed = _require(cfg, "seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    check_sweep_name(_require(cfg, "sweep_name"))
    for key in (
        "fingerprint.size",
        "fingerprint.seed",
        "fingerprint.batch_size",
        "fingerprint.every_n_steps",
        "fingerprint.embedding_size",
    ):
        value = _require(cfg, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{key} must be a non-negative integer, got {value!r}")
    if cfg.fingerprint.batch_size < 1:
        raise ConfigError(f"fingerprint.batch_size must be >= 1, got {cfg.fingerprint.batch_size}")
    threads = cfg.get("torch_threads")
    if threads is not None and not (_is_count(threads) and threads >= 1):
        raise ConfigError(f"torch_threads must be a positive integer or null, got {threads!r}")
    if cfg.fingerprint.size < 2:
        raise ConfigError(f"fingerprint.size must be >= 2, got {cfg.fingerprint.size}")
    steps = cfg.trainer.get("max_steps")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ConfigError(f"trainer.max_steps must be a positive integer, got {steps!r}")
    rerun_mode(cfg)
    _check_pack_size(cfg)
    objects = _objects(cfg)
    for key, node in objects.items():
        check_object_node(node, key)
    _check_optimizer(objects["optim"], "optim")
    if isinstance(objects["model"].get("discriminator_optim"), Mapping):
        _check_optimizer(objects["model"]["discriminator_optim"], "model.discriminator_optim")
    for key, node in (cfg.get("callbacks") or {}).items():
        if not (isinstance(node, Mapping) and node.get("_target_")):
            raise ConfigError(f"callbacks.{key} must be a callback node with a _target_")
        check_object_node(OmegaConf.to_container(node, resolve=True), f"callbacks.{key}")
    _check_builds(objects)


def _check_builds(objects: dict[str, Any]) -> None:
    """Build the objective and likelihood now: their own range checks run before any work."""
    from infoprint.models.builder import ModelSpecError, build

    model = dict(objects["model"])
    if "dataset_size" in model and model["dataset_size"] is None:
        model["dataset_size"] = 1  # filled from the data set later
    try:
        build(model, "model")
        build(objects["likelihood"], "likelihood")
    except ModelSpecError as err:
        raise ConfigError(str(err)) from err


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_pack_size(cfg: DictConfig) -> None:
    pack = OmegaConf.select(cfg, "pack", default=1)
    if not _is_count(pack) or pack < 1:
        raise ConfigError(f"pack must be a positive integer, got {pack!r}")
    if pack > 1 and not OmegaConf.select(cfg, "pack_seeds", default=None):
        raise ConfigError(
            f"pack={pack} trains the seeds of a sweep together, {pack} per job: run it as a "
            f"multirun with the pack sweeper, e.g. python train.py -m seed='range(0,{2 * pack})' "
            f"pack={pack}"
        )


def check_pack_config(cfg: DictConfig) -> None:
    """Validate a pack job's config (``docs/architecture.md`` §9) before any member starts."""
    from infoprint.models.pack import PackError, check_packable_objective, pack_dtype

    seeds = OmegaConf.to_container(cfg.pack_seeds) if cfg.get("pack_seeds") else None
    jobs = OmegaConf.to_container(cfg.pack_jobs) if cfg.get("pack_jobs") else None
    for key, values in (("pack_seeds", seeds), ("pack_jobs", jobs)):
        if not isinstance(values, list) or not values or not all(map(_is_count, values)):
            raise ConfigError(
                f"{key} must be a non-empty list of non-negative integers, got {values!r}"
            )
        if len(set(values)) != len(values):
            raise ConfigError(f"{key} must not repeat a value, got {values}")
    if len(seeds) != len(jobs):
        raise ConfigError(f"pack_seeds ({len(seeds)}) and pack_jobs ({len(jobs)}) differ in length")
    if cfg.fingerprint.every_n_steps or cfg.fingerprint.snapshot_steps:
        raise ConfigError(
            "fingerprint.every_n_steps / fingerprint.snapshot_steps: snapshots during training "
            "are taken by the lone training loop, not by packs; use pack=1"
        )
    try:
        check_packable_objective(get_object(cfg.model._target_))
        pack_dtype(OmegaConf.select(cfg, "trainer.precision", default="32-true"))
    except PackError as err:
        raise ConfigError(str(err)) from err
