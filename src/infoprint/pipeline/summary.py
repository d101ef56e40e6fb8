"""summary.json: what an analysis found, skipped, failed and wrote (docs/architecture.md §10)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from infoprint.fingerprint.record import Fingerprint
from infoprint.pipeline.run import AnalysisContext


def sweep_of(fingerprints: list[Fingerprint]) -> str:
    """The sweep name of the runs ('a+b' when they come from several sweeps)."""
    sweeps = Counter(str(fp.meta.get("sweep", "")) for fp in fingerprints)
    return sweeps.most_common(1)[0][0] if len(sweeps) == 1 else "+".join(sorted(sweeps))


def summary(context: AnalysisContext) -> dict[str, Any]:
    """Counts, runs, skipped runs, hotspots, every step's section and the config of one
    ensemble's analysis (:func:`~infoprint.pipeline.run.run_pipeline` adds its failed steps,
    notes, files and time)."""
    fingerprints, structure = context.fingerprints, context.structure
    return {
        "source": context.source,
        "sweep": context.sweep,
        "command": context.inputs.command,
        "n_runs": len(fingerprints),
        "n_channels": int(sum(fp.n_channels for fp in fingerprints)),
        "n_kept_channels": structure.n_channels,
        "information_threshold": context.options.information_threshold,
        "probe_digest": fingerprints[0].probe_digest,
        "probe_size": fingerprints[0].n_points,
        "factor_names": list(structure.factor_names),
        "runs": [
            {"run_id": fp.run_id, "job_num": fp.meta.get("job_num"), "path": fp.path}
            for fp in fingerprints
        ],
        "skipped": [{"run": s.run, "reason": s.reason} for s in context.skipped],
        "hotspots": [
            {k: v for k, v in vars(h).items() if k != "members"} for h in context.hotspots
        ],
        "min_samples": {c.measure: c.min_samples for c in context.clusterings},
        **context.sections(),
        "config": context.inputs.config,
    }


def headline_numbers(context: AnalysisContext) -> dict[str, Any]:
    """Scalars for the W&B run summary: counts and every defined Spearman ρ."""
    numbers: dict[str, Any] = {
        "n_runs": len(context.fingerprints),
        "n_channels": int(sum(fp.n_channels for fp in context.fingerprints)),
        "n_kept_channels": context.structure.n_channels,
        "probe_size": context.fingerprints[0].n_points,
        "n_hotspots": len(context.hotspots),
        "n_failed_steps": len(context.failures),
    }
    section = context.sections().get("run_metrics") or {}
    numbers |= {
        f"spearman/{metric}/{quantity}": c["rho"]
        for metric, by_quantity in section.get("spearman", {}).items()
        for quantity, c in by_quantity.items()
        if c["rho"] is not None
    }
    return numbers
