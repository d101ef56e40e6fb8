"""The SO(2) ring: points on the unit circle, the angle as the factor.

Murphy, Dillavou & Bassett (TMLR 2025, Sec. 4.4) fuse an ensemble of weak learners
trained on this ring: β-VAEs with one latent, an MLP of 2 x 256 tanh units, a Gaussian
(mean-squared error) likelihood and β = 0.03, fingerprinted on 200 evenly spaced angles.

Point i of ``num_points`` sits at angle θ_i = 2π i / num_points and is (cos θ_i, sin θ_i),
plus isotropic Gaussian noise of standard deviation ``noise`` (drawn once with ``seed``;
0 by default, as in the paper). Uniform training draws over the 72,000 default points
are uniform angles at a 0.005° spacing. The factor ``angle`` is θ binned into
``angle_bins`` equal arcs: bin = ⌊θ / (2π / angle_bins)⌋ (default 20 bins of 18°).

The probe set is ``size`` evenly spaced angles starting at 0 (the paper's probe set for
size 200): indices ⌊k · num_points / size⌋, exactly evenly spaced whenever ``size``
divides ``num_points`` (72,000 is divisible by 64, 100, 200, 300, 500 and 1000).
"""

from __future__ import annotations

import numpy as np

from infoprint.data.arrays import ArrayGroundTruth


class Ring(ArrayGroundTruth):
    """2-D points on the unit circle (observation shape (2,)); factor: angle bin."""

    name = "ring"

    def __init__(
        self, num_points: int = 72_000, angle_bins: int = 20, noise: float = 0.0, seed: int = 0
    ) -> None:
        if num_points < 2:
            raise ValueError(f"data.dataset.num_points must be >= 2, got {num_points}")
        if not 1 <= angle_bins <= num_points:
            raise ValueError(
                f"data.dataset.angle_bins must lie in [1, num_points], got {angle_bins}"
            )
        if noise < 0:
            raise ValueError(f"data.dataset.noise must be >= 0, got {noise}")
        index = np.arange(num_points)
        angles = 2 * np.pi * index / num_points
        points = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        if noise:
            points += noise * np.random.default_rng(seed).standard_normal(points.shape)
        bins = (index * angle_bins // num_points)[:, None]
        super().__init__(self.name, points.astype(np.float32), bins, ("angle",), (angle_bins,))

    def probe_indices(self, size: int, seed: int) -> np.ndarray:
        """``size`` evenly spaced angles from 0 (``seed`` is unused: the ring is ordered)."""
        return np.arange(size, dtype=np.int64) * len(self) // size
