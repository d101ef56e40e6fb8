"""Figures of fusion (Murphy, Dillavou & Bassett, TMLR 2025, Sec. 4.4).

The fused space: every probe point's fused posterior, coloured by a ground-truth factor
(on the ring the angle, with a cyclic colour map), as an ellipse of ±1σ around its mean in
the first two dimensions (d ≥ 2) or as mean ± σ against the probe order (d = 1).
Continuity against ensemble size: median over repeats per objective with the
interquartile range, every repeat as a dot, and the members' own continuity for reference.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import EllipseCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from infoprint.analysis.fusion import FusionResult
from infoprint.info import FusedSpace, continuity

_LABELS = {"mutual_information": "I(U;V)", "exp_neg_vi": "exp(−VI)", "nmi": "NMI"}


def draw_fused_space(
    ax: Axes,
    space: FusedSpace,
    colour: np.ndarray,
    cmap: str = "viridis",
    norm: Normalize | None = None,
    label: str = "",
) -> None:
    """Draw one fused embedding on ``ax``, points coloured by ``colour [N]``."""
    mu, sigma = space.mu.numpy(), np.exp(0.5 * space.logvar.numpy())
    norm = norm or Normalize(colour.min(), colour.max())
    if mu.shape[1] == 1:
        position = np.arange(len(mu))
        ax.fill_between(position, mu[:, 0] - sigma[:, 0], mu[:, 0] + sigma[:, 0], color="0.85")
        points = ax.scatter(position, mu[:, 0], c=colour, cmap=cmap, norm=norm, s=6)
        ax.set_xlabel("probe point (probe-set order)")
        ax.set_ylabel("fused u ± σ")
    else:
        ellipses = EllipseCollection(
            2 * sigma[:, 0],
            2 * sigma[:, 1],
            np.zeros(len(mu)),
            units="xy",
            offsets=mu[:, :2],
            offset_transform=ax.transData,
            cmap=cmap,
            norm=norm,
            alpha=0.15,
        )
        ellipses.set_array(colour)
        ax.add_collection(ellipses)
        points = ax.scatter(mu[:, 0], mu[:, 1], c=colour, cmap=cmap, norm=norm, s=6)
        ax.set_aspect("equal", adjustable="datalim")
        ax.autoscale_view()
        ax.set_xlabel("u₁")
        ax.set_ylabel("u₂")
    ax.figure.colorbar(points, ax=ax, shrink=0.8, label=label)


def fused_space_figure(result: FusionResult, factor: str | None = None) -> Figure:
    """One panel per objective: the fused embedding of the largest ensemble.

    Points are coloured by ``factor`` (default: the first ground-truth factor, e.g. the
    ring's angle), or by their position in the probe order when there are no factors.
    """
    if result.factors is not None and result.factor_names:
        k = result.factor_names.index(factor) if factor else 0
        colour, label = result.factors[:, k].astype(float), result.factor_names[k]
    else:
        colour, label = np.arange(len(result.probe_index), dtype=float), "probe point"
    # A cyclic map for a closed curve; its last value must not wrap onto the first.
    if result.closed:
        cmap, norm = "hsv", Normalize(colour.min(), colour.max() + 1)
    else:
        cmap, norm = "viridis", Normalize(colour.min(), colour.max())
    spaces = [(o, result.fused[o]) for o in result.objectives if o in result.fused]
    fig, axes = plt.subplots(
        1, max(1, len(spaces)), figsize=(5 * max(1, len(spaces)), 4.6), squeeze=False
    )
    for ax, (objective, space) in zip(axes[0], spaces, strict=False):
        draw_fused_space(ax, space, colour, cmap, norm, label)
        c = continuity(space.mu, space.logvar, closed=result.closed)
        ax.set_title(f"{_LABELS[objective]}: continuity {c:.2f}")
    size = int(result.sizes[-1])
    fig.suptitle(f"fused {result.dim}-D space of {size} runs ({len(result.run_ids)} in the sweep)")
    fig.tight_layout()
    return fig


def continuity_figure(result: FusionResult) -> Figure:
    """Continuity against ensemble size per objective (lower is better; 1 is ideal)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    sizes = result.sizes.astype(float)
    palette = plt.get_cmap("tab10")
    for o, objective in enumerate(result.objectives):
        values = result.continuity[o]
        colour = palette(o)
        for s, size in enumerate(sizes):
            finite = values[s][np.isfinite(values[s])]
            ax.scatter(np.full(len(finite), size), finite, color=colour, alpha=0.35, s=12)
        ok = np.isfinite(values).any(axis=1)
        if ok.any():
            q25, q50, q75 = np.nanpercentile(values[ok], [25, 50, 75], axis=1)
            ax.plot(sizes[ok], q50, "o-", color=colour, label=_LABELS[objective])
            ax.fill_between(sizes[ok], q25, q75, color=colour, alpha=0.15)
    if len(result.member_continuity):
        ax.axhline(np.median(result.member_continuity), color="0.4", ls=":", label="single member")
    ax.axhline(1.0, color="0.6", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()
    ax.set_xticks(sizes, [str(int(s)) for s in sizes])
    ax.set_xlabel("ensemble size (runs)")
    ax.set_ylabel("continuity (max / 90th pct. adjacent D_B)")
    ax.set_title(f"fusion: continuity vs ensemble size ({result.repeats} repeats)")
    ax.legend()
    return fig
