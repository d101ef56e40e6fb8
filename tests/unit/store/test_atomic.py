"""Atomic writes (infoprint.store.atomic): a failed write leaves the previous file whole and
names the file; nothing half-written or temporary is left behind.

A full disk is made real with the file-size limit of a child process (RLIMIT_FSIZE, the
same ``write`` failure as ENOSPC: the kernel refuses the bytes, errno EFBIG there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from infoprint.store.atomic import atomic_savez, atomic_write_json, atomic_write_text
from infoprint.store.checkpoint import read_checkpoint, save_checkpoint

LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    import numpy as np
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    from infoprint.store.atomic import atomic_savez
    try:
        atomic_savez(Path(sys.argv[1]), {"x": np.arange(100_000.0)}, compressed=False)
    except OSError as err:
        print(err)
        sys.exit(3)
    """
)


def test_a_write_that_runs_out_of_space_keeps_the_old_file_and_names_it(tmp_path):
    target = tmp_path / "results.npz"
    atomic_savez(target, {"x": np.arange(10.0)})
    before = target.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, str(target), str(64 << 10)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert str(target) in done.stdout and "could not write" in done.stdout
    assert target.read_bytes() == before  # the previous result, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.npz"]  # no temporary left


def test_an_exception_while_writing_leaves_nothing(tmp_path):
    target = tmp_path / "summary.json"
    atomic_write_json(target, {"a": 1})

    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": Unserialisable()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_written_files_follow_the_umask_and_replace_the_target(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write_text(tmp_path / "report.html", "new")
    finally:
        os.umask(old)
    assert path.read_text() == "new" and (path.stat().st_mode & 0o777) == 0o640


def test_checkpoints_round_trip_and_a_missing_folder_is_named(tmp_path):
    ckpt = {"state_dict": {"w": torch.arange(3.0)}, "global_step": 7}
    save_checkpoint(ckpt, tmp_path / "last.ckpt")
    back = read_checkpoint(tmp_path / "last.ckpt")
    assert back["global_step"] == 7 and torch.equal(back["state_dict"]["w"], torch.arange(3.0))
    missing = tmp_path / "gone" / "last.ckpt"
    with pytest.raises(OSError, match=str(missing)):
        save_checkpoint(ckpt, missing)
    assert not Path(tmp_path / "gone").exists()
