"""Pillow's Lanczos resize of stored images, as disentanglement_lib prepares its datasets.

disentanglement_lib (Locatello et al. 2019) shrinks Cars3D's 128 px views and SmallNORB's
96 px images to 64 px once, at load time, with Pillow's ``ANTIALIAS`` filter (the name
Pillow later gave ``Image.Resampling.LANCZOS``). Pixels stay uint8 (rounded and clipped by
Pillow), so a loaded dataset keeps one byte per pixel.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def lanczos(images: np.ndarray, side: int) -> np.ndarray:
    """uint8 images [n, H, W] or [n, H, W, 3] resized to [n, side, side(, 3)]."""
    resized = np.empty((len(images), side, side, *images.shape[3:]), dtype=np.uint8)
    for k, image in enumerate(images):
        picture = Image.fromarray(np.ascontiguousarray(image))
        resized[k] = np.asarray(picture.resize((side, side), Image.Resampling.LANCZOS))
    return resized
