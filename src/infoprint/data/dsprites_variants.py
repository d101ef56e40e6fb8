"""Colour, noisy and scream dSprites: the variants of Locatello et al. (2019), generated
from DeepMind's dSprites file exactly as disentanglement_lib does
(``data/ground_truth/dsprites.py``: ``ColorDSprites``, ``NoisyDSprites``,
``ScreamDSprites``).

Each observation is a binary dSprites image (read by :class:`DSpritesFile`, so the
sprites are the ones disentanglement_lib's models were trained on), repeated over 3
channels and painted with fresh random draws:

- colour: the sprite times a colour drawn uniformly from [0.5, 1]^3;
- noisy: the sprite plus uniform [0, 1] noise drawn per pixel and channel, clipped at 1;
- scream: a random 64 px crop of The Scream (thumbnailed to fit 350x274 px), averaged
  with a colour drawn uniformly from [0, 1]^3; the sprite's pixels are inverted (1 - x).

Factors are dSprites' (shape 3, scale 6, orientation 40, posX 32, posY 32); the draws are
nuisance. Determinism: ``sample_observations_from_factors`` draws from the ``rng`` it is
given, as disentanglement_lib draws from its random state, so interventional metrics see
fresh draws. Reads by index (``images``, ``__getitem__``: training batches and the probe
set) draw from a generator seeded by the index alone, so index ``i`` is always the same
image in every process and run and the probe set's digest is reproducible; training thus
sees one fixed painting per dSprites image. Images are [3, 64, 64] float32 in [0, 1]
(``resolution`` 32 averages 2x2 blocks of the painted 64 px image).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from infoprint.data.arrays import check_resolution, resize_square
from infoprint.data.dsprites_file import DSpritesFile
from infoprint.data.files import DatasetFileError
from infoprint.data.sprites import FACTOR_NAMES, FACTOR_SIZES

SIDE = 64
SCREAM_KEY = "data.dataset.scream_path"
SCREAM_SOURCE = "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg"
SCREAM_THUMBNAIL = (350, 274)  # disentanglement_lib's bounding box (width, height)


class PaintedDSprites(ABC):
    """dSprites images painted per observation (ground-truth dataset contract)."""

    name: str
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def __init__(self, path: str | os.PathLike, resolution: int | None = None) -> None:
        self.sprites = DSpritesFile(path)
        if self.sprites.observation_shape != (1, SIDE, SIDE):
            raise DatasetFileError(
                path, f"dSprites images must be {SIDE}x{SIDE}, got {self.sprites.observation_shape}"
            )
        self._resolution = check_resolution((1, SIDE, SIDE), resolution)

    @abstractmethod
    def paint(self, sprite: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A binary sprite [1, 64, 64] painted into an image [3, 64, 64] with ``rng``'s draws."""

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        side = self._resolution or SIDE
        return (3, side, side)

    def __len__(self) -> int:
        return len(self.sprites)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray([index], dtype=np.int64)
        return self.images(rows)[0], self.factors(rows)[0]

    def _painted(self, sprites: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        images = np.stack([self.paint(s, rng) for s, rng in zip(sprites, rngs, strict=True)])
        images = images.astype(np.float32, copy=False)
        return resize_square(images, self._resolution) if self._resolution else images

    def images(self, indices: np.ndarray) -> np.ndarray:
        """Images [n, 3, H, W]; index ``i`` is painted with the draws of seed ``i``."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        rngs = [np.random.default_rng(int(i)) for i in indices]
        return self._painted(self.sprites.images(indices), rngs)

    def factors(self, indices: np.ndarray) -> np.ndarray:
        """dSprites' factor vectors [n, 5] for dataset indices."""
        return self.sprites.factors(indices)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.sprites.sample_factors(n, rng)

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Images [n, 3, H, W] for factor vectors [n, 5], painted with fresh draws of ``rng``."""
        sprites = self.sprites.sample_observations_from_factors(factors, rng)
        return self._painted(sprites, [rng] * len(sprites))


class ColorDSprites(PaintedDSprites):
    """dSprites in a random colour (Locatello et al. 2019)."""

    name = "color_dsprites"

    def paint(self, sprite: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return sprite * rng.uniform(0.5, 1.0, size=(3, 1, 1))


class NoisyDSprites(PaintedDSprites):
    """dSprites on a background of uniform noise (Locatello et al. 2019)."""

    name = "noisy_dsprites"

    def paint(self, sprite: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.minimum(sprite + rng.uniform(0.0, 1.0, size=(3, SIDE, SIDE)), 1.0)


def read_scream(path: str | os.PathLike | None) -> np.ndarray:
    """The Scream as float [3, H, W] in [0, 1], thumbnailed as disentanglement_lib does."""
    resolved = Path(path).expanduser().absolute() if path is not None else None
    if resolved is None or not resolved.is_file():
        raise FileNotFoundError(
            f"The Scream image not found at {str(resolved)!r} (config key {SCREAM_KEY}). "
            f"Nothing is downloaded at run time: obtain the painting disentanglement_lib uses "
            f"from {SCREAM_SOURCE}, then point the config at it, e.g. "
            f"`python train.py ... {SCREAM_KEY}=/path/to/The_Scream.jpg`"
        )
    try:
        with Image.open(resolved) as picture:
            picture = picture.convert("RGB")
            picture.thumbnail(SCREAM_THUMBNAIL)
            scream = np.asarray(picture, dtype=np.float64) / 255
    except (UnidentifiedImageError, OSError) as error:
        raise DatasetFileError(resolved, f"not a readable image ({error})") from error
    if min(scream.shape[:2]) <= SIDE:
        raise DatasetFileError(
            resolved,
            f"the image is {scream.shape[1]}x{scream.shape[0]} px after fitting it into "
            f"{SCREAM_THUMBNAIL[0]}x{SCREAM_THUMBNAIL[1]}; both sides must exceed {SIDE} px",
        )
    return scream.transpose(2, 0, 1)


class ScreamDSprites(PaintedDSprites):
    """dSprites inverted into random patches of Munch's The Scream (Locatello et al. 2019)."""

    name = "scream_dsprites"

    def __init__(
        self,
        path: str | os.PathLike,
        scream_path: str | os.PathLike | None,
        resolution: int | None = None,
    ) -> None:
        self.scream = read_scream(scream_path)
        super().__init__(path, resolution)

    def paint(self, sprite: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _, height, width = self.scream.shape
        top = rng.integers(0, height - SIDE)
        left = rng.integers(0, width - SIDE)
        patch = self.scream[:, top : top + SIDE, left : left + SIDE]
        background = (patch + rng.uniform(0.0, 1.0, size=(3, 1, 1))) / 2
        return np.where(sprite == 1, 1 - background, background)
