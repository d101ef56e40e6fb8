"""scikit-learn's handwritten digits: a small real data set that needs no download.

The UCI optical recognition of handwritten digits test set (Alpaydin & Kaynak 1998) as
shipped inside scikit-learn (``sklearn.datasets.load_digits``): 1,797 greyscale images
of 8x8 pixels with counts 0-16 (32x32 bitmaps summed over 4x4 blocks), label 0-9 as the
one factor. Images are [1, 8, 8] float32 (count / 16); 8 px needs ``net=mlp``, or
``data.dataset.resolution=16`` / ``32`` / ``64`` (each pixel repeated) for ``net=conv``.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from infoprint.data.arrays import ArrayGroundTruth

MAX_COUNT = 16


class Digits(ArrayGroundTruth):
    """scikit-learn's 8x8 digits with their labels (ground-truth dataset contract)."""

    name = "digits"

    def __init__(self, resolution: int | None = None) -> None:
        bunch = load_digits()
        images = bunch.images.astype(np.uint8)
        labels = bunch.target.astype(np.int64)[:, None]
        super().__init__(
            self.name, images, labels, ("label",), (10,), scale=1 / MAX_COUNT, resolution=resolution
        )
