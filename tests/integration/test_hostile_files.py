"""Hostile files in a sweep (security issue): every file infoprint did not write is hostile.

One bad run never stops the others: each hostile file below is built for real on disk in
one job of a sweep; the source lists that job as skipped (the reason names the file and
what was expected) and yields the others. No declared size is trusted before it is
bounded, and nothing is unpickled."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from infoprint.analysis.ensembles import split_ensembles
from infoprint.fingerprint.record import Fingerprint
from infoprint.sources.directory import DirectorySource
from support import ROOT, make_fingerprint, run_script

N, D = 20, 3


def make_sweep(path: Path, n: int = 4, **meta) -> Path:
    for job in range(n):
        make_fingerprint(
            n=N,
            d=D,
            seed=job,
            job_num=job,
            run_id=f"run{job}",
            model="beta_vae",
            hyperparameters={"beta": 4.0},
            probe_size=N,
            **meta,
        ).save(path / str(job))
    return path


def read(source: DirectorySource) -> tuple[list[str], dict[str, str]]:
    found = [fp.run_id for fp in source.iter_fingerprints()]
    return found, {Path(s.run).name: s.reason for s in source.skipped}


def edit_meta(job: Path, **values) -> None:
    meta = json.loads((job / "run.json").read_text())
    meta.update(values)
    (job / "run.json").write_text(json.dumps(meta))


def npy_bytes(header: dict, payload: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def rewrite_npz(job: Path, replace: dict[str, bytes] | None = None, extra=None) -> None:
    """fingerprint.npz with some members replaced by raw .npy bytes, and extra members."""
    path = job / "fingerprint.npz"
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    for key, raw in (replace or {}).items():
        members[f"{key}.npy"] = raw
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
        if extra is not None:
            extra(zf)


def deep_json(depth: int) -> str:
    meta = {"schema_version": 1, "run_id": "run2", "probe_digest": "d" * 64}
    return json.dumps(meta)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"


class _CreatesAFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _pickled_member(job: Path) -> None:
    marker = job.parent.parent / "pwned"
    arrays = dict(np.load(job / "fingerprint.npz"))
    arrays["mu"] = np.array([_CreatesAFile(marker)] * N, dtype=object)
    np.savez(job / "fingerprint.npz", **arrays)


HOSTILE = {
    "run.json nested 200,000 levels": (
        lambda job: (job / "run.json").write_text(deep_json(200_000)),
        ["run.json", "nested deeper than"],
    ),
    "run.json of 5 MB": (
        lambda job: (job / "run.json").write_text(
            json.dumps({"run_id": "run2", "pad": " " * (5 << 20)})
        ),
        ["run.json", "bytes", "at most"],
    ),
    "run.json not UTF-8": (
        lambda job: (job / "run.json").write_bytes(b'{"run_id": "\xff"}'),
        ["run.json", "not valid"],
    ),
    "run.json a list": (
        lambda job: (job / "run.json").write_text("[1, 2]"),
        ["run.json", "expected a JSON object"],
    ),
    "hyperparameters a string": (
        lambda job: edit_meta(job, hyperparameters="beta=4"),
        ["run.json", "hyperparameters", "expected an object"],
    ),
    "hyperparameters a list": (
        lambda job: edit_meta(job, hyperparameters=[4, 5]),
        ["run.json", "hyperparameters", "expected an object"],
    ),
    "factor_names a number": (
        lambda job: edit_meta(job, factor_names=5),
        ["run.json", "factor_names", "list of strings"],
    ),
    "model an object": (
        lambda job: edit_meta(job, model={"name": "beta_vae"}),
        ["run.json", "'model'", "a string"],
    ),
    "run_id a number": (
        lambda job: edit_meta(job, run_id=5),
        ["run.json", "'run_id'", "a non-empty string"],
    ),
    "seed a string": (
        lambda job: edit_meta(job, seed="0"),
        ["run.json", "'seed'", "an integer"],
    ),
    "job_num null": (
        lambda job: edit_meta(job, job_num=None),
        ["run.json", "'job_num'", "an integer"],
    ),
    "probe_size negative": (
        lambda job: edit_meta(job, probe_size=-1),
        ["run.json", "'probe_size'"],
    ),
    "information_bits strings": (
        lambda job: edit_meta(job, information_bits=["a", "b", "c"]),
        ["run.json", "information_bits"],
    ),
    "metrics a list": (
        lambda job: edit_meta(job, metrics=[1]),
        ["run.json", "'metrics'"],
    ),
    "npz member declaring (10^12, 4)": (
        lambda job: rewrite_npz(
            job,
            {"mu": npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (10**12, 4)})},
        ),
        ["fingerprint.npz", "mu", "(1000000000000, 4)"],
    ),
    "npz member whose size differs from its header": (
        lambda job: rewrite_npz(
            job,
            {"mu": npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (N, D)}, b"x")},
        ),
        ["fingerprint.npz", "mu", "bytes"],
    ),
    "npz longdouble": (
        lambda job: rewrite_npz(
            job,
            {
                "mu": npy_bytes(
                    {"descr": "<f16", "fortran_order": False, "shape": (N, D)}, bytes(16 * N * D)
                )
            },
        ),
        ["fingerprint.npz", "mu", "float128"],
    ),
    "npz complex": (
        lambda job: rewrite_npz(
            job,
            {
                "logvar": npy_bytes(
                    {"descr": "<c8", "fortran_order": False, "shape": (N, D)}, bytes(8 * N * D)
                )
            },
        ),
        ["fingerprint.npz", "logvar", "complex64"],
    ),
    "npz extra member": (
        lambda job: rewrite_npz(job, extra=lambda zf: zf.writestr("evil.npy", b"x")),
        ["fingerprint.npz", "evil"],
    ),
    "npz pickled objects": (_pickled_member, ["fingerprint.npz", "mu", "object"]),
    "npz not a zip": (
        lambda job: (job / "fingerprint.npz").write_bytes(b"PK\x03\x04garbage"),
        ["fingerprint.npz", "unreadable npz"],
    ),
    "npz 3-d probe_index": (
        lambda job: rewrite_npz(
            job,
            {
                "probe_index": npy_bytes(
                    {"descr": "<i8", "fortran_order": False, "shape": (N, 1, 1)}, bytes(8 * N)
                )
            },
        ),
        ["fingerprint.npz", "probe_index"],
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_one_hostile_file_skips_its_run_only(tmp_path, case):
    make_hostile, expected = HOSTILE[case]
    sweep = make_sweep(tmp_path / "multirun" / "s")
    make_hostile(sweep / "2")
    found, skipped = read(DirectorySource(sweep))
    assert found == ["run0", "run1", "run3"]
    assert list(skipped) == ["2"], skipped
    reason = skipped["2"]
    assert "\n" not in reason and str(sweep / "2") in reason
    for word in expected:
        assert word in reason, reason
    assert not (tmp_path / "multirun" / "pwned").exists()  # nothing was unpickled


def test_json_within_bounds_still_loads(tmp_path):
    """Depth and size bounds leave a real run.json (nested hyper-parameters) alone."""
    fp = make_fingerprint(
        model="factor_vae",
        seed=None,
        hyperparameters={"gamma": 10, "discriminator_optim": {"lr": 1e-4, "betas": [0.5, 0.9]}},
        job_num=0,
        metrics={"mig": 0.5, "sap": None},
        wandb={"project": "p", "id": "x"},
    )
    fp.save(tmp_path)
    assert Fingerprint.load(tmp_path).meta["hyperparameters"]["discriminator_optim"]["lr"] == 1e-4


def _bomb(zf: zipfile.ZipFile) -> None:
    """A deflated member of 2 GiB of zeros (about 2 MiB on disk)."""
    info = zipfile.ZipInfo("bomb.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    block = bytes(1 << 24)
    with zf.open(info, "w", force_zip64=True) as f:
        for _ in range(128):
            f.write(block)


PEAK = """
import json, resource, sys
from infoprint.sources.directory import DirectorySource
source = DirectorySource(sys.argv[1])
found = [fp.run_id for fp in source.iter_fingerprints()]
print(json.dumps({"found": found, "skipped": [[s.run, s.reason] for s in source.skipped],
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _peak(sweep: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PEAK, str(sweep)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_zip_bomb_member_is_refused_without_raising_peak_memory(tmp_path):
    clean = make_sweep(tmp_path / "clean")
    bombed = make_sweep(tmp_path / "bombed")
    rewrite_npz(bombed / "2", extra=_bomb)
    assert (bombed / "2" / "fingerprint.npz").stat().st_size < 8 << 20
    baseline, hostile = _peak(clean), _peak(bombed)
    assert baseline["found"] == ["run0", "run1", "run2", "run3"]
    assert hostile["found"] == ["run0", "run1", "run3"]
    ((run, reason),) = hostile["skipped"]
    assert run.endswith("2") and "bomb" in reason and "fingerprint.npz" in reason
    assert hostile["peak_kib"] < baseline["peak_kib"] + 32 * 1024, (baseline, hostile)


def test_declared_huge_member_does_not_raise_peak_memory(tmp_path):
    clean = make_sweep(tmp_path / "clean")
    hostile = make_sweep(tmp_path / "hostile")
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 4)}
    rewrite_npz(hostile / "2", {"mu": npy_bytes(header)})
    baseline, bombed = _peak(clean), _peak(hostile)
    assert bombed["found"] == ["run0", "run1", "run3"]
    assert bombed["peak_kib"] < baseline["peak_kib"] + 32 * 1024, (baseline, bombed)


def test_symlinked_job_folder_is_listed_not_followed(tmp_path):
    sweep = make_sweep(tmp_path / "s", n=2)
    elsewhere = make_sweep(tmp_path / "elsewhere", n=3)
    os.symlink(elsewhere / "2", sweep / "2")
    found, skipped = read(DirectorySource(sweep))
    assert found == ["run0", "run1"]
    assert skipped == {"2": "a symbolic link: not followed"}


def test_sweeps_named_like_tool_folders_are_read(tmp_path):
    """multirun/{analysis,wandb,csv} are sweeps here; real such folders are still skipped."""
    root = tmp_path / "multirun"
    for k, name in enumerate(("analysis", "wandb", "csv")):
        for job in (0, 1):
            make_fingerprint(run_id=f"{name}{job}", job_num=job, seed=k).save(
                root / name / str(job)
            )
    # the real thing, beside them: an analysis output, a W&B folder, a CSV log
    analysis = root / "wandb" / "analysis"
    (analysis / ".hydra").mkdir(parents=True)
    (analysis / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    name: analyze\n")
    (analysis / "summary.json").write_text("{}")
    (root / "csv" / "wandb" / "offline-run-1").mkdir(parents=True)
    (root / "csv" / "wandb" / "latest-run").mkdir()
    (root / "analysis" / "csv").mkdir()
    (root / "analysis" / "csv" / "metrics.csv").write_text("step\n1\n")
    found, skipped = read(DirectorySource(root))
    assert sorted(found) == ["analysis0", "analysis1", "csv0", "csv1", "wandb0", "wandb1"]
    assert skipped == {}


def test_hostile_hydra_yaml_is_a_run_not_a_crash(tmp_path):
    sweep = make_sweep(tmp_path / "s", n=2)
    (sweep / "1" / ".hydra").mkdir()
    (sweep / "1" / ".hydra" / "hydra.yaml").write_text("[" * 100_000)
    found, skipped = read(DirectorySource(sweep))
    assert found == ["run0", "run1"] and skipped == {}


def test_huge_error_file_is_read_from_its_end(tmp_path):
    sweep = make_sweep(tmp_path / "s", n=2)
    failed = sweep / "2"
    (failed / ".hydra").mkdir(parents=True)
    (failed / "error.txt").write_text("x" * (20 << 20) + "\nValueError: boom\n")
    found, skipped = read(DirectorySource(sweep))
    assert found == ["run0", "run1"] and skipped == {"2": "job failed: ValueError: boom"}


def test_ensemble_folders_are_unique_and_safe(tmp_path):
    runs = []
    for model in ("x/y", "x_y", "..", "β-vae", "a" * 300):
        for seed in (0, 1):
            runs.append(make_fingerprint(run_id=f"{model}{seed}", model=model, seed=seed))
    ensembles, _ = split_ensembles(runs, by=["model"])
    names = [e.name for e in ensembles]
    assert len(set(names)) == len(names) == 5
    for name in names:
        assert name not in (".", "..") and not name.startswith((".", "-"))
        assert "/" not in name and "\\" not in name and len(name) <= 100
        assert name.isascii() and (tmp_path / name).resolve().parent == tmp_path.resolve()
    plain, _ = split_ensembles(
        [make_fingerprint(run_id=f"r{s}", model="beta_vae", seed=s) for s in (0, 1)], by=["model"]
    )
    assert [e.name for e in plain] == ["beta_vae"]  # nothing changed: no suffix


ANALYSE = ["device=cpu", "hotspot_fusion.enabled=false", "logger=none", "traversals.enabled=false"]


@pytest.mark.parametrize(
    ("case", "file"),
    [
        ("hyperparameters a string", "run.json"),
        ("npz member declaring (10^12, 4)", "fingerprint.npz"),
    ],
)
def test_analysis_completes_without_the_hostile_run(tmp_path, case, file):
    sweep = make_sweep(tmp_path / "multirun" / "s")
    HOSTILE[case][0](sweep / "2")
    result = run_script("analyze.py", [f"source.path={sweep}", *ANALYSE], tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((sweep / "analysis" / "summary.json").read_text())
    assert summary["n_runs"] == 3
    (skipped,) = summary["skipped"]
    assert skipped["run"] == str(sweep / "2")
    assert str(sweep / "2" / file) in skipped["reason"]


def test_no_unpickling_anywhere_in_the_loaders():
    code = textwrap.dedent(
        """
        import pathlib, re
        hits = []
        for path in pathlib.Path("src").rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"allow_pickle\\s*=\\s*True|pickle\\.loads?\\(", line):
                    hits.append(f"{path}:{n}")
        print(hits)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout
