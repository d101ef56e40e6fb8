"""Similarity measures on the nine synthetic spaces of the paper's Fig. 2.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Fig. 2 and the authors'
``Similarity_comparison_synthetic.ipynb``: nine 1-D / 2-D diagonal Gaussian spaces of the
same 64 points (:mod:`infoprint.info.synthetic`) compared pairwise by

* the ground truth: Monte Carlo NMI and VI of the whole spaces
  (:func:`infoprint.info.montecarlo_compare`, Sec. 4.3);
* NMI and VI from Bhattacharyya coefficients (:func:`infoprint.info.compare`, Sec. 3);
* the baselines of :mod:`infoprint.info.baselines` (linear and Bhattacharyya-kernel CKA,
  biased and debiased; RSA; Gaussian stochastic shape metric; UDR) and the JSD between
  classifiers of point identity (:mod:`infoprint.info.baselines_classifier`).

Prints the information of each space, every measure for the 36 pairs, and how well each
measure tracks the ground truth: Spearman's ρ over the 36 pairs with NMI_MC and with
−VI_MC (distances enter with their sign flipped, so ρ = 1 means "orders the pairs as the
information content does"). Writes ``pairs.csv``, ``summary.csv`` and ``fig2.png`` (the
spaces and one 9 x 9 matrix per measure, in the layout of Fig. 2) to ``--out``.

    python bench/similarity.py                       # ~4 min on 2 shared CPU cores
    python bench/similarity.py --out outputs/similarity --mc-samples 20000 --seed 0
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Ellipse
from scipy.stats import spearmanr

from infoprint.info import GaussianSpaces, compare, montecarlo_compare
from infoprint.info.baselines import DISTANCE_MEASURES, MEASURES, space_matrix
from infoprint.info.baselines_classifier import (
    classifier_information,
    classifier_predictions,
    prediction_jsd,
)
from infoprint.info.synthetic import SYNTHETIC_NAMES, SyntheticSpace, synthetic_spaces

# label, is a distance (smaller = more similar)
COLUMNS = {
    "nmi_mc": False,
    "vi_mc": True,
    "nmi_bhat": False,
    "vi_bhat": True,
    **{name: name in DISTANCE_MEASURES for name in MEASURES},
    "jsd_classifier": True,
}
# Fig. 2's panel order (jsd, cka_lin, cka_bhat, [cka_rbf], shape / vi_mc, vi_bhat, nmi_mc,
# nmi_bhat); RSA takes the place of the RBF-kernel CKA, the rest fill a third row.
FIG_ORDER = [
    "jsd_classifier",
    "cka_linear",
    "cka_bhattacharyya",
    "rsa",
    "shape_wasserstein",
    "vi_mc",
    "vi_bhat",
    "nmi_mc",
    "nmi_bhat",
    "udr_spearman",
    "cka_linear_debiased",
    "cka_bhattacharyya_debiased",
    "udr_lasso",
]


def _padded(spaces: list[SyntheticSpace]) -> tuple[np.ndarray, np.ndarray]:
    """``[R, 64, 2]``: a missing dimension has mean 0 and log-variance 0 at every point,
    so it adds 0 to every Bhattacharyya distance."""
    d = max(s.mu.shape[1] for s in spaces)
    mu = np.stack([np.pad(s.mu, ((0, 0), (0, d - s.mu.shape[1]))) for s in spaces])
    lv = np.stack([np.pad(s.logvar, ((0, 0), (0, d - s.mu.shape[1]))) for s in spaces])
    return mu, lv


def measure_all(
    spaces: list[SyntheticSpace], mc_samples: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every measure's ``[9, 9]`` matrix, and each space's information by three estimators."""
    pairs = [(s.mu, s.logvar) for s in spaces]
    mc = montecarlo_compare(pairs, n_samples=mc_samples, seed=seed, device="cpu")
    bhat = compare(GaussianSpaces(*_padded(spaces)), device="cpu", dtype=torch.float64)
    mats = {
        "nmi_mc": mc.nmi.numpy(),
        "vi_mc": mc.vi.numpy(),
        "nmi_bhat": bhat.nmi.numpy(),
        "vi_bhat": bhat.vi.numpy(),
    }
    for name in MEASURES:
        m = space_matrix(pairs, name)
        mats[name] = 0.5 * (m + m.T)  # the Lasso UDR regresses b on a: symmetrise
    preds = [classifier_predictions(mu, lv, seed=seed + r) for r, (mu, lv) in enumerate(pairs)]
    mats["jsd_classifier"] = np.array([[prediction_jsd(p, q) for q in preds] for p in preds])
    info = {
        "I_mc": mc.information.numpy(),
        "I_mc_se": mc.information_se.numpy(),
        "I_bhat": bhat.information_a.numpy(),
        "I_classifier": np.array([classifier_information(p) for p in preds]),
    }
    return mats, info


