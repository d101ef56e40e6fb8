"""MNIST and Fashion-MNIST from their IDX files; the label is the one factor.

IDX format (LeCun et al., https://yann.lecun.com/exdb/mnist/): a 4-byte magic number (two
zero bytes, a type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64, then the number of dimensions), one big-endian uint32 per dimension, then
the values in C order, big-endian. Image files have magic 0x00000803 ([n, 28, 28] uint8),
label files 0x00000801 ([n] uint8). A file may be gzip-compressed; gzip's own magic bytes
tell, whatever the file is called.

MNIST (LeCun, Bottou, Bengio & Haffner 1998) and Fashion-MNIST (Xiao, Rasul & Vollgraf
2017, https://github.com/zalandoresearch/fashion-mnist) use the same file names:
``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (60,000 examples) and
``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte`` (10,000), each raw or ``.gz``,
in the folder ``data.dataset.path``. Images are [1, 28, 28] float32 (pixel / 255); 28 px
needs ``net=mlp``, or ``data.dataset.resolution=32`` (2 px zero border) for ``net=conv``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from infoprint.data.arrays import ArrayGroundTruth
from infoprint.data.files import (
    DatasetFileError,
    array_from_bytes,
    find_raw_or_gz,
    read_maybe_gzip,
)

_EXAMPLE = "/path/to/folder-with-the-idx-files"

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
NUM_CLASSES = 10


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (raw or gzip), in native byte order."""
    path = Path(path)
    raw = read_maybe_gzip(path)
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in IDX_TYPES:
        raise DatasetFileError(
            path,
            f"not an IDX file: magic number 0x{raw[:4].hex()}, expected 0x0000 followed by a "
            f"type code and the number of dimensions (0x00000803 for images, 0x00000801 "
            f"for labels)",
        )
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DatasetFileError(path, f"truncated IDX header ({ndim} dimensions announced)")
    dims = struct.unpack(f">{ndim}I", raw[4:start])
    return array_from_bytes(raw, path, dims, np.dtype(IDX_TYPES[raw[2]]), start, "IDX")


class IDXDataset(ArrayGroundTruth):
    """Labelled images from a pair of IDX files in the folder ``data.dataset.path``.

    Subclasses set ``name`` and ``source`` (where the files come from).
    """

    name: str
    source: str

    def __init__(
        self, path: str | os.PathLike, split: str = "train", resolution: int | None = None
    ) -> None:
        if split not in SPLIT_PREFIXES:
            raise ValueError(
                f"data.dataset.split must be one of {list(SPLIT_PREFIXES)}, got {split!r}"
            )
        directory = Path(path).expanduser().absolute()
        prefix = SPLIT_PREFIXES[split]
        images_path = find_raw_or_gz(
            directory, f"{prefix}-images-idx3-ubyte", self.source, _EXAMPLE
        )
        labels_path = find_raw_or_gz(
            directory, f"{prefix}-labels-idx1-ubyte", self.source, _EXAMPLE
        )
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DatasetFileError(
                images_path,
                f"expected uint8 images [n, H, W] (magic 0x00000803), got {images.dtype} "
                f"{list(images.shape)}",
            )
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DatasetFileError(
                labels_path,
                f"expected integer labels [n] (magic 0x00000801), got {labels.dtype} "
                f"{list(labels.shape)}",
            )
        if len(labels) != len(images):
            raise DatasetFileError(
                labels_path, f"{len(labels)} labels for the {len(images)} images of {images_path}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise DatasetFileError(labels_path, f"labels must lie in [0, {NUM_CLASSES})")
        super().__init__(
            self.name,
            images,
            labels.astype(np.int64)[:, None],
            ("label",),
            (NUM_CLASSES,),
            scale=1 / 255,
            resolution=resolution,
        )


class MNIST(IDXDataset):
    """MNIST handwritten digits (LeCun et al. 1998): 28 px greyscale, label 0-9."""

    name = "mnist"
    source = "https://yann.lecun.com/exdb/mnist/ or a mirror of its IDX files"


class FashionMNIST(IDXDataset):
    """Fashion-MNIST (Xiao et al. 2017): 28 px greyscale Zalando articles, 10 classes."""

    name = "fashion_mnist"
    source = "https://github.com/zalandoresearch/fashion-mnist"
