"""A slow, independent implementation of the MIG family with plain Python loops.

Written from the definitions (Chen et al. 2018; disentanglement_lib's 20-bin
discretisation; latte-metrics' MIG/DMIG/DLIG/XMIG with its ``_top2gap`` rule), sharing no
code with ``infoprint.metrics``. Everything is in nats.
"""

from __future__ import annotations

import math
from collections import Counter


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
