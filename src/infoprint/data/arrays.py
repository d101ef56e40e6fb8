"""Datasets held as arrays: the dataset contract (``docs/architecture.md`` §8) implemented once.

Every loader whose data is a stack of stored observations builds on these two classes:
dSprites' npz, MNIST / Fashion-MNIST IDX files, scikit-learn's digits, 3dshapes' h5 file,
the synthetic pinwheel and ring, and a user's own images.

Storage. Observations stay as the loader read them: images [n, H, W] (one channel) or
[n, H, W, C] (channels last, as PNG files and 3dshapes store them), vectors [n, D]. The
store is a numpy array (a memmap included) or any object with ``shape`` and
``__getitem__`` over an increasing array of distinct row indices (an h5py dataset,
dSprites' bit-packed images); a gather reads each distinct row once, in increasing order.
``scale`` maps stored values to [0, 1] images (1/255 for 8-bit pixels, 1 for dSprites'
0/1 pixels); vector data keeps its real values (scale 1).

Resolution. ``resolution`` (square images only) resizes on the fly, so one conv net fits
28 px and 8 px data too: a side that is a multiple of the target is block-averaged
(64 -> 32), a smaller side is repeated by the largest integer factor that fits and then
zero-padded evenly on both sides (28 -> 32 pads 2 px a side, 8 -> 32 repeats each pixel
4 times). ``None`` keeps the stored size.

Factors. Factor vectors are int64 class indices [n, K]. ``sample_observations_from_factors``
returns, for each factor vector, a stored example with those values (one chosen at random
when several share them, e.g. MNIST's labels). When every cell of the factor grid is
present (dSprites, 3dshapes, any labels-only set with all labels), ``sample_factors`` draws
factors uniformly and independently as disentanglement_lib does (Locatello et al. 2019);
otherwise it draws the factors of uniformly chosen stored examples, so that every draw
exists in the data.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from infoprint.data.base import flat_index, uniform_factors


class RowStore(Protocol):
    """Stored observations [n, ...] readable by increasing arrays of row indices."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __getitem__(self, rows: np.ndarray) -> np.ndarray: ...


def check_resolution(stored_shape: tuple[int, ...], resolution: int | None) -> int | None:
    """Validate ``data.dataset.resolution`` for stored images [n, H, W(, C)]."""
    if resolution is None:
        return None
    height, width = stored_shape[1:3]
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"data.dataset.resolution must be a positive integer, got {resolution!r}")
    if height != width:
        raise ValueError(
            f"data.dataset.resolution needs square images, got {height}x{width}; "
            f"leave it null and use net=mlp"
        )
    if resolution < height and height % resolution:
        raise ValueError(
            f"data.dataset.resolution={resolution} must divide the image side {height} "
            f"to shrink it (block average), or be larger than it"
        )
    return resolution


def resize_square(images: np.ndarray, resolution: int) -> np.ndarray:
    """Resize images [n, C, S, S] to [n, C, R, R] as described in the module docstring."""
    n, channels, side = images.shape[0], images.shape[1], images.shape[-1]
    if resolution == side:
        return images
    if resolution < side:
        k = side // resolution
        blocks = images.reshape(n, channels, resolution, k, resolution, k)
        return blocks.mean(axis=(3, 5), dtype=np.float32)
    k = resolution // side
    if k > 1:
        images = images.repeat(k, axis=2).repeat(k, axis=3)
    pad = resolution - k * side
    before, after = pad // 2, pad - pad // 2
    return np.pad(images, ((0, 0), (0, 0), (before, after), (before, after)))


