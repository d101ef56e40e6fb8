"""WandbSource against a stand-in for ``wandb.Api`` (no server here), shaped like the
public API objects it replaces: Api.runs(path, filters=...) -> Run(id, path, state, group,
job_type, logged_artifacts()) -> Artifact(name, type, metadata, download(root), verify(root))."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from infoprint.sources.wandb import WandbSource
from support import make_fingerprint


class FakeArtifact:
    def __init__(self, name: str, type: str, files: Path, metadata: dict):
        self.name, self.type, self.metadata = name, type, metadata
        self._files = files
        self._manifest = {p.name: _md5(p) for p in files.iterdir()}

    def download(self, root: str | None = None, **kwargs) -> str:
        shutil.copytree(self._files, root, dirs_exist_ok=True)
        return root

    def verify(self, root: str | None = None) -> None:
        for name, digest in self._manifest.items():
            if _md5(Path(root) / name) != digest:
                raise ValueError(f"artifact file {name} does not match its manifest digest")


class FakeRun:
    def __init__(self, run_id, state, group, artifacts=(), job_type="train"):
        self.id, self.state, self.group, self.job_type = run_id, state, group, job_type
        self.path = ["team", "proj", run_id]
        self._artifacts = list(artifacts)

    def logged_artifacts(self, per_page: int = 100):
        return iter(self._artifacts)


class FakeApi:
    def __init__(self, runs):
        self._runs = runs
        self.queries = []

    def runs(self, path=None, filters=None, order="+created_at", per_page=50, **kwargs):
        self.queries.append((path, filters))
        return [r for r in self._runs if _matches(r, filters or {})]


def _matches(run, filters):
    fields = {"group": run.group, "jobType": run.job_type, "state": run.state}
    for key, want in filters.items():
        value = fields[key]
        if isinstance(want, dict):
            if "$ne" in want and value == want["$ne"]:
                return False
            if "$in" in want and value not in want["$in"]:
                return False
        elif value != want:
            return False
    return True


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _logged(tmp_path, run_id, seed, corrupt=False):
    files = tmp_path / "server" / run_id
    fp = make_fingerprint(seed=seed, job_num=seed)
    fp.meta["run_id"] = run_id
    fp.save(files)
    artifact = FakeArtifact(f"fingerprint-{run_id}:v0", "fingerprint", files, fp.meta)
    if corrupt:
        (files / "fingerprint.npz").write_bytes(b"tampered after logging")
    return artifact


def test_downloads_verifies_and_reports_skipped_runs(tmp_path):
    other = FakeArtifact("model-x:v0", "model", tmp_path, {})
    runs = [
        FakeRun("r1", "finished", "sweepA", [other, _logged(tmp_path, "r1", 1)]),
        FakeRun("r2", "finished", "sweepA", [_logged(tmp_path, "r2", 2)]),
        FakeRun("r3", "finished", "sweepA", [_logged(tmp_path, "r3", 3, corrupt=True)]),
        FakeRun("r4", "finished", "sweepA", []),
        FakeRun("r5", "crashed", "sweepA"),
        FakeRun("r6", "finished", "sweepB", [_logged(tmp_path, "r6", 6)]),
        FakeRun("r7", "finished", "sweepA", [], job_type="analysis"),
    ]
    api = FakeApi(runs)
    source = WandbSource("proj", "sweepA", entity="team", cache_dir=tmp_path / "cache", api=api)
    found = list(source.iter_fingerprints())

    assert [fp.run_id for fp in found] == ["r1", "r2"]
    np.testing.assert_array_equal(found[1].mu, make_fingerprint(seed=2).mu)
    assert found[0].path.is_relative_to(tmp_path / "cache" / "sweepA" / "r1")
    reasons = {s.run: s.reason for s in source.skipped}
    assert set(reasons) == {"team/proj/r3", "team/proj/r4", "team/proj/r5"}
    assert "manifest" in reasons["team/proj/r3"]
    assert reasons["team/proj/r4"] == "no fingerprint artifact logged"
    assert "crashed" in reasons["team/proj/r5"]
    assert ("team/proj", {"group": "sweepA", "jobType": "train", "state": "finished"}) in (
        api.queries
    )
    assert source.describe() == "W&B team/proj, group sweepA"


def test_several_groups_or_a_whole_project_with_a_filter(tmp_path):
    runs = [
        FakeRun("a1", "finished", "sweepA", [_logged(tmp_path, "a1", 1)]),
        FakeRun("b1", "finished", "sweepB", [_logged(tmp_path, "b1", 2)]),
        FakeRun("c1", "finished", "sweepC", [_logged(tmp_path, "c1", 3)]),
    ]
    api = FakeApi(runs)
    both = WandbSource("proj", ["sweepA", "sweepB"], cache_dir=tmp_path / "c1", api=api)
    assert [fp.run_id for fp in both.iter_fingerprints()] == ["a1", "b1"]
    assert both.describe() == "W&B proj, groups sweepA, sweepB"
    everything = WandbSource(
        "proj", None, filters={"state": "finished"}, cache_dir=tmp_path / "c2", api=api
    )
    assert [fp.run_id for fp in everything.iter_fingerprints()] == ["a1", "b1", "c1"]
    with pytest.raises(ValueError, match="source.group"):
        WandbSource("proj", None, api=api)
