"""The nine synthetic representation spaces of the paper's similarity comparison.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Fig. 2 and the authors'
``Similarity_comparison_synthetic.ipynb``: N = 64 points x = 0..63 embedded by diagonal
Gaussian posteriors in one or two dimensions. With ``s(x) = sqrt(x)`` and spiral
frequency f = 0.2 the spaces are

i.    spiral ``μ = s (cos 2π f s, sin 2π f s)``, log-variance 0.1 (constant);
ii.   the same spiral, log-variance 2.1 (inflated);
iii.  the same spiral, log-variance ``0.1 + s − 4.5`` (growing along the spiral);
iv.   a square spiral (steps of 0.5 growing by 0.1 per turn of a side), log-variance 0;
v.    the square spiral, log-variance 2.5;
vi.   a 1-D line ``μ = linspace(−32, 32, 64)``, log-variance −1;
vii.  two clusters of 32 points at ``(∓6.4, 0)``, log-variance 1;
viii. four clusters of 16 at ``(±5.6, ±5.6)`` (corners visited clockwise from top left),
      log-variance 1;
ix.   four clusters at the same corners visited anticlockwise from top left, log-variances
      (1, 4): the clusters overlap vertically.

The notebook's jitter of the cluster means is 0, so every space is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SYNTHETIC_NAMES", "SyntheticSpace", "synthetic_spaces"]

N_POINTS = 64
_SQRT_N = 8
_SPIRAL_FREQ = 0.2

SYNTHETIC_NAMES = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix")
"""Roman numerals of the nine spaces, in the paper's order."""


@dataclass(frozen=True)
class SyntheticSpace:
    """One synthetic space: ``mu`` and ``logvar`` of shape ``[64, d]`` (d = 1 or 2)."""

    name: str
    description: str
    mu: np.ndarray
    logvar: np.ndarray


def _spiral() -> np.ndarray:
    s = np.sqrt(np.arange(N_POINTS, dtype=np.float64))[:, None]
    angle = 2 * np.pi * s * _SPIRAL_FREQ
    return s * np.concatenate([np.cos(angle), np.sin(angle)], axis=1)


def _square_spiral() -> np.ndarray:
    """Walk up, right, down, left; sides lengthen every second turn, steps grow each turn."""
    moves = np.array([[0, 1], [1, 0], [0, -1], [-1, 0]], dtype=np.float64)
    position = np.zeros(2)
    points = [position.copy()]
    step, move, taken, side = 0.5, 0, 0, 1
    for _ in range(N_POINTS - 1):
        position += step * moves[move]
        taken += 1
        if taken == side:
            taken = 0
            move = (move + 1) % 4
            step += 0.1
            if move % 2 == 0:
                side += 1
        points.append(position.copy())
    return np.array(points)


def _clusters(corners: list[tuple[float, float]]) -> np.ndarray:
    per = N_POINTS // len(corners)
    return np.repeat(np.array(corners, dtype=np.float64), per, axis=0)


def synthetic_spaces() -> list[SyntheticSpace]:
    """The nine spaces i..ix of Fig. 2 (Murphy et al., TMLR 2025), as in the notebook."""
    spiral, square = _spiral(), _square_spiral()
    line = np.linspace(-N_POINTS / 2, N_POINTS / 2, N_POINTS)[:, None]
    c2, c4 = _SQRT_N * 0.8, _SQRT_N * 0.7
    two = _clusters([(-c2, 0.0), (c2, 0.0)])
    four_cw = _clusters([(-c4, c4), (c4, c4), (c4, -c4), (-c4, -c4)])
    four_ccw = _clusters([(-c4, c4), (-c4, -c4), (c4, -c4), (c4, c4)])
    growing = 0.1 + np.sqrt(np.arange(N_POINTS, dtype=np.float64))[:, None] - 4.5
    full = np.ones((N_POINTS, 2))
    specs = [
        ("spiral, constant variance", spiral, 0.1 * full),
        ("spiral, inflated variance", spiral, 2.1 * full),
        ("spiral, growing variance", spiral, growing * full),
        ("square spiral", square, 0.0 * full),
        ("square spiral, inflated variance", square, 2.5 * full),
        ("1-D line", line, -np.ones((N_POINTS, 1))),
        ("two clusters", two, full),
        ("four clusters", four_cw, full),
        ("four overlapping clusters", four_ccw, full * np.array([1.0, 4.0])),
    ]
    return [
        SyntheticSpace(name, desc, mu.copy(), logvar.copy())
        for name, (desc, mu, logvar) in zip(SYNTHETIC_NAMES, specs, strict=True)
    ]
