"""Hotspot fusion's ascent: the analysis's default against 300 steps at lr 0.02.

Murphy, Dillavou & Bassett, TMLR 2025 (arXiv 2405.21042), Sec. 4.4 on one hotspot. For
every NMI hotspot (its 10 most central members, as the analysis fuses them) of the given
sweeps, or of bench/study.py's synthetic study without any, the script prints the fused
channel's NMI with the hotspot's best factor after the analysis's default ascent
(``hotspot_fusion.steps`` / ``lr``), after 300 steps at lr 0.02 (the reference: the
longest ascent of earlier defaults), their difference and both times.

    python bench/fusion_steps.py                            # the study's 9 hotspots
    python bench/fusion_steps.py multirun/demo-<time> [--min-samples 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from study import write_study

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.hotspot_fusion import central_members, fuse_hotspots
from infoprint.analysis.hotspots import cluster, hotspots
from infoprint.analysis.options import HotspotFusionOptions
from infoprint.fingerprint.record import Fingerprint

REFERENCE = {"steps": 300, "lr": 0.02}


def compare_ascents(label: str, fingerprints: list[Fingerprint], min_samples: str) -> None:
    """One line per NMI hotspot: fused NMI after the default ascent and the reference."""
    default = HotspotFusionOptions()
    settings = {"objective": default.objective, "dim": default.dim, "device": "cpu"}
    structure = ensemble_structure(fingerprints, device="cpu")
    clustering = cluster(structure, default.measure, min_samples)
    if clustering is None:
        return
    for hotspot in hotspots(structure, clustering):
        central = central_members(structure, clustering, hotspot, default.max_members)
        nmi, seconds = [], []
        for ascent in ({"steps": default.steps, "lr": default.lr}, REFERENCE):
            started = time.perf_counter()
            fused = fuse_hotspots(fingerprints, [central], **settings, **ascent)[0]
            seconds.append(time.perf_counter() - started)
            nmi.append(fused.best_factor_nmi)
        print(
            f"{label:>12} {hotspot.hotspot:>3} {hotspot.best_factor or '-':>8} "
            f"{nmi[0]:9.5f} {nmi[1]:9.5f} {nmi[0] - nmi[1]:+9.5f} "
            f"{seconds[0]:6.2f} {seconds[1]:6.2f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="*", type=Path, help="folders of run folders")
    parser.add_argument("--min-samples", default="auto", help="clustering.min_samples")
    args = parser.parse_args()
    default = HotspotFusionOptions()
    print(f"default: {default.steps} steps at lr {default.lr}; reference: {REFERENCE}")
    print(
        f"{'ensemble':>12} {'hot':>3} {'factor':>8} {'default':>9} {'300':>9} {'diff':>9} "
        f"{'s':>6} {'s300':>6}"
    )
    if args.sweeps:
        for sweep in args.sweeps:
            runs = sorted(p.parent for p in sweep.glob("*/fingerprint.npz"))
            compare_ascents(sweep.name, [Fingerprint.load(r) for r in runs], args.min_samples)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ensembles, runs = 6, 50
        write_study(root, ensembles, runs, channels=10, points=1000)
        for e in range(ensembles):
            members = [Fingerprint.load(root / "runs" / str(e * runs + r)) for r in range(runs)]
            compare_ascents(f"study e{e}", members, args.min_samples)


if __name__ == "__main__":
    main()
