"""The structure figure of an ensemble (Murphy, Dillavou & Bassett, TMLR 2025, Fig. 3-4).

Reachability profile of OPTICS on top; below it the channel-by-channel matrix of the
clustering's channel measure (NMI, VI: :mod:`infoprint.analysis.measures`) in reachability
order, close channels bright; at the side a strip with each channel's best NMI with
a ground-truth factor, coloured by that factor.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering
from infoprint.analysis.measures import channel_measure


def structure_figure(structure: EnsembleStructure, clustering: Clustering) -> Figure:
    """Reachability, reordered similarity matrix and factor strip for one measure."""
    measure = channel_measure(clustering.measure)
    vmin, vmax = measure.value_range
    order = clustering.ordering
    matrix = measure.matrix(structure)[np.ix_(order, order)]
    labels = clustering.labels[order]
    reach = clustering.reachability[order].copy()
    finite = np.isfinite(reach)
    ceiling = reach[finite].max() * 1.05 if finite.any() else 1.0
    reach[~finite] = ceiling

    fig = plt.figure(figsize=(8.5, 8.5), constrained_layout=True)
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 4], width_ratios=[4, 0.5, 0.15])
    ax_reach = fig.add_subplot(grid[0, 0])
    ax_matrix = fig.add_subplot(grid[1, 0], sharex=ax_reach)
    ax_strip = fig.add_subplot(grid[1, 1], sharey=ax_matrix)
    ax_bar = fig.add_subplot(grid[1, 2])

    palette = plt.get_cmap("tab10")
    colours = [palette(label % 10) if label >= 0 else (0.7, 0.7, 0.7, 1.0) for label in labels]
    positions = np.arange(len(order))
    ax_reach.bar(positions, reach, width=1.0, color=colours)
    ax_reach.set_ylabel("reachability")
    ax_reach.set_title(
        f"{measure.label} structure: {structure.n_channels} channels of {structure.n_runs} runs, "
        f"min_samples={clustering.min_samples}"
    )
    ax_reach.tick_params(labelbottom=False)

    image = ax_matrix.imshow(
        matrix,
        cmap=measure.colours,
        vmin=vmin,
        vmax=vmax,
        aspect="auto",
        interpolation="nearest",
        extent=(-0.5, len(order) - 0.5, len(order) - 0.5, -0.5),
    )
    ax_matrix.set_xlabel("channel (reachability order)")
    ax_matrix.set_ylabel("channel (reachability order)")
    fig.colorbar(image, cax=ax_bar, label=measure.label)

    _factor_strip(ax_strip, structure, order)
    ax_strip.tick_params(labelleft=False)
    return fig


def _factor_strip(ax_strip: Axes, structure: EnsembleStructure, order: np.ndarray) -> None:
    """Each channel's best NMI with a ground-truth factor, coloured by that factor."""
    positions = np.arange(len(order))
    if structure.factor_nmi is not None:
        nmi = structure.factor_nmi[order]
        best = nmi.argmax(axis=1)
        factor_colours = plt.get_cmap("Set2")
        ax_strip.barh(
            positions, nmi[positions, best], height=1.0, color=[factor_colours(k) for k in best]
        )
        ax_strip.set_xlim(0, 1)
        ax_strip.set_xlabel("best factor NMI")
        ax_strip.legend(
            handles=[
                Patch(color=factor_colours(k), label=name)
                for k, name in enumerate(structure.factor_names)
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.06),
            fontsize=7,
            frameon=False,
        )
    else:
        ax_strip.text(0.5, 0.5, "no ground-truth\nfactors", ha="center", va="center", fontsize=8)
        ax_strip.set_xticks([])
