import shutil

import numpy as np

from infoprint.sources.directory import DirectorySource, find_job_dirs, latest_sweep
from support import make_fingerprint


def test_walks_sweep_and_reports_skipped_jobs(tmp_path):
    sweep = tmp_path / "multirun" / "s1"
    for job in (0, 1, 10, 2):
        make_fingerprint(job_num=job, run_id=f"run{job}").save(sweep / str(job))
    failed = sweep / "3"
    (failed / ".hydra").mkdir(parents=True)
    (failed / "error.txt").write_text("Traceback...\nNonFiniteLossError: non-finite loss nan\n")
    unfinished = sweep / "4"
    (unfinished / ".hydra").mkdir(parents=True)
    corrupt = sweep / "5"
    make_fingerprint().save(corrupt)
    (corrupt / "fingerprint.npz").write_bytes(b"garbage")
    (sweep / "analysis" / ".hydra").mkdir(parents=True)  # an analysis dir is not a job
    (sweep / "analysis" / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    name: analyze\n")

    assert [p.name for p in find_job_dirs(sweep)] == ["0", "1", "2", "3", "4", "5", "10"]
    source = DirectorySource(sweep)
    found = list(source.iter_fingerprints())
    assert [fp.path.name for fp in found] == ["0", "1", "2", "10"]
    reasons = {s.run.rsplit("/", 1)[-1]: s.reason for s in source.skipped}
    assert reasons["3"] == "job failed: NonFiniteLossError: non-finite loss nan"
    assert "unfinished" in reasons["4"]
    assert "unreadable npz" in reasons["5"]
    np.testing.assert_array_equal(found[0].mu, make_fingerprint().mu)


def test_latest_sweep_is_default(tmp_path):
    import os

    root = tmp_path / "multirun"
    for i, name in enumerate(["old", "new"]):
        (root / name).mkdir(parents=True)
        os.utime(root / name, (1000 + i, 1000 + i))
    assert latest_sweep(root).name == "new"
    assert DirectorySource(root=str(root)).path.name == "new"


def test_stray_folders_neither_crash_nor_count_twice(tmp_path):
    """A copied job folder and an old analysis folder inside a sweep (issue 18, item 1)."""
    sweep = tmp_path / "s"
    for job in (0, 1, 2):
        make_fingerprint(job_num=job, run_id=f"run{job}").save(sweep / str(job))
    shutil.copytree(sweep / "0", sweep / "0copy")
    old = sweep / "analysis_old" / ".hydra"
    old.mkdir(parents=True)
    (old / "hydra.yaml").write_text("hydra:\n  job:\n    name: analyze\n")

    assert [p.name for p in find_job_dirs(sweep)] == ["0", "1", "2", "0copy"]
    source = DirectorySource(sweep)
    found = list(source.iter_fingerprints())
    assert [fp.run_id for fp in found] == ["run0", "run1", "run2"]
    (copy,) = source.skipped
    assert copy.run.endswith("0copy") and "run run0 again" in copy.reason
    assert str(sweep / "0") in copy.reason
