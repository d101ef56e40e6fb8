"""Replace a folder whole: the new one or the old one, never a mix (``docs/architecture.md``
§3, §10).

:func:`replace_folder` swaps a complete new folder with its target in one atomic
``renameat2(RENAME_EXCHANGE)`` on Linux, then deletes the old one; where that call or the
file system lacks it, the target is renamed aside first (a kill between the two renames
leaves the old folder at ``.<name>.old-<pid>`` and the new one where it was written).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


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


def replace_folder(staging: Path, target: Path) -> Path:
    """Make the complete folder ``staging`` the one at ``target`` (deleting the previous
    one); returns ``target``."""
    staging, target = Path(staging), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        staging.rename(target)
        return target
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the previous one
        return target
    aside = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(aside)
    staging.rename(target)
    shutil.rmtree(aside, ignore_errors=True)
    return target
