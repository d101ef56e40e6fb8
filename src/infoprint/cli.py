"""The commands: ``infoprint-train``, ``infoprint-analyze`` and ``python -m infoprint``.

Each is Hydra's ``@hydra.main`` over the config tree shipped in the package
(``pkg://infoprint.conf``), so they run the same from a checkout, an installed wheel and
any working directory. ``train.py`` and ``analyze.py`` at the top of the repository only
call these (``docs/architecture.md`` §1).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from infoprint.errors import ConfigError
from infoprint.tasks.resolvers import register_resolvers

register_resolvers()  # before Hydra composes a config that uses them
CONFIG_PATH = "pkg://infoprint.conf"
USAGE = """usage: python -m infoprint {train,analyze} [key=value ...] [-m] [--help]

  train    train one run (or, with -m, a sweep) and fingerprint it   (infoprint-train)
  analyze  analyse the fingerprints of a sweep                       (infoprint-analyze)
"""


def _user_errors_plainly(command: str, task: Callable[[DictConfig], Any], cfg: DictConfig) -> None:
    """Run ``task``; a config error of a single run ends it with its one-line message, no
    traceback (``HYDRA_FULL_ERROR=1`` shows it; in a sweep Hydra reports each job)."""
    try:
        task(cfg)
    except ConfigError as err:
        single = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.RUN
        if not single or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        raise SystemExit(f"{command}: {err}") from None


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
def train_main(cfg: DictConfig) -> None:
    """One job of ``infoprint-train``: a run, or a pack of runs (``pack_seeds`` set)."""
    from infoprint.tasks.pack import train_pack
    from infoprint.tasks.train import train

    _user_errors_plainly("infoprint-train", train_pack if cfg.get("pack_seeds") else train, cfg)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="analyze")
def analyze_main(cfg: DictConfig) -> None:
    """``infoprint-analyze``: the ensemble (or study) analysis of a fingerprint source."""
    from infoprint.tasks.analyze import analyze

    _user_errors_plainly("infoprint-analyze", analyze, cfg)


COMMANDS = {"train": train_main, "analyze": analyze_main}


def main(argv: list[str] | None = None) -> None:
    """``python -m infoprint train|analyze [overrides]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        sys.stderr.write(USAGE)
        raise SystemExit(0 if argv and argv[0] in ("-h", "--help") else 2)
    sys.argv = [f"infoprint {argv[0]}", *argv[1:]]
    COMMANDS[argv[0]]()
