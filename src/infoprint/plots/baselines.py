"""Rank agreement of other similarity measures with NMI between runs (paper Fig. 2)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from infoprint.analysis.baselines import BaselineComparison


def baselines_figure(result: BaselineComparison) -> Figure:
    """One panel per measure: its value for each pair of runs against the pair's NMI."""
    names = [n for n in result.measures if n not in ("nmi", "vi")]
    upper = np.triu_indices(len(result.run_ids), 1)
    nmi = result.measures["nmi"][upper]
    rho = result.agreement("nmi")
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False, constrained_layout=True
    )
    for ax, name in zip(axes[0], names, strict=True):
        values = result.measures[name]
        ax.scatter(nmi, (0.5 * (values + values.T))[upper], s=8)
        shown = "n/a" if rho[name] is None else f"{rho[name]:.2f}"
        ax.set_title(f"{name}\nSpearman ρ with NMI = {shown}", fontsize=8)
        ax.set_xlabel("whole-space NMI")
    axes[0, 0].set_ylabel("measure (run pair)")
    return fig
