"""A slow, independent implementation of the MIG family with plain Python loops.

Written from the definitions (Chen et al. 2018; disentanglement_lib's 20-bin
discretisation; latte-metrics' MIG/DMIG/DLIG/XMIG with its ``_top2gap`` rule), sharing no
code with ``infoprint.metrics``. Everything is in nats.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


def discretise_column(values: list[float], num_bins: int = 20) -> list[int]:
    """Equal-width bins over [min, max]; label = number of left edges <= value (1..bins)."""
    lo, hi = min(values), max(values)
    if lo == hi:  # np.histogram widens a degenerate range to [v - 0.5, v + 0.5]
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / num_bins
    left_edges = [lo + b * width for b in range(num_bins)]
    return [sum(1 for e in left_edges if e <= v) for v in values]


def entropy(labels: list[int]) -> float:
    n = len(labels)
    return -sum((c / n) * math.log(c / n) for c in Counter(labels).values())


def mutual_info(a: list[int], b: list[int]) -> float:
    n = len(a)
    ca, cb, cab = Counter(a), Counter(b), Counter(zip(a, b, strict=True))
    total = 0.0
    for (x, y), c in cab.items():
        total += (c / n) * math.log((c / n) / ((ca[x] / n) * (cb[y] / n)))
    return max(total, 0.0)


def mi_table(codes, factors, num_bins: int = 20) -> list[list[float]]:
    """``table[n][i] = I(z_n; a_i)`` with histogram-discretised codes."""
    n_rows = len(codes)
    d, k = len(codes[0]), len(factors[0])
    cols = [discretise_column([codes[r][c] for r in range(n_rows)], num_bins) for c in range(d)]
    facs = [[int(factors[r][i]) for r in range(n_rows)] for i in range(k)]
    return [[mutual_info(cols[c], facs[i]) for i in range(k)] for c in range(d)]


def factor_columns(factors) -> list[list[int]]:
    return [[int(row[i]) for row in factors] for i in range(len(factors[0]))]


def top2gap(scores: list[float], forced=None) -> tuple[float, int]:
    """latte's ``_top2gap``: gap between ``scores[forced]`` (or the top) and the best other."""
    order = sorted(range(len(scores)), key=lambda n: (scores[n], -n))  # ascending, ties: low n last
    if forced is None:
        return scores[order[-1]] - scores[order[-2]], order[-2]
    if order[-1] == forced:
        return scores[order[-1]] - scores[order[-2]], order[-2]
    return scores[forced] - scores[order[-1]], order[-1]


def mean_defined(values: list[float]) -> float:
    ok = [v for v in values if not math.isnan(v)]
    return sum(ok) / len(ok) if ok else float("nan")


def ratio(num: float, den: float) -> float:
    return num / den if den > 1e-12 else float("nan")


def slow_mig(table, facs, reg_dim=None) -> float:
    out = []
    for i in range(len(facs)):
        col = [table[n][i] for n in range(len(table))]
        gap, _ = top2gap(col, None if reg_dim is None else reg_dim[i])
        out.append(ratio(gap, entropy(facs[i])))
    return mean_defined(out)


def slow_dmig(table, facs, reg_dim) -> float:
    out = []
    for i in range(len(facs)):
        col = [table[n][i] for n in range(len(table))]
        gap, zk = top2gap(col, reg_dim[i])
        if zk in reg_dim:
            other = facs[reg_dim.index(zk)]
            den = entropy(facs[i]) - mutual_info(facs[i], other)
        else:
            den = entropy(facs[i])
        out.append(ratio(gap, den) if entropy(facs[i]) > 1e-12 else float("nan"))
    return mean_defined(out)


def slow_dlig(table, facs, reg_dim) -> float:
    out = []
    for i, zd in enumerate(reg_dim):
        row = list(table[zd])
        gap, other = top2gap(row, i)
        den = entropy(facs[i]) - mutual_info(facs[i], facs[other])
        out.append(ratio(gap, den))
    return mean_defined(out)


