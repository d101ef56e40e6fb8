"""A sweep's lock: one ``infoprint-train -m`` at a time per sweep folder.

``docs/architecture.md`` §3. The lock is the file ``<sweep>/.sweep.lock``, created with
``O_CREAT | O_EXCL`` (atomic on local file systems and on NFS v3 and later, the shared file
systems a SLURM cluster mounts: the assumption), holding the holder's pid, host and start
time as JSON. A second sweep command on the same folder finds it and is refused with a
message naming the holder. A lock whose holder is a dead process on this host is stale and
taken over; one held from another host cannot be checked from here, so it is refused with
the command that removes it if that holder is gone.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from infoprint.errors import ConfigError

LOCK_FILE = ".sweep.lock"


class SweepLocked(ConfigError):
    """Another live process holds the sweep's lock."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    started: str

    @classmethod
    def me(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), datetime.now().isoformat(timespec="seconds"))

    def alive(self) -> bool | None:
        """Whether the holder still runs: None when it is on another host (unknowable)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's live process
            return True
        return True


def _read(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text()[:4096])
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # vanished, or half-written by a holder killed while writing it


def acquire(sweep_dir: Path) -> Path:
    """Take ``sweep_dir``'s lock for this process (taking over a stale one); returns the
    lock file. Raises :class:`SweepLocked` naming a live (or uncheckable) holder."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / LOCK_FILE
    me = Holder.me()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            if holder is not None and holder.pid == me.pid and holder.host == me.host:
                return path  # ours already (a second callback of this process)
            if holder is not None and holder.alive() is not False:
                where = "" if holder.alive() else f" (on another host; if it is gone: rm {path})"
                raise SweepLocked(
                    f"sweep {sweep_dir} is being run by pid {holder.pid} on {holder.host} "
                    f"since {holder.started}{where}; wait for it to end, or use another "
                    f"sweep_name"
                ) from None
            path.unlink(missing_ok=True)  # stale: its holder is dead (or it is unreadable)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(asdict(me)))
            f.flush()
            os.fsync(f.fileno())
        return path
    raise SweepLocked(f"{path}: could not take the sweep's lock (contended)")


def release(sweep_dir: Path) -> None:
    """Remove the lock if this process holds it."""
    path = sweep_dir / LOCK_FILE
    holder = _read(path)
    if holder is not None and holder.pid == os.getpid() and holder.host == socket.gethostname():
        path.unlink(missing_ok=True)
