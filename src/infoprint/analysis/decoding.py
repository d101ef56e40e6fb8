"""Latent traversals: decode a base code while one channel sweeps a range of values.

Higgins et al. 2017; disentanglement_lib's ``latent_traversal``: the other channels stay
fixed, so a row of images shows what that channel does. The decoding lives here (torch);
:mod:`infoprint.plots.traversals` only lays the images out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

Decoder = Callable[[torch.Tensor], torch.Tensor]


def is_image_shape(shape: Sequence[int]) -> bool:
    """Whether an observation of ``shape`` is an image (1 or 3 colour channels first)."""
    return len(shape) == 3 and shape[0] in (1, 3)


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
