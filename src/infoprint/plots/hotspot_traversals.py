"""Figures of what each hotspot encodes: traversals of its representative channel."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from infoprint.analysis.hotspot_traversals import HotspotTraversal
from infoprint.plots.traversals import tile


def _title(t: HotspotTraversal) -> str:
    h = t.hotspot
    factor = "" if h.best_factor is None else f", {h.best_factor} NMI {h.best_factor_nmi:.2f}"
    return (
        f"hotspot {h.measure}/{h.hotspot} ({h.size} channels{factor}): job {t.job} ch {t.channel}"
    )


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def traversal_figure(t: HotspotTraversal) -> Figure:
    """Reconstruction of each base point, then the traversal along the channel."""
    rows = np.concatenate([t.reconstructions[:, None], t.images], axis=1)
    fig, ax = plt.subplots(figsize=(1.0 * rows.shape[1] + 1, 1.0 * rows.shape[0] + 0.8))
    ax.imshow(_rgb(tile(rows)), interpolation="nearest")
    ax.set_title(_title(t), fontsize=9)
    ax.set_yticks([])
    width = rows.shape[-1] + 1
    ax.set_xticks(
        [width * (k + 0.5) for k in range(rows.shape[1])],
        ["recon", *(f"{v:.1f}" for v in t.values)],
        fontsize=7,
    )
    fig.tight_layout()
    return fig


def traversal_grid_figure(found: Sequence[HotspotTraversal]) -> Figure:
    """One traversal row per hotspot (first base point), labelled with its best factor."""
    fig, axes = plt.subplots(len(found), 1, figsize=(9, 1.1 * len(found) + 0.5), squeeze=False)
    for ax, t in zip(axes[:, 0], found, strict=True):
        ax.imshow(_rgb(tile(t.images[:1])), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(_title(t), fontsize=8, loc="left")
    fig.tight_layout()
    return fig
