"""Figures of the course of training (Murphy, Dillavou & Bassett, TMLR 2025, Sec. 4.3)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from infoprint.analysis.measures import PRIMARY_MEASURE, channel_measure
from infoprint.analysis.training import TrainingCourse


def _log_x(ax, steps: np.ndarray) -> None:
    """Log-like step axis that keeps step 0: linear up to the first snapshot after 0."""
    first = float(steps[steps > 0].min()) if (steps > 0).any() else 1.0
    ax.set_xscale("symlog", linthresh=max(1.0, first))
    ax.set_xlim(0, float(steps.max()) * 1.2 if len(steps) else 1.0)
    ax.set_xlabel("training step")


def information_figure(course: TrainingCourse, max_runs: int = 12) -> Figure:
    """Each run's per-channel information (bits) against step, one panel per run."""
    shown = course.run_ids[:max_runs]
    cols = min(4, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(3.2 * cols, 2.4 * rows),
        squeeze=False,
        sharex=True,
        sharey=True,
        constrained_layout=True,
    )
    for ax, run_id, bits in zip(axes.flat, shown, course.at.information, strict=False):
        ax.plot(course.steps, bits, lw=1)
        ax.set_title(run_id, fontsize=8)
        _log_x(ax, course.steps)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel("bits per channel")
    return fig


def agreement_figure(course: TrainingCourse) -> Figure:
    """Whole-space NMI and VI between runs against step: median and quartiles over pairs."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), constrained_layout=True)
    for ax, which, label in ((axes[0], "nmi", "NMI between runs"), (axes[1], "vi", "VI (bits)")):
        q = course.pair_quantiles(which)
        ax.fill_between(course.steps, q[:, 0], q[:, 2], alpha=0.3, label="25-75 %")
        ax.plot(course.steps, q[:, 1], "o-", ms=3, label="median over run pairs")
        ax.axvline(
            course.least_agreement_step,
            color="red",
            ls="--",
            lw=1,
            label=f"least agreement (step {course.least_agreement_step})",
        )
        ax.set_ylabel(label)
        _log_x(ax, course.steps)
    axes[0].legend(fontsize=7)
    return fig


def structure_figure(course: TrainingCourse) -> Figure:
    """Channels kept, hotspots of the primary channel measure (NMI) and the fraction of kept
    channels in them, by step."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), constrained_layout=True)
    series = (
        (course.at.kept, "channels kept (all runs)"),
        (course.at.n_hotspots, f"{channel_measure(PRIMARY_MEASURE).symbol} hotspots"),
        (course.at.in_hotspots, "fraction of kept channels in hotspots"),
    )
    for ax, (values, title) in zip(axes, series, strict=True):
        ax.plot(course.steps, values, "o-", ms=3)
        ax.set_title(title, fontsize=9)
        _log_x(ax, course.steps)
    return fig