class ArrayImages:
    """Stored observations without factors (:class:`~infoprint.data.base.ImageDataset`)."""

    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()

    def __init__(
        self, name: str, store: RowStore, *, scale: float = 1.0, resolution: int | None = None
    ) -> None:
        shape = tuple(int(s) for s in store.shape)
        if len(shape) not in (2, 3, 4) or shape[0] < 1:
            raise ValueError(
                f"dataset {name!r}: stored observations must be [n, D], [n, H, W] or "
                f"[n, H, W, C] with n >= 1, got shape {shape}"
            )
        if len(shape) == 2 and resolution is not None:
            raise ValueError(
                f"data.dataset.resolution applies to images; dataset {name!r} holds vectors"
            )
        self.name = name
        self._store = store
        self._scale = float(scale)
        self._stored_shape = shape
        self._resolution = check_resolution(shape, resolution) if len(shape) > 2 else None

    @property
    def observation_shape(self) -> tuple[int, ...]:
        """(C, H, W) for images (after ``resolution``), (D,) for vectors."""
        shape = self._stored_shape
        if len(shape) == 2:
            return (shape[1],)
        channels = 1 if len(shape) == 3 else shape[3]
        side = self._resolution
        return (channels, side, side) if side else (channels, shape[1], shape[2])

    def __len__(self) -> int:
        return self._stored_shape[0]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray([index], dtype=np.int64)
        return self.images(rows)[0], self.factors(rows)[0]

    def _rows(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            bad = indices[(indices < 0) | (indices >= len(self))][0]
            raise IndexError(f"{self.name} index {bad} out of range [0, {len(self)})")
        return indices

    def images(self, indices: np.ndarray) -> np.ndarray:
        """Observations [n, C, H, W] float32 in [0, 1] (or [n, D]) for dataset indices."""
        rows, inverse = np.unique(self._rows(indices), return_inverse=True)
        x = np.asarray(self._store[rows])[inverse].astype(np.float32)
        if self._scale != 1.0:
            x *= np.float32(self._scale)
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4:
            x = x.transpose(0, 3, 1, 2)
        if self._resolution is not None:
            x = resize_square(x, self._resolution)
        return np.ascontiguousarray(x)

    def factors(self, indices: np.ndarray) -> np.ndarray:
        """Factors [n, 0]: this dataset has none."""
        return np.zeros((len(self._rows(indices)), 0), dtype=np.int64)


class ArrayGroundTruth(ArrayImages):
    """Stored observations with one factor vector per row (ground-truth dataset contract).

    ``factor_sizes`` defaults to one more than the largest value of each factor.
    ``full_grid`` tells whether every cell of the factor grid has a stored example (only
    then can any factor vector be intervened on, as the FactorVAE and BetaVAE scores do).
    """

    def __init__(
        self,
        name: str,
        store: RowStore,
        factors: np.ndarray,
        factor_names: tuple[str, ...] | list[str],
        factor_sizes: tuple[int, ...] | list[int] | None = None,
        *,
        scale: float = 1.0,
        resolution: int | None = None,
    ) -> None:
        super().__init__(name, store, scale=scale, resolution=resolution)
        factors = np.asarray(factors)
        names = tuple(str(n) for n in factor_names)
        if not names or factors.shape != (len(self), len(names)):
            raise ValueError(
                f"dataset {name!r}: factors must be [{len(self)}, {len(names)}] for factor "
                f"names {names}, got shape {factors.shape}"
            )
        if not np.issubdtype(factors.dtype, np.integer):
            raise ValueError(f"dataset {name!r}: factors must be integers, got {factors.dtype}")
        factors = factors.astype(np.int64, copy=False)
        sizes = tuple(
            int(s) for s in (factor_sizes if factor_sizes is not None else factors.max(0) + 1)
        )
        if len(sizes) != len(names) or (factors < 0).any() or (factors >= sizes).any():
            raise ValueError(
                f"dataset {name!r}: factor values must lie in [0, size) for factor sizes {sizes}"
            )
        self.factor_names = names
        self.factor_sizes = sizes
        self._factors = factors
        codes = flat_index(factors, sizes)
        self._by_code = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._by_code]
        distinct = 1 + int(np.count_nonzero(np.diff(self._sorted_codes)))
        self.full_grid = distinct == int(np.prod(sizes))

    def factors(self, indices: np.ndarray) -> np.ndarray:
        """Factor vectors [n, K] int64 for dataset indices."""
        return self._factors[self._rows(indices)]

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor vectors: uniform on a full grid, else those of random examples."""
        if self.full_grid:
            return uniform_factors(self.factor_sizes, n, rng)
        return self._factors[rng.integers(0, len(self), size=n)]

    def rows_with(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each factor vector [n, K], a random stored row with exactly those factors."""
        factors = np.asarray(factors, dtype=np.int64)
        sizes = np.asarray(self.factor_sizes)
        if factors.ndim != 2 or factors.shape[1] != len(sizes):
            raise ValueError(
                f"{self.name} factors must have shape [n, {len(sizes)}], got {factors.shape}"
            )
        if (factors < 0).any() or (factors >= sizes).any():
            raise ValueError(
                f"{self.name} factor values out of range for sizes {self.factor_sizes}"
            )
        codes = flat_index(factors, self.factor_sizes)
        lo = np.searchsorted(self._sorted_codes, codes, side="left")
        hi = np.searchsorted(self._sorted_codes, codes, side="right")
        absent = lo == hi
        if absent.any():
            raise ValueError(
                f"{self.name} holds no example with factors {self.factor_names} = "
                f"{factors[absent][0].tolist()}"
            )
        pick = lo + (rng.random(len(codes)) * (hi - lo)).astype(np.int64)
        return self._by_code[pick]

    def sample_observations_from_factors(
        self, factors: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Observations for factor vectors [n, K] (stored examples, see :meth:`rows_with`)."""
        return self.images(self.rows_with(factors, rng))
