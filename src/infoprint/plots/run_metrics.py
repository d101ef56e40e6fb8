"""Per-run disentanglement metrics against the run's channel structure (scatter grid).

One panel per (headline metric, structure quantity) of
:class:`infoprint.analysis.run_metrics.RunMetricsTable`: a point per run, titled with
Spearman's rank correlation over the runs.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from infoprint.analysis.run_metrics import RunMetricsTable

_LABELS = {
    "active_channels": "active channels",
    "total_information_bits": "total information (bits)",
    "hotspot_channels_nmi": "channels in NMI hotspots",
    "hotspot_channels_vi": "channels in VI hotspots",
}


def metrics_vs_structure_figure(
    table: RunMetricsTable, correlations: dict[str, dict[str, dict]]
) -> Figure:
    """Rows: headline metrics; columns: structure quantities; ρ from ``correlations``."""
    metrics, quantities = table.headline_metrics, table.structure_columns
    fig, axes = plt.subplots(
        len(metrics),
        len(quantities),
        figsize=(2.8 * len(quantities), 2.4 * len(metrics)),
        squeeze=False,
        constrained_layout=True,
    )
    for i, metric in enumerate(metrics):
        y = table.values(metric)
        for j, quantity in enumerate(quantities):
            ax = axes[i, j]
            ax.scatter(table.values(quantity), y, s=18, alpha=0.8)
            rho = correlations[metric][quantity]["rho"]
            n = correlations[metric][quantity]["n"]
            ax.set_title(f"ρ = {rho:.2f} (n={n})" if rho is not None else f"n={n}", fontsize=9)
            ax.set_xlabel(_LABELS.get(quantity, quantity) if i == len(metrics) - 1 else "")
            ax.set_ylabel(metric if j == 0 else "")
            if quantity != "total_information_bits":  # counts of channels
                ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"disentanglement metrics vs channel structure ({len(table.rows)} runs)")
    return fig
