"""A user's own images: a folder of PNG / JPEG files or an ``.npz`` of arrays.

Folder: every ``*.png``, ``*.jpg`` and ``*.jpeg`` below ``path`` (sub-folders included,
case-insensitive suffixes), in sorted path order, read with pillow. All images must have
the same size; the first that differs is named in the error. ``channels`` (folders only)
1 converts to greyscale, 3 to RGB; ``None`` keeps greyscale when every image is greyscale
and otherwise gives RGB. A folder carries no factors.

npz (read with ``allow_pickle=False``): ``images`` [n, H, W], [n, H, W, C] or [n, C, H, W]
with C in {1, 3}, uint8 (0-255), bool, or float in [0, 1]; optional ``factors`` [n, K]
non-negative integer class indices (bin continuous factors before saving) and optional
``factor_names`` [K] as a string array (``np.array(names, dtype=str)``; object arrays
would need pickle and are refused). Factor sizes are one more than each factor's largest
value. With factors the dataset is a ground-truth dataset (factor NMI, probe factors);
without, factor-dependent outputs are skipped.

Images are float32 in [0, 1]; square images may be resized with ``resolution`` (see
:mod:`infoprint.data.arrays`). Conv nets need square sides that are multiples of 16.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from infoprint.data.arrays import ArrayGroundTruth, ArrayImages
from infoprint.data.files import PATH_KEY, DatasetFileError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _import_pillow():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("reading a folder of images needs pillow: pip install pillow") from error
    return Image


def read_folder(folder: Path, channels: int | None = None) -> np.ndarray:
    """Images below ``folder`` as uint8 [n, H, W] (greyscale) or [n, H, W, 3] (RGB)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetFileError(folder, f"no {'/'.join(IMAGE_SUFFIXES)} images in this folder")
    image_module = _import_pillow()
    arrays: list[np.ndarray] = []
    for file in files:
        try:
            with image_module.open(file) as image:
                grey = channels == 1 or (channels is None and image.mode in _GREY_MODES)
                array = np.asarray(image.convert("L" if grey else "RGB"))
        except (OSError, image_module.UnidentifiedImageError) as error:
            raise DatasetFileError(file, f"not a readable image ({error})") from error
        if arrays and array.shape[:2] != arrays[0].shape[:2]:
            height, width = array.shape[:2]
            raise DatasetFileError(
                file,
                f"image size {width}x{height} differs from {files[0].name}'s "
                f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; all images must have one size",
            )
        arrays.append(array)
    if any(a.ndim == 3 for a in arrays):  # some colour: give every image three channels
        arrays = [a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2) for a in arrays]
    return np.stack(arrays)


def _channels_last(images: np.ndarray, path: Path) -> np.ndarray:
    if images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (1, 3)):
        return images
    if images.ndim == 4 and images.shape[1] in (1, 3):
        return np.moveaxis(images, 1, 3)
    raise DatasetFileError(
        path,
        f"'images' must be [n, H, W], [n, H, W, C] or [n, C, H, W] with C in (1, 3), "
        f"got shape {list(images.shape)}",
    )


def _pixel_scale(images: np.ndarray, path: Path) -> float:
    if images.dtype == np.uint8:
        return 1 / 255
    if images.dtype == np.bool_:
        return 1.0
    if images.dtype.kind == "f" and images.size and 0 <= images.min() <= images.max() <= 1:
        return 1.0
    raise DatasetFileError(
        path, f"'images' must be uint8 (0-255), bool or float in [0, 1], got {images.dtype}"
    )


def _npz_member(archive: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as error:  # object arrays: numpy refuses to unpickle them
        raise DatasetFileError(path, f"{key!r} cannot be read without pickle ({error})") from error


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """Images (channels last), factors [n, K] or None, and factor names from an npz."""
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        if "images" not in keys:
            raise DatasetFileError(
                path,
                f"missing key 'images' (found {sorted(keys)}); expected images and "
                f"optionally factors [n, K] and factor_names [K]",
            )
        images = _channels_last(_npz_member(archive, "images", path), path)
        factors = _npz_member(archive, "factors", path) if "factors" in keys else None
        names = _npz_member(archive, "factor_names", path) if "factor_names" in keys else None
    if factors is None:
        if names is not None:
            raise DatasetFileError(path, "'factor_names' given without 'factors'")
        return images, None, ()
    if factors.ndim != 2 or len(factors) != len(images) or factors.dtype.kind not in "iu":
        raise DatasetFileError(
            path,
            f"'factors' must be integer class indices [{len(images)}, K], got "
            f"{factors.dtype} {list(factors.shape)} (bin continuous factors before saving)",
        )
    if len(factors) and factors.min() < 0:
        raise DatasetFileError(path, "'factors' must be non-negative class indices")
    if names is None:
        return images, factors, tuple(f"factor{k}" for k in range(factors.shape[1]))
    if names.shape != (factors.shape[1],) or names.dtype.kind not in "US":
        raise DatasetFileError(
            path,
            f"'factor_names' must be {factors.shape[1]} strings, got {names.dtype} "
            f"{list(names.shape)}",
        )
    return images, factors, tuple(str(n) for n in names)


def load_images(
    path: str | os.PathLike,
    name: str = "images",
    channels: int | None = None,
    resolution: int | None = None,
) -> ArrayImages:
    """A dataset from a folder of images or an ``.npz`` file (``data.dataset.path``)."""
    if channels not in (None, 1, 3):
        raise ValueError(f"data.dataset.channels must be null, 1 or 3, got {channels!r}")
    source = Path(path).expanduser()
    if source.is_dir():
        images = read_folder(source, channels)
        return ArrayImages(name, images, scale=1 / 255, resolution=resolution)
    if not (source.is_file() and source.suffix == ".npz"):
        raise FileNotFoundError(
            f"no image folder or .npz file at {str(source)!r} (config key {PATH_KEY}); "
            f"point it at a folder of PNG/JPEG images or an .npz with an 'images' array"
        )
    if channels is not None:
        raise ValueError(
            "data.dataset.channels applies to image folders; an npz's images keep their own"
        )
    images, factors, names = read_npz(source)
    scale = _pixel_scale(images, source)
    if factors is None:
        return ArrayImages(name, images, scale=scale, resolution=resolution)
    return ArrayGroundTruth(name, images, factors, names, scale=scale, resolution=resolution)
