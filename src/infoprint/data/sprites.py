"""Procedural dSprites: the dSprites factor grid rendered on the fly.

dSprites (Matthey et al. 2017) has 737,280 binary 64x64 images over five factors:
shape (square, ellipse, heart), scale (6 values in [0.5, 1]), orientation (40 values in
[0, 2π], both endpoints included, so the first and last orientations coincide), and
posX / posY (32 values in [0, 1]). This module renders any factor vector directly from
those values, so no multi-GB image array is held in memory and 32 px images come at no
extra cost. Shapes are defined by implicit functions on a rotated, scaled sprite frame
and rasterised by pixel-centre sampling.

``position_margins`` sets the band [m, 1 - m] of the image side that the sprite centre
moves over along x and along y (default 0.18 for both). Unequal margins break the
symmetry between posX and posY: with equal ranges the two factors change the images
equally, so a VAE's (posX, posY) latent plane has no preferred rotation and a run can
settle with two mixed channels (Rolinek et al. 2019); a wider range for one factor
makes the axis-aligned solution the preferred one.

Training batches are i.i.d. uniform factor draws, as disentanglement_lib samples its
ground-truth data (Locatello et al. 2019).
"""

from __future__ import annotations

import numpy as np

from infoprint.data.base import flat_index, grid_factors, uniform_factors

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)

# Sprite half-extent at scale 1, as a fraction of the image side; the sprite centre moves
# over [MARGIN, 1 - MARGIN] so that sprites stay (almost) inside the frame, as in dSprites.
_HALF_EXTENT = 0.16
_MARGIN = 0.18


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u * u + 4.0 * v * v <= 1.0


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Classic heart curve (x² + y² − 1)³ − x² y³ ≤ 0, scaled into the unit box."""
    hx, hy = u * 1.15, v * -1.15 + 0.1
    hx2 = hx * hx
    return (hx2 + hy * hy - 1.0) ** 3 - hx2 * hy**3 <= 0.0


_SHAPE_MASKS = (_square, _ellipse, _heart)


def render_sprites(
    factors: np.ndarray,
    resolution: int = 64,
    position_margins: tuple[float, float] = (_MARGIN, _MARGIN),
) -> np.ndarray:
    """Render factor vectors [n, 5] (class indices) as binary images [n, 1, R, R] float32.

    The sprite centre moves over [mx, 1 - mx] along x and [my, 1 - my] along y, where
    ``position_margins = (mx, my)``.
    """
    factors = np.asarray(factors, dtype=np.int64)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_SIZES):
        raise ValueError(f"sprite factors must have shape [n, 5], got {factors.shape}")
    if (factors < 0).any() or (factors >= np.asarray(FACTOR_SIZES)).any():
        raise ValueError(f"sprite factor indices out of range for sizes {FACTOR_SIZES}")
    mx, my = (float(m) for m in position_margins)
    grid = ((np.arange(resolution) + 0.5) / resolution).astype(np.float32)
    images = np.zeros((len(factors), 1, resolution, resolution), dtype=np.float32)
    for shape_id, inside in enumerate(_SHAPE_MASKS):
        rows = np.flatnonzero(factors[:, 0] == shape_id)
        if rows.size == 0:
            continue
        f = factors[rows]
        scale = (SCALES[f[:, 1]] * _HALF_EXTENT).astype(np.float32)[:, None, None]
        angle = ORIENTATIONS[f[:, 2]]
        cos = (np.cos(angle)[:, None, None] / scale).astype(np.float32)
        sin = (np.sin(angle)[:, None, None] / scale).astype(np.float32)
        cx = (mx + (1 - 2 * mx) * POSITIONS[f[:, 3]]).astype(np.float32)
        cy = (my + (1 - 2 * my) * POSITIONS[f[:, 4]]).astype(np.float32)
        dx = (grid[None, :] - cx[:, None])[:, None, :]  # [b, 1, R] along x (columns)
        dy = (grid[None, :] - cy[:, None])[:, :, None]  # [b, R, 1] along y (rows)
        u = cos * dx + sin * dy
        v = cos * dy - sin * dx
        images[rows, 0] = inside(u, v)
    return images


class ProceduralSprites:
    """dSprites' full factor grid, rendered on demand (ground-truth dataset contract).

    Index ``i`` is the row-major grid index, the same ordering as the dSprites npz file.
    """

    name = "sprites"
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def __init__(
        self,
        resolution: int = 64,
        position_margins: tuple[float, float] = (_MARGIN, _MARGIN),
    ) -> None:
        if resolution not in (32, 64):
            raise ValueError(f"data.resolution must be 32 or 64 for sprites, got {resolution}")
        margins = tuple(float(m) for m in position_margins)
        if len(margins) != 2 or not all(0.0 <= m < 0.5 for m in margins):
            raise ValueError(
                f"sprites' position_margins must be two values in [0, 0.5), got {margins}"
            )
        self.resolution = resolution
        self.position_margins = margins

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (1, self.resolution, self.resolution)

    def __len__(self) -> int:
        return int(np.prod(FACTOR_SIZES))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"sprite index {index} out of range [0, {len(self)})")
        factors = grid_factors(np.asarray([index]), FACTOR_SIZES)
        return self._render(factors)[0], factors[0]

    def images(self, indices: np.ndarray) -> np.ndarray:
        """Images [n, 1, R, R] for grid indices (vectorised ``__getitem__``)."""
        return self._render(grid_factors(np.asarray(indices), FACTOR_SIZES))

    def factors(self, indices: np.ndarray) -> np.ndarray:
        return grid_factors(np.asarray(indices), FACTOR_SIZES)

    def index_of(self, factors: np.ndarray) -> np.ndarray:
        return flat_index(factors, FACTOR_SIZES)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return uniform_factors(FACTOR_SIZES, n, rng)

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        return self._render(factors)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        return render_sprites(factors, self.resolution, self.position_margins)