def slow_xmig(table, facs, reg_dim) -> float:
    free = [n for n in range(len(table)) if n not in reg_dim]
    out = []
    for i in range(len(facs)):
        best_free = max(table[n][i] for n in free)
        out.append(ratio(table[reg_dim[i]][i] - best_free, entropy(facs[i])))
    return mean_defined(out)


def auto_reg_dim(table) -> list[int]:
    k = len(table[0])
    out = []
    for i in range(k):
        col = [table[n][i] for n in range(len(table))]
        best = 0
        for n in range(1, len(col)):
            if col[n] > col[best]:
                best = n
        out.append(best)
    return out


# ------------------------------------------------------- latte-metrics' kNN conventions
#
# Written from latte-metrics 0.0.1a6's documented procedure (functional/disentanglement/
# mutual_info.py), not copied: every MI is one ``sklearn.feature_selection.
# mutual_info_classif`` call exactly as latte makes it, and the runner-up of a gap is
# read off ``np.argsort`` as latte's ``_top2gap`` does. Shares no code with infoprint.


def knn_mi(x, y, random_state):
    """``mutual_info_classif(x, y)`` as latte calls it (``x`` 2-D, continuous)."""
    from sklearn.feature_selection import mutual_info_classif

    return mutual_info_classif(np.asarray(x), np.asarray(y), random_state=random_state)


def latte_top2gap(score, forced=None):
    order = np.argsort(score)
    srt = np.sort(score)
    if forced is None or order[-1] == forced:
        return srt[-1] - srt[-2], (None if forced is None else int(order[-2]))
    return score[forced] - srt[-1], int(order[-1])


def latte_style_scores(z, a, reg_dim, random_state) -> dict[str, list[float]]:
    """Per-factor MIG (plain), DMIG, DLIG and XMIG (where defined) in latte's conventions."""
    n_attr = a.shape[1]
    reg = list(reg_dim)

    def ent(i):
        return knn_mi(a[:, [i]], a[:, i], random_state)[0]

    def cond(i, j):
        return ent(i) - knn_mi(a[:, [i]], a[:, j], random_state)[0]

    out: dict[str, list[float]] = {"mig": [], "dmig": [], "dlig": [], "xmig": []}
    free = [n for n in range(z.shape[1]) if n not in reg]
    for i in range(n_attr):
        mi = knn_mi(z, a[:, i], random_state)
        top = np.sort(mi)
        out["mig"].append((top[-1] - top[-2]) / ent(i))
        gap, zk = latte_top2gap(mi, reg[i])
        den = cond(i, reg.index(zk)) if zk in reg else ent(i)
        out["dmig"].append(gap / den)
        if free:
            out["xmig"].append((mi[reg[i]] - max(mi[n] for n in free)) / ent(i))
    if n_attr > 1:
        for i, zd in enumerate(reg):
            row = np.array([knn_mi(z[:, [zd]], a[:, m], random_state)[0] for m in range(n_attr)])
            gap, j = latte_top2gap(row, i)
            out["dlig"].append(gap / cond(i, j))
    return {k: v for k, v in out.items() if v}


LATTE_CASES = ("dependent3", "ties3", "free_latent")


