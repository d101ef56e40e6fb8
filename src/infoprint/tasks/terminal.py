"""What a job shows in the terminal: the composed config as a tree, and no third-party noise.

The config tree (the lightning-hydra-template's ``print_config_tree``, with ``rich``) is
printed at job start and saved as ``config_tree.txt`` in the run directory. Known noise
that is not ours is silenced: Lightning's advertisement tips, its hint to use ``srun``
when SLURM is installed but the job was not started with it, and deprecation warnings
raised inside Lightning about torch internals.
"""

from __future__ import annotations

import importlib
import io
import logging
import warnings
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

from infoprint.store.atomic import atomic_write_text

_NOISE_WARNINGS = (
    r"The `srun` command is available on your system but is not used",
    r".*isinstance\(treespec, LeafSpec\)` is deprecated",
    r"Experiment logs directory .* exists and is not empty",
)


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


_LIGHTNING = ("pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric")


def silence_third_party_noise() -> None:
    """Drop Lightning's tips and the warnings listed in ``_NOISE_WARNINGS``, and, under
    Hydra's logging, the console handlers Lightning's packages add of their own, which
    print every line a second time (idempotent)."""
    for pattern in _NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for package in _LIGHTNING:
        logger = logging.getLogger(f"{package}.utilities.rank_zero")
        if not any(isinstance(f, _DropTips) for f in logger.filters):
            logger.addFilter(_DropTips())
    importlib.import_module("infoprint.callbacks.framework")  # imports every Lightning package
    if not logging.getLogger().handlers:
        return
    for name in ("lightning", *_LIGHTNING):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
            logger.removeHandler(handler)


def config_tree(cfg: DictConfig, first: tuple[str, ...] = ()) -> Tree:
    """The config as a ``rich`` tree: one branch per top-level key, ``first`` keys first."""
    tree = Tree("config", guide_style="dim")
    keys = [k for k in first if k in cfg] + [k for k in cfg if k not in first]
    for key in keys:
        branch = tree.add(f"[bold]{key}")
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else value
        branch.add(Syntax(str(text).rstrip(), "yaml", background_color="default"))
    return tree


def show_config(
    cfg: DictConfig, save_to: Path | None, first: tuple[str, ...] = (), echo: bool = True
) -> str:
    """Print the config tree (unless ``echo`` is false) and write it (as plain text) to
    ``save_to``; returns the text."""
    tree = config_tree(cfg, first)
    if echo:
        Console().print(tree)
    buffer = io.StringIO()
    Console(file=buffer, width=100, color_system=None).print(tree)
    text = buffer.getvalue()
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(save_to, text)
    return text
