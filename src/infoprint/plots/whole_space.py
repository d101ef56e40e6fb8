"""Run-by-run NMI and VI of whole latent spaces, with Monte Carlo standard errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from infoprint.analysis.whole_space import WholeSpaceComparison


def whole_space_figure(result: WholeSpaceComparison) -> Figure:
    """Heatmaps of NMI and VI between runs; each cell annotated when the ensemble is small."""
    n = len(result.run_ids)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), constrained_layout=True)
    panels = (
        ("NMI", result.nmi, result.nmi_se, "viridis", 0.0, 1.0),
        ("VI (bits)", result.vi, result.vi_se, "magma_r", 0.0, None),
    )
    for ax, (title, value, se, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        image = ax.imshow(value, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_title(f"whole-space {title}")
        ax.set_xlabel("run")
        ax.set_ylabel("run")
        if n <= 12:
            for (i, j), v in np.ndenumerate(value):
                ax.text(j, i, f"{v:.2f}\n±{se[i, j]:.2f}", ha="center", va="center", fontsize=6)
    fig.suptitle(
        f"{n} runs, {result.sample} sample of {result.n_points} points, "
        f"{result.n_samples} Monte Carlo samples"
    )
    return fig
