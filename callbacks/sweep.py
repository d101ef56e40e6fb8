"""Hydra callback: analyse a sweep when its multirun ends (``docs/architecture.md`` §1).

List it under ``hydra.callbacks`` of any project whose jobs run the fingerprint callback:

    hydra:
      callbacks:
        infoprint:
          _target_: infoprint.callbacks.AnalyzeSweep
          overrides: [traversals.enabled=false]   # any infoprint-analyze overrides

When the multirun ends (every job done; a failed job stops Hydra's sweep before this), it
runs ``infoprint-analyze source.path=<sweep folder>`` in a fresh process, which writes to
``<sweep folder>/analysis``; ``enabled: false`` switches it off. A failed analysis is
logged with its exit code; the sweep's runs stay as they are.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)

_PLAIN = re.compile(r"[\w./-]+")


def quote(value: str) -> str:
    """``value`` as a Hydra override value: quoted unless it is plain."""
    if _PLAIN.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def analyze_command(sweep_dir: Path, overrides: Sequence[str] = ()) -> list[str]:
    """The command that analyses the sweep in ``sweep_dir``."""
    path = f"source.path={quote(str(sweep_dir))}"
    return [sys.executable, "-m", "infoprint", "analyze", path, *overrides]


class AnalyzeSweep(Callback):
    """Run ``infoprint-analyze`` on the sweep folder when a Hydra multirun ends."""

    def __init__(self, enabled: bool = True, overrides: Sequence[str] = ()) -> None:
        self.enabled = bool(enabled)
        self.overrides = [str(o) for o in overrides]

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        command = analyze_command(sweep_dir, self.overrides)
        log.info("analysing sweep %s: %s", sweep_dir, " ".join(command[1:]))
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            log.error(
                "the analysis of sweep %s failed (exit code %d); rerun it with: "
                "infoprint-analyze %s",
                sweep_dir,
                done.returncode,
                " ".join(command[4:]),
            )
