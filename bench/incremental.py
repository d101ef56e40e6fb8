"""An incremental analysis: what adding one run to an analysed ensemble costs.

Synthetic ensemble (``--runs`` runs × ``--channels`` channels at ``--points`` probe points;
each run encodes two factors in ``--learned`` mixed channels with its own noise, the rest
carry next to nothing), in one process:

1. the structure (information, NMI, VI, NMI with the factors) with the tiled pairwise
   engine as the analysis computed it before run-pair blocks (the baseline), and from
   run-pair blocks without a cache: the price of blocks whose bits do not depend on the
   rest of the pass;
2. the structure of all runs from the cache of an analysis of all runs but one, against
   the full structure (bit-for-bit equality checked), and against its floor: the same pass
   with each set paired only with itself, so every kept channel's coefficient rows are
   built and scaled once (the new run's pairs need all of them, and the bits of a block
   depend on them; short of storing N² coefficients per channel, 4 MB at N = 1,000 in
   float32, any exact incremental pass rebuilds them);
3. the whole default analysis (``analyze()``, hotspot fusion and every default step) of all
   runs, and again after one more run lands in the analysed folder.

    python bench/incremental.py [--runs 50] [--channels 10] [--learned 4] [--points 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from infoprint.analysis.cache import BlockCache
from infoprint.analysis.ensemble import ensemble_structure
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import DiscreteChannels, GaussianChannels, compare, information
from infoprint.info.blocks import run_pair_information
from infoprint.pipeline.terminal import StepProgress
from infoprint.tasks.analyze import analyze

CONF = Path(__file__).resolve().parents[1] / "conf"


def ensemble(runs: int, channels: int, learned: int, points: int) -> list[Fingerprint]:
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, 32, points), rng.integers(0, 32, points)], axis=1)
    out = []
    for r in range(runs):
        mu = rng.normal(0, 0.01, (points, channels))
        logvar = np.zeros((points, channels))
        slots = rng.choice(channels, size=learned, replace=False)
        mix = rng.normal(size=(2, learned))
        mu[:, slots] = (factors / 8) @ mix + rng.normal(0, 0.2, (points, learned))
        logvar[:, slots] = -3.0
        meta = {"run_id": f"r{r}", "probe_digest": "b" * 64, "model": "beta_vae",
                "hyperparameters": {"beta": 4.0}, "seed": r, "sweep": "bench",
                "job_num": r, "factor_names": ["posX", "posY"], "latent_dim": channels,
                "dataset": "synthetic"}  # fmt: skip
        fp = Fingerprint(mu.astype(np.float32), logvar.astype(np.float32),
                         np.arange(points), factors, meta)  # fmt: skip
        out.append(fp)
    return out


def tiled_structure(fps: list[Fingerprint]) -> None:
    """The structure's passes as the analysis made them with the tiled engine."""
    mu = np.concatenate([fp.mu for fp in fps], axis=1)
    logvar = np.concatenate([fp.logvar for fp in fps], axis=1)
    bits = information(GaussianChannels(mu, logvar), device="cpu").numpy()
    keep = np.flatnonzero(bits >= 0.01)
    kept = GaussianChannels(mu[:, keep], logvar[:, keep])
    compare(kept, device="cpu")
    compare(kept, DiscreteChannels(fps[0].factors), device="cpu")


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """Seconds and result of ``fn``; what it prints is kept in :data:`PRINTED`."""
    started = time.perf_counter()
    PRINTED.seek(0)
    PRINTED.truncate()
    with contextlib.redirect_stdout(PRINTED), contextlib.redirect_stderr(PRINTED):
        result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


PRINTED = io.StringIO()


def stages() -> str:
    """The stage lines (``✓ ... (s)``) of the last :func:`timed` analysis."""
    return "\n".join(f"    {line}" for line in PRINTED.getvalue().splitlines() if "✓" in line)


