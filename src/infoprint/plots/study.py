"""Figures of a study: the ensembles side by side, trends, and hotspots across ensembles.

The paper's layout (Murphy, Dillavou & Bassett, TMLR 2025, Fig. 4): one column per
ensemble, ordered by the swept value, each the ensemble's matrix of a channel measure (the
paper's: NMI) in OPTICS order with its reachability profile above, hotspots coloured.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering
from infoprint.analysis.measures import PRIMARY_MEASURE, channel_measure

_PRIMARY = channel_measure(PRIMARY_MEASURE)
TREND_QUANTITIES = (
    (_PRIMARY.column("hotspots"), f"{_PRIMARY.symbol} hotspots"),
    (_PRIMARY.column("frac_channels"), f"fraction of kept channels in {_PRIMARY.symbol} hotspots"),
    (_PRIMARY.column("mean_cohesion"), f"mean cohesion of {_PRIMARY.symbol} hotspots"),
    ("total_information_per_run", "information per run (bits)"),
)
"""study.csv columns drawn against the swept value, and their titles."""


def study_structure_figure(
    panels: Sequence[tuple[str, EnsembleStructure, Clustering]],
) -> Figure:
    """One column per ensemble: reachability (top) and the matrix of the clusterings' channel
    measure (bottom; the first panel's measure for all) in OPTICS order, close channels bright."""
    n = len(panels)
    measure = channel_measure(panels[0][2].measure)
    vmin, vmax = measure.value_range
    fig, axes = plt.subplots(
        2,
        n,
        figsize=(3.2 * n + 0.8, 4.4),
        squeeze=False,
        constrained_layout=True,
        gridspec_kw={"height_ratios": [1, 3]},
    )
    palette = plt.get_cmap("tab10")
    image = None
    for k, (name, structure, clustering) in enumerate(panels):
        order = clustering.ordering
        labels = clustering.labels[order]
        reach = clustering.reachability[order].copy()
        finite = np.isfinite(reach)
        reach[~finite] = reach[finite].max() * 1.05 if finite.any() else 1.0
        colours = [palette(lab % 10) if lab >= 0 else (0.7, 0.7, 0.7, 1.0) for lab in labels]
        axes[0, k].bar(np.arange(len(order)), reach, width=1.0, color=colours)
        axes[0, k].set_title(name, fontsize=9)
        axes[0, k].tick_params(labelbottom=False, labelsize=7)
        image = axes[1, k].imshow(
            measure.matrix(structure)[np.ix_(order, order)],
            cmap=measure.colours,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        axes[1, k].set_xlabel(f"{structure.n_channels} channels", fontsize=8)
        axes[1, k].tick_params(labelsize=7)
    if image is not None:
        fig.colorbar(image, ax=axes[1, :].tolist(), label=measure.label, shrink=0.8)
    return fig


def study_trends_figure(rows: Sequence[dict], x_key: str, line_key: str | None) -> Figure:
    """Study quantities against the swept ``x_key``, one line per ``line_key`` value."""
    fig, axes = plt.subplots(
        1,
        len(TREND_QUANTITIES),
        figsize=(3.6 * len(TREND_QUANTITIES), 3.2),
        constrained_layout=True,
    )
    lines: dict[str, list[dict]] = {}
    for row in rows:
        lines.setdefault(str(row.get(line_key, "")) if line_key else "", []).append(row)
    for ax, (key, title) in zip(axes, TREND_QUANTITIES, strict=True):
        for label, members in lines.items():
            points = sorted(
                (float(r[x_key]), float(r[key]))
                for r in members
                if isinstance(r.get(x_key), int | float) and r.get(key) is not None
            )
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, "o-", label=label or None)
        ax.set_xlabel(x_key)
        ax.set_title(title, fontsize=9)
        if all(isinstance(r.get(x_key), int | float) and r[x_key] > 0 for r in rows):
            ax.set_xscale("log")
    if line_key and len(lines) > 1:
        axes[0].legend(fontsize=8)
    return fig


def hotspot_links_figure(labels: Sequence[tuple[str, int]], nmi: np.ndarray) -> Figure:
    """NMI between every two hotspots' consensus channels, grouped by ensemble."""
    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size), constrained_layout=True)
    image = ax.imshow(nmi, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ticks = [f"{name} #{h}" for name, h in labels]
    ax.set_xticks(range(len(ticks)), ticks, rotation=90, fontsize=7)
    ax.set_yticks(range(len(ticks)), ticks, fontsize=7)
    names = [name for name, _ in labels]
    for i in range(1, len(names)):
        if names[i] != names[i - 1]:
            ax.axhline(i - 0.5, color="white", lw=1)
            ax.axvline(i - 0.5, color="white", lw=1)
    fig.colorbar(image, ax=ax, label="NMI of consensus channels")
    return fig
