"""A tiny ground-truth dataset and representation functions with known metric values.

The dataset follows ``infoprint.data.base.GroundTruthDataset``: each "image" is the
factor vector rendered as one row of pixels, ``x[0, 0, k] = a_k / (size_k - 1)`` in
[0, 1], optionally plus pixel noise.
"""

from __future__ import annotations

import numpy as np


class ToyFactors:
    """Independent uniform factors rendered as a [1, 1, K] "image"."""

    name = "toy"

    def __init__(self, factor_sizes=(3, 4, 5), pixel_noise: float = 0.0):
        self._sizes = tuple(int(s) for s in factor_sizes)
        self.pixel_noise = pixel_noise

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f"f{k}" for k in range(len(self._sizes)))

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        return (1, 1, len(self._sizes))

    def __len__(self) -> int:
        return int(np.prod(self._sizes))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        f = np.stack(np.unravel_index(index, self._sizes)).astype(np.int64)
        return self.sample_observations_from_factors(f[None], np.random.default_rng(0))[0], f

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, s, size=n) for s in self._sizes], axis=1).astype(np.int64)

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        denom = np.maximum(np.asarray(self._sizes) - 1, 1)
        x = np.asarray(factors, dtype=np.float64) / denom
        if self.pixel_noise:
            x = x + self.pixel_noise * rng.standard_normal(x.shape)
        return x.astype(np.float32)[:, None, None, :]


def ground_truth_repr(
    scale: float = 2.0,
    noise: float = 0.01,
    extra_dims: int = 0,
    permutation=None,
    seed: int = 0,
):
    """Codes = the factors themselves (scaled, small noise), then ``extra_dims`` N(0,1) dims."""
    rng = np.random.default_rng(seed)

    def represent(images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, dtype=np.float64).reshape(images.shape[0], -1)
        z = scale * x + noise * rng.standard_normal(x.shape)
        if extra_dims:
            z = np.concatenate([z, rng.standard_normal((x.shape[0], extra_dims))], axis=1)
        return z if permutation is None else z[:, permutation]

    return represent


def random_repr(d: int = 5, seed: int = 0):
    """Codes that ignore the image: N(0, 1) noise in ``d`` dims."""
    rng = np.random.default_rng(seed)

    def represent(images: np.ndarray) -> np.ndarray:
        return rng.standard_normal((images.shape[0], d))

    return represent


def rotation(d: int, i: int = 0, j: int = 1, angle: float = np.pi / 4) -> np.ndarray:
    """A ``d x d`` rotation by ``angle`` in the plane of coordinates ``i`` and ``j``."""
    r = np.eye(d)
    c, s = np.cos(angle), np.sin(angle)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def uniform_codes_factors(
    n: int, factor_sizes=(8, 8, 8), noise: float = 0.01, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Factors drawn uniformly and codes equal to the factors in [0, 1] plus small noise."""
    rng = np.random.default_rng(seed)
    f = np.stack([rng.integers(0, s, size=n) for s in factor_sizes], axis=1)
    z = f / (np.asarray(factor_sizes) - 1) + noise * rng.standard_normal(f.shape)
    return z, f


def deterministic_repr(d: int = 4, wobble: float = 0.3, seed: int = 0):
    """Codes that are a fixed function of the image: ``x W + wobble * sin(50 x V)``.

    No random state is consumed, so the same images give the same codes however they are
    batched -- what a comparison with another library on the same factor batches needs.
    """
    rng = np.random.default_rng(seed)
    w = None
    v = None

    def represent(images: np.ndarray) -> np.ndarray:
        nonlocal w, v
        x = np.asarray(images, dtype=np.float64).reshape(images.shape[0], -1)
        if w is None:
            w = rng.normal(size=(x.shape[1], d))
            v = rng.normal(size=(x.shape[1], d))
        return x @ w + wobble * np.sin(50.0 * (x @ v))

    return represent