def tracking(mats: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """Spearman ρ over the 36 pairs of each measure (sign-flipped if a distance) with
    NMI_MC and with −VI_MC."""
    iu = np.triu_indices(len(SYNTHETIC_NAMES), k=1)
    nmi, neg_vi = mats["nmi_mc"][iu], -mats["vi_mc"][iu]
    out = {}
    for name, is_distance in COLUMNS.items():
        v = -mats[name][iu] if is_distance else mats[name][iu]
        out[name] = (float(spearmanr(v, nmi)[0]), float(spearmanr(v, neg_vi)[0]))
    return out


def _fmt_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join([line, sep, *body])


def _draw_space(ax: plt.Axes, space: SyntheticSpace) -> None:
    """Posteriors as 1-σ ellipses (2-D) or densities (1-D), coloured by point index."""
    cmap = plt.get_cmap("viridis")
    n = len(space.mu)
    if space.mu.shape[1] == 2:
        sd = np.exp(space.logvar / 2)
        for i in range(n):
            ax.add_artist(
                Ellipse(space.mu[i], 2 * sd[i, 0], 2 * sd[i, 1], fc=cmap(i / (n - 1)), alpha=0.5)
            )
        lim = np.abs(space.mu).max() + 2 * sd.max()
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
    else:
        x = np.linspace(-3, 3, 2000)  # the middle of the line, as in the notebook
        sd = np.exp(space.logvar[:, 0] / 2)
        for i in range(20, 40):
            dens = np.exp(-0.5 * ((x - space.mu[i, 0]) / sd[i]) ** 2) / sd[i]
            ax.plot(x, dens, color=cmap(i / (n - 1)), lw=1)
    ax.set_title(space.name)
    ax.axis("off")


def figure(spaces: list[SyntheticSpace], mats: dict[str, np.ndarray], path: Path) -> None:
    """The nine spaces (left, 3 x 3) and one 9 x 9 matrix per measure (right, Fig. 2 order)."""
    fig = plt.figure(figsize=(26, 11))
    grid = fig.add_gridspec(3, 8, width_ratios=[1, 1, 1, 0.3, 1.3, 1.3, 1.3, 1.3])
    for k, space in enumerate(spaces):
        _draw_space(fig.add_subplot(grid[k // 3, k % 3]), space)
    sub = grid[:, 4:].subgridspec(3, 5)
    ticks = range(len(SYNTHETIC_NAMES))
    for k, name in enumerate(FIG_ORDER):
        ax = fig.add_subplot(sub[k // 5, k % 5])
        cmap = "magma_r" if COLUMNS[name] else "magma"
        vmax = None if COLUMNS[name] else 1.0
        im = ax.imshow(mats[name], cmap=cmap, vmin=0, vmax=vmax)
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_title(name)
        ax.set_xticks(ticks, SYNTHETIC_NAMES, fontsize=7)
        ax.set_yticks(ticks, SYNTHETIC_NAMES, fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/similarity"))
    parser.add_argument("--mc-samples", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-figure", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    spaces = synthetic_spaces()
    mats, info = measure_all(spaces, args.mc_samples, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    print("Information of each space (bits; Monte Carlo ± s.e., Bhattacharyya, classifier)")
    rows = [
        [
            s.name,
            s.description,
            f"{info['I_mc'][r]:.3f} ± {info['I_mc_se'][r]:.3f}",
            f"{info['I_bhat'][r]:.3f}",
            f"{info['I_classifier'][r]:.3f}",
        ]
        for r, s in enumerate(spaces)
    ]
    print(_fmt_table(["space", "description", "I_MC", "I_bhat", "I_classifier"], rows))

    iu = np.triu_indices(len(spaces), k=1)
    names = list(COLUMNS)
    pair_rows = [
        [f"{SYNTHETIC_NAMES[a]}-{SYNTHETIC_NAMES[b]}"] + [f"{mats[n][a, b]:.3f}" for n in names]
        for a, b in zip(*iu, strict=True)
    ]
    print("\nEvery measure for the 36 pairs")
    print(_fmt_table(["pair", *names], pair_rows))
    with open(args.out / "pairs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", *names])
        for a, b in zip(*iu, strict=True):
            w.writerow([SYNTHETIC_NAMES[a], SYNTHETIC_NAMES[b], *(mats[n][a, b] for n in names)])

    track = tracking(mats)
    print("\nDoes the measure track the information content? Spearman ρ over the 36 pairs")
    summary = [
        [n, "distance" if COLUMNS[n] else "similarity", f"{r1:+.2f}", f"{r2:+.2f}"]
        for n, (r1, r2) in track.items()
    ]
    print(_fmt_table(["measure", "kind", "ρ with NMI_MC", "ρ with −VI_MC"], summary))
    with open(args.out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["measure", "kind", "rho_nmi_mc", "rho_neg_vi_mc"])
        w.writerows(summary)
    if not args.no_figure:
        figure(spaces, mats, args.out / "fig2.png")
    print(f"\nwrote {args.out}/ in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
