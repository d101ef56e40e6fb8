"""The pinwheel of Mathieu, Rainforth, Siddharth & Teh (ICML 2019), factors arm and radius.

Mathieu et al. ("Disentangling Disentanglement in Variational Autoencoders") generate it
with Adams' ``pinwheel.m`` (2008; also Johnson et al. 2016): each point draws a class
(arm) c and a standard-normal pair (ε_r, ε_t), sets r = 1 + radial_std · ε_r and
t = tangential_std · ε_t, turns by φ = 2π c / num_classes + rate · exp(r) and lands at
(r cos φ + t sin φ, t cos φ − r sin φ). Here ``radial_std`` and ``tangential_std`` are
the spreads along and across the arm, as their names say. Adams' script swaps them: its
``radial_std`` argument scales the tangential coordinate and ``tangential_std`` the
radial one, so Mathieu et al.'s call ``pinwheel(0.1, 0.3, 4, 100, 0.25)`` has a radial
spread of 0.3 and a tangential spread of 0.1, the defaults below (they used 100 points
per arm for training; the default here is 1,000 so that 1,000-point probe sets fit).
Points are not rescaled (Johnson et al.'s Python version multiplies by 10).

Factors: ``arm`` (num_classes values) and ``radius``, the continuous radial variable r
binned into ``radius_bins`` bins of equal probability: bin = ⌊radius_bins · Φ(ε_r)⌋
with Φ the standard normal CDF (default 5 bins: quintiles of r). Observations are 2-D
vectors (shape (2,)): use ``net=mlp`` and a Gaussian likelihood.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from infoprint.data.arrays import ArrayGroundTruth


class Pinwheel(ArrayGroundTruth):
    """Pinwheel points (observation shape (2,)); factors: arm, radius bin."""

    name = "pinwheel"

    def __init__(
        self,
        num_classes: int = 4,
        num_per_class: int = 1000,
        radial_std: float = 0.3,
        tangential_std: float = 0.1,
        rate: float = 0.25,
        radius_bins: int = 5,
        seed: int = 0,
    ) -> None:
        for key, value in (
            ("num_classes", num_classes),
            ("num_per_class", num_per_class),
            ("radius_bins", radius_bins),
        ):
            if value < 1:
                raise ValueError(f"data.dataset.{key} must be >= 1, got {value}")
        if radial_std < 0 or tangential_std < 0:
            raise ValueError("data.dataset.radial_std and tangential_std must be >= 0")
        arm = np.repeat(np.arange(num_classes), num_per_class)
        noise = np.random.default_rng(seed).standard_normal((len(arm), 2))
        radial = 1.0 + radial_std * noise[:, 0]
        tangential = tangential_std * noise[:, 1]
        phi = 2 * np.pi * arm / num_classes + rate * np.exp(radial)
        cos, sin = np.cos(phi), np.sin(phi)
        points = np.stack([radial * cos + tangential * sin, tangential * cos - radial * sin], 1)
        radius = np.minimum((radius_bins * ndtr(noise[:, 0])).astype(np.int64), radius_bins - 1)
        super().__init__(
            self.name,
            points.astype(np.float32),
            np.stack([arm, radius], axis=1),
            ("arm", "radius"),
            (num_classes, radius_bins),
        )
