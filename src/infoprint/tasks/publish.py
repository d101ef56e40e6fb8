"""An analysis folder replaced whole, never mixed (``docs/architecture.md`` §10).

An analysis is written into a staging folder beside its target,
``<parent>/.<name>.partial-<time>-<pid>``, which Hydra makes its run folder (the
:class:`StageOutput` callback), and ``analyze`` swaps it with the target only when it
is complete (:func:`infoprint.store.replace.replace_folder`: on Linux one atomic
``renameat2(RENAME_EXCHANGE)``), so a reader or a kill at any moment sees the previous
analysis or the new one, never a mix; then the previous one is deleted, so nothing stale
survives a complete rerun. A failed analysis removes its
staging folder and leaves the previous analysis as it was. Two analyses of one target at
once each finish in their own staging folder; the last to finish is published.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

log = logging.getLogger(__name__)

PUBLISH_KEY = "publish_to"
"""``paths.publish_to``: the target, set by :class:`StageOutput` (absent: write in place)."""


def staging_dir(target: Path) -> Path:
    """The staging folder of ``target``: hidden, beside it, unique to this process."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return target.parent / f".{target.name}.partial-{stamp}-{os.getpid()}"


class StageOutput(Callback):
    """Hydra callback (conf/analyze.yaml): the run folder becomes a staging folder beside
    ``hydra.run.dir``, which replaces it when the analysis is done."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        target = Path(str(config.hydra.run.dir))
        with read_write(config), open_dict(config):
            config.hydra.run.dir = str(staging_dir(target))
            config.paths[PUBLISH_KEY] = str(target)


def discard(staging: Path) -> None:
    """Remove the staging folder of a failed analysis (the previous one stays)."""
    log.warning("the analysis failed; %s removed, the previous analysis is kept", staging)
    shutil.rmtree(staging, ignore_errors=True)
