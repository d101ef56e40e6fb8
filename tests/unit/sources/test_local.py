import numpy as np

from infoprint.sources.local import LocalSource, find_job_dirs, latest_sweep
from support import make_fingerprint


def test_walks_sweep_and_reports_skipped_jobs(tmp_path):
    sweep = tmp_path / "multirun" / "s1"
    for job in (0, 1, 10, 2):
        make_fingerprint(job_num=job).save(sweep / str(job))
    failed = sweep / "3"
    (failed / ".hydra").mkdir(parents=True)
    (failed / "error.txt").write_text("Traceback...\nNonFiniteLossError: non-finite loss nan\n")
    unfinished = sweep / "4"
    (unfinished / ".hydra").mkdir(parents=True)
    corrupt = sweep / "5"
    make_fingerprint().save(corrupt)
    (corrupt / "fingerprint.npz").write_bytes(b"garbage")
    (sweep / "analysis" / ".hydra").mkdir(parents=True)  # an analysis dir is not a job

    assert [p.name for p in find_job_dirs(sweep)] == ["0", "1", "2", "3", "4", "5", "10"]
    source = LocalSource(sweep)
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
    assert LocalSource(root=str(root)).path.name == "new"
