"""Latent traversals and reconstructions as image grids.

A traversal decodes a base code while one channel sweeps a range of values and the others
stay fixed (Higgins et al. 2017; disentanglement_lib's ``latent_traversal``), so a row
shows what that channel does to the image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

Decoder = Callable[[torch.Tensor], torch.Tensor]


@torch.no_grad()
def traversals(
    decode: Decoder, base: torch.Tensor, channels: Sequence[int], values: torch.Tensor
) -> np.ndarray:
    """Images [channels, values, C, H, W]: ``base`` [d] with channel k set to each value."""
    rows = []
    for k in channels:
        codes = base.expand(len(values), -1).clone()
        codes[:, k] = values
        rows.append(decode(codes).cpu().numpy())
    return np.stack(rows)


def tile(images: np.ndarray, pad: int = 1) -> np.ndarray:
    """Tile images [R, K, C, H, W] in [0, 1] into one [R·(H+pad)+pad, K·(W+pad)+pad, C] array."""
    rows, cols, channels, h, w = images.shape
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, channels), np.float32)
    for r in range(rows):
        for c in range(cols):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            canvas[y : y + h, x : x + w] = np.moveaxis(images[r, c], 0, -1)
    return canvas.clip(0.0, 1.0)


def is_image_shape(shape: Sequence[int]) -> bool:
    return len(shape) == 3 and shape[0] in (1, 3)
