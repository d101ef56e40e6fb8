"""Early checks of a composed config: a wrong key fails before any training starts."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """A config value is missing or outside what is allowed."""


RERUN_MODES = ("skip", "resume", "overwrite")
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


def check_train_config(cfg: DictConfig) -> None:
    """Validate the keys train() relies on; messages name the key and what is allowed."""
    for key in ("data.dataset", "model", "net", "trainer", "logger", "fingerprint"):
        _require(cfg, key)
    seed = _require(cfg, "seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    name = str(_require(cfg, "sweep_name"))
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"sweep_name must be a plain directory name, got {name!r}")
    for key in ("fingerprint.size", "fingerprint.seed", "fingerprint.batch_size"):
        value = _require(cfg, key)
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{key} must be a non-negative integer, got {value!r}")
    if cfg.fingerprint.size < 2:
        raise ConfigError(f"fingerprint.size must be >= 2, got {cfg.fingerprint.size}")
    steps = cfg.trainer.get("max_steps")
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"trainer.max_steps must be a positive integer, got {steps!r}")
    lr = _require(cfg, "optim.lr")
    if not isinstance(lr, int | float) or lr <= 0:
        raise ConfigError(f"optim.lr must be a positive number, got {lr!r}")
    rerun_mode(cfg)
    log_checkpoint = OmegaConf.select(cfg, "log_checkpoint", default=False)
    if not isinstance(log_checkpoint, bool):
        raise ConfigError(f"log_checkpoint must be true or false, got {log_checkpoint!r}")