def same_bits(a, b) -> bool:
    pairs = zip(
        (a.nmi, a.vi, a.factor_nmi, a.information),
        (b.nmi, b.vi, b.factor_nmi, b.information),
        strict=True,
    )
    return all(np.array_equal(x, y) for x, y in pairs)


def structure_costs(fps: list[Fingerprint], repeats: int) -> None:
    t_tiled = min(timed(tiled_structure, fps)[0] for _ in range(repeats))
    t_blocks, full = min(
        (timed(ensemble_structure, fps, device="cpu") for _ in range(repeats)), key=lambda x: x[0]
    )
    with tempfile.TemporaryDirectory() as tmp:
        before = BlockCache(Path(tmp) / "a")
        ensemble_structure(fps[:-1], device="cpu", cache=before)
        before.save()
        t_inc, grown = timed(
            ensemble_structure,
            fps,
            device="cpu",
            cache=BlockCache(Path(tmp) / "b", [Path(tmp) / "a"]),
        )
    t_floor = min(timed(run_pair_information, *kept_sets(fps, full), device="cpu")[0]
                  for _ in range(repeats))  # fmt: skip
    kept = full.n_channels
    print(f"structure of {len(fps)} runs ({kept} kept channels), best of {repeats}:")
    print(f"  tiled engine (baseline)      {t_tiled:7.2f} s")
    print(
        f"  run-pair blocks, no cache    {t_blocks:7.2f} s  = {t_blocks / t_tiled:.2f}x the tiled"
    )
    print(f"  one run added, from cache    {t_inc:7.2f} s  = {t_inc / t_blocks:.3f} of the full"
          f" ({t_inc / t_tiled:.3f} of the tiled)")  # fmt: skip
    print(f"  floor: kept rows built once  {t_floor:7.2f} s  = {t_floor / t_blocks:.3f} of the"
          f" full; one run added = {t_inc / t_floor:.2f}x the floor")  # fmt: skip
    print(f"  bit-equal to the full structure: {same_bits(grown, full)}")


def kept_sets(fps: list[Fingerprint], full) -> tuple[list, list[tuple[int, int]]]:
    """Each run's kept channels and the factors as channel sets, each paired with itself."""
    sets: list = []
    for fp in fps:
        keep = full.channels[full.jobs == fp.meta["job_num"]]
        if len(keep):
            sets.append(GaussianChannels(fp.mu[:, keep], fp.logvar[:, keep]))
    sets.append(DiscreteChannels(fps[0].factors))
    return sets, [(i, i) for i in range(len(sets))]


def analysis_costs(fps: list[Fingerprint]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for fp in fps[:-1]:
            fp.save(root / "runs" / str(fp.meta["job_num"]))
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose("analyze", [f"source.path={root / 'runs'}", "logger=none"])
        with open_dict(cfg):
            cfg.paths.output_dir = str(root / "out")
        t_first, _ = timed(analyze, cfg, StepProgress())
        fps[-1].save(root / "runs" / str(fps[-1].meta["job_num"]))
        t_inc, _ = timed(analyze, cfg, StepProgress())
        incremental = stages()
        with open_dict(cfg):
            cfg.paths.output_dir = str(root / "fresh")
        t_full, _ = timed(analyze, cfg, StepProgress())
        full = stages()
    n = len(fps)
    print(f"\nwhole default analysis: {n - 1} runs {t_first:.1f} s (the process's first)")
    print(f"  {n} runs from scratch               {t_full:7.1f} s")
    ratio = t_inc / t_full
    print(f"  {n} runs after {n - 1} (one run added) {t_inc:7.1f} s = {ratio:.3f} of the full")
    print(f"  stages from scratch:\n{full}\n  stages with one run added:\n{incremental}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--learned", type=int, default=4)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-analysis", action="store_true")
    args = parser.parse_args()
    print(f"load average before {os.getloadavg()}; torch threads {torch.get_num_threads()}")
    fps = ensemble(args.runs, args.channels, args.learned, args.points)
    structure_costs(fps, args.repeats)
    if not args.skip_analysis:
        analysis_costs(fps)
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