def latte_case(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Fixed inputs for the latte-metrics comparison: ``(codes, factors, random_state)``.

    ``dependent3``: 3 latents, 3 factors (factor 1 depends on factor 0), noisy mixing.
    ``ties3``: 3 latents, 3 factors, only latent 0 informative, so many kNN MI estimates
    are clipped to exactly 0 and the runner-ups of DMIG and DLIG are ties.
    ``free_latent``: 4 latents, 2 factors (latents 2 and 3 regularise nothing), codes
    rounded to 2 decimals: XMIG, and DLIG with two factors (no runner-up ties possible)
    shows the per-pair MI re-estimation -- with tied distances, scikit-learn's tie-breaking
    jitter (drawn per call, for all columns at once) changes the kNN counts.
    At most 3 entries are ever sorted for a tie-dependent runner-up, so NumPy's argsort
    keeps tied entries in index order (checked on x86-64 AVX-512 with NumPy 2.4).
    """
    if name == "dependent3":
        rng = np.random.default_rng(20240501)
        n = 500
        f = np.stack([rng.integers(0, s, size=n) for s in (3, 4, 5)], axis=1)
        f[:, 1] = np.where(rng.random(n) < 0.6, f[:, 0] % 4, f[:, 1])
        z = f @ rng.normal(size=(3, 3)) + rng.normal(size=(n, 3))
        return z, f, 7
    if name == "ties3":
        rng = np.random.default_rng(20240502)
        n = 500
        f = np.stack([rng.integers(0, s, size=n) for s in (4, 3, 3)], axis=1)
        z = np.concatenate([f[:, :1] + 0.3 * rng.normal(size=(n, 1)), rng.normal(size=(n, 2))], 1)
        return z, f, 11
    if name == "free_latent":
        rng = np.random.default_rng(20240503)
        n = 500
        f = np.stack([rng.integers(0, s, size=n) for s in (4, 6)], axis=1)
        z = np.concatenate([f + 0.8 * rng.normal(size=(n, 2)), rng.normal(size=(n, 2))], 1)
        z[:, 2] += 0.3 * f[:, 1]
        return np.round(z, 2), f, 3  # rounded: tied distances, so the kNN jitter matters
    raise KeyError(name)


# ------------------------------------------------------ disentanglement_lib's conventions


def dlib_codes_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fixed ``(codes, factors, codes_test, factors_test)`` for the disentanglement_lib
    comparison of MIG, SAP, modularity, explicitness and DCI: 4 latents, 3 factors, 600
    training and 300 test points (every class present in both)."""
    rng = np.random.default_rng(20240504)
    sizes = (3, 4, 5)
    mix = rng.normal(size=(3, 4))

    def draw(n):
        f = np.stack([rng.integers(0, s, size=n) for s in sizes], axis=1)
        return f @ mix + 1.5 * rng.normal(size=(n, 4)), f

    c, f = draw(600)
    ct, ft = draw(300)
    return c, f, ct, ft


def dlib_sample_factors(sizes, n: int, rs: np.random.RandomState) -> np.ndarray:
    """disentanglement_lib's ``SplitDiscreteStateSpace.sample_latent_factors`` order."""
    return np.stack([rs.randint(s, size=n) for s in sizes], axis=1)


def dlib_beta_vae_batches(sizes, num_points: int, batch_size: int, rs):
    """The pairs disentanglement_lib's ``_generate_training_batch`` (BetaVAE) draws from
    ``rs`` for a dataset whose rendering consumes no randomness: ``(fixed, f1, f2)``."""
    fixed, f1s, f2s = [], [], []
    for _ in range(num_points):
        index = rs.randint(len(sizes))
        f1 = dlib_sample_factors(sizes, batch_size, rs)
        f2 = dlib_sample_factors(sizes, batch_size, rs)
        f2[:, index] = f1[:, index]
        fixed.append(index)
        f1s.append(f1)
        f2s.append(f2)
    return np.array(fixed), np.stack(f1s), np.stack(f2s)


def dlib_factor_vae_batches(sizes, num_points: int, batch_size: int, rs):
    """The batches of disentanglement_lib's FactorVAE ``_generate_training_batch``:
    ``(fixed, factors [P, B, K])`` with factor ``fixed[p]`` set to its value in row 0."""
    fixed, batches = [], []
    for _ in range(num_points):
        index = rs.randint(len(sizes))
        f = dlib_sample_factors(sizes, batch_size, rs)
        f[:, index] = f[0, index]
        fixed.append(index)
        batches.append(f)
    return np.array(fixed), np.stack(batches)


# Settings of the interventional comparison (small, so that the tests run in seconds).
DLIB_TOY_SIZES = (3, 4, 5)
DLIB_BETA_VAE = {"batch_size": 16, "num_train": 300, "num_eval": 150, "seed": 5}
DLIB_FACTOR_VAE = {
    "batch_size": 16,
    "num_train": 300,
    "num_eval": 150,
    "num_variance_estimate": 500,
    "seed": 6,
}
