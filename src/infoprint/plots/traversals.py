"""Latent traversals and reconstructions laid out as one image grid (numpy only).

The images come from :func:`infoprint.analysis.decoding.traversals`.
"""

from __future__ import annotations

import numpy as np


def tile(images: np.ndarray, pad: int = 1) -> np.ndarray:
    """Tile images [R, K, C, H, W] in [0, 1] into one [R·(H+pad)+pad, K·(W+pad)+pad, C] array."""
    rows, cols, channels, h, w = images.shape
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, channels), np.float32)
    for r in range(rows):
        for c in range(cols):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            canvas[y : y + h, x : x + w] = np.moveaxis(images[r, c], 0, -1)
    return canvas.clip(0.0, 1.0)
