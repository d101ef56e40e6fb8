"""Time the durable writes add to a run: infoprint's atomic writes against plain ones.

Every file of a run and of an analysis goes through ``infoprint.store.atomic`` (temporary
file, fsync, rename, fsync of the folder; ``docs/architecture.md`` §3). This writes the
files one demo run writes (its ``last.ckpt``, of the demo's model, every 1,000 steps and at
the end; ``fingerprint.npz`` and ``run.json``, validated first as ``Fingerprint.save``
does; the metrics' ``run.json`` rewrite) and its share of the demo analysis's files, both
ways, interleaved over ``--repeats`` rounds in this process, and prints the difference per
run and as a share of the demo's wall time (``--demo-seconds``: ``make demo``'s 344 s for
8 runs and their analysis). The bounded reads (run.json and fingerprint.npz checked from
their headers before any array is read) are timed against a bare ``np.load`` /
``json.load`` the same way. Run on a quiet machine: the load is printed.

    python bench/durable_writes.py [--repeats 5] [--demo-seconds 344]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _common import make_model

from infoprint.fingerprint.record import SCHEMA_VERSION, Fingerprint
from infoprint.store.atomic import atomic_write, atomic_write_json
from infoprint.store.checkpoint import save_checkpoint

RUNS = 8  # the demo's ensemble
CHECKPOINTS = 4  # steps 1,000, 2,000, 3,000 and the end of 3,500
ANALYSIS_FILES = 30  # tables, figures (~60 KiB each), results.npz, summary.json, report.html


def _demo_files() -> tuple[dict, Fingerprint, bytes]:
    model = make_model("beta_vae", 32)
    weights = model.state_dict()
    adam = {
        i: {"exp_avg": w.clone(), "exp_avg_sq": w.clone()} for i, w in enumerate(weights.values())
    }
    checkpoint = {"state_dict": weights, "optimizer_states": [{"state": adam}], "global_step": 0}
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(1000, 10)).astype(np.float32)
    fp = Fingerprint(
        mu=mu,
        logvar=np.zeros_like(mu),
        probe_index=np.arange(1000),
        factors=rng.integers(0, 6, (1000, 5)),
        meta={
            "schema_version": SCHEMA_VERSION,
            "run_id": "bench",
            "probe_digest": "d" * 64,
            "factor_names": list("abcde"),
        },
    )
    return checkpoint, fp, rng.bytes(60_000)


def _plain_run(folder: Path, checkpoint: dict, fp: Fingerprint, png: bytes) -> None:
    for _ in range(CHECKPOINTS):
        torch.save(checkpoint, folder / "last.ckpt")
    np.savez(folder / "fingerprint.npz", **fp.arrays())
    for _ in range(2):  # run.json, then its metrics rewrite
        (folder / "run.json").write_text(json.dumps(fp.meta, indent=2, sort_keys=True))
    for k in range(ANALYSIS_FILES // RUNS):
        (folder / f"figure{k}.png").write_bytes(png)


def _durable_run(folder: Path, checkpoint: dict, fp: Fingerprint, png: bytes) -> None:
    for _ in range(CHECKPOINTS):
        save_checkpoint(checkpoint, folder / "last.ckpt")
    fp.save(folder)  # validated, then fingerprint.npz and run.json written atomically
    atomic_write_json(folder / "run.json", fp.meta)  # the metrics' rewrite
    for k in range(ANALYSIS_FILES // RUNS):
        atomic_write(folder / f"figure{k}.png", lambda f: f.write(png))


def _plain_read(folder: Path) -> None:
    json.loads((folder / "run.json").read_text())
    with np.load(folder / "fingerprint.npz") as npz:
        {k: npz[k] for k in npz.files}


def _checked_read(folder: Path) -> None:
    Fingerprint.load(folder)


def _seconds(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--demo-seconds", type=float, default=344.0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeats} rounds of {RUNS} runs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint, fp, png = _demo_files()
        size = len(_buffer(checkpoint))
        print(f"last.ckpt {size / 2**20:.2f} MiB, fingerprint 1000 x 10, figures 60 KiB")
        times: dict[str, list[float]] = {k: [] for k in ("plain", "durable", "read", "checked")}
        for _ in range(args.repeats):
            times["plain"].append(_seconds(lambda: _plain_run(folder, checkpoint, fp, png)))
            times["durable"].append(_seconds(lambda: _durable_run(folder, checkpoint, fp, png)))
            times["read"].append(_seconds(lambda: _plain_read(folder)))
            times["checked"].append(_seconds(lambda: _checked_read(folder)))
    median = {k: statistics.median(v) for k, v in times.items()}
    extra = RUNS * (median["durable"] - median["plain"] + median["checked"] - median["read"])
    print(
        f"writes per run: plain {median['plain'] * 1e3:.1f} ms, durable "
        f"{median['durable'] * 1e3:.1f} ms ({median['durable'] / median['plain']:.2f}x)"
    )
    print(
        f"reads per run: plain {median['read'] * 1e3:.2f} ms, checked "
        f"{median['checked'] * 1e3:.2f} ms ({median['checked'] / median['read']:.2f}x)"
    )
    print(
        f"added to the demo ({RUNS} runs): {extra:.3f} s = "
        f"{100 * extra / args.demo_seconds:.3f} % of {args.demo_seconds:.0f} s"
    )


def _buffer(checkpoint: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
