"""An analysis folder replaced whole, never mixed (``docs/architecture.md`` §10).

An analysis is written into a staging folder beside its target,
``<parent>/.<name>.partial-<time>-<pid>``, which Hydra makes its run folder (the
:class:`StageOutput` callback), and :func:`publish` swaps it with the target only when it
is complete: on Linux in one atomic ``renameat2(RENAME_EXCHANGE)``, so a reader or a kill
at any moment sees the previous analysis or the new one, never a mix; then the previous
one (now at the staging path) is deleted, so nothing stale survives a complete rerun.
Elsewhere (no ``renameat2``, or a file system without it) the target is first renamed
aside, then replaced; a kill between the two renames leaves the old analysis at
``.<name>.old-<pid>`` and the new one at its staging path. A failed analysis removes its
staging folder and leaves the previous analysis as it was. Two analyses of one target at
once each finish in their own staging folder; the last to finish is published.
"""

from __future__ import annotations

import ctypes
import ctypes.util
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
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def staging_dir(target: Path) -> Path:
    """The staging folder of ``target``: hidden, beside it, unique to this process."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return target.parent / f".{target.name}.partial-{stamp}-{os.getpid()}"


class StageOutput(Callback):
    """Hydra callback (conf/analyze.yaml): the run folder becomes a staging folder beside
    ``hydra.run.dir``, which :func:`publish` replaces with it when the analysis is done."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        target = Path(str(config.hydra.run.dir))
        with read_write(config), open_dict(config):
            config.hydra.run.dir = str(staging_dir(target))
            config.paths[PUBLISH_KEY] = str(target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is unavailable."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not on this file system
        return False
    raise OSError(errno, f"cannot exchange {a} and {b}: {os.strerror(errno)}")


def publish(staging: Path, target: Path) -> Path:
    """Make the complete analysis in ``staging`` the one at ``target``; returns ``target``."""
    staging, target = Path(staging), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        staging.rename(target)
        return target
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the previous analysis
        return target
    aside = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(aside)
    staging.rename(target)
    shutil.rmtree(aside, ignore_errors=True)
    return target


def discard(staging: Path) -> None:
    """Remove the staging folder of a failed analysis (the previous one stays)."""
    log.warning("the analysis failed; %s removed, the previous analysis is kept", staging)
    shutil.rmtree(staging, ignore_errors=True)
