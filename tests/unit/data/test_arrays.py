"""The in-memory dataset base: layouts, resizing, gathers, factor lookup and sampling."""

import numpy as np
import pytest

from infoprint.data.arrays import ArrayGroundTruth, ArrayImages, check_resolution, resize_square
from infoprint.data.base import GroundTruthDataset, gather, grid_factors, has_factors


class IncreasingRows:
    """A store that, like an h5py dataset, only accepts increasing distinct row indices."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        assert (np.diff(rows) > 0).all(), rows
        return self.array[rows]


def test_resize_shrinks_by_block_average():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(resize_square(x, 2)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert resize_square(x, 4) is x


def test_resize_grows_by_whole_repeats_then_an_even_zero_border():
    x = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    big = resize_square(x, 10)  # 4 px -> repeated twice (8 px) + 1 px border a side
    assert big.shape == (2, 3, 10, 10)
    np.testing.assert_array_equal(big[:, :, 1:9, 1:9], x.repeat(2, 2).repeat(2, 3))
    assert not big[:, :, 0].any() and not big[:, :, 9].any() and not big[..., 0].any()
    padded = resize_square(np.ones((1, 1, 28, 28), np.float32), 32)  # MNIST for the conv net
    assert padded.sum() == 28 * 28 and padded[0, 0, 2:30, 2:30].all()


@pytest.mark.parametrize(
    ("shape", "resolution", "message"),
    [
        ((5, 6, 8), 8, "square"),
        ((5, 64, 64), 48, "divide"),
        ((5, 8, 8), 0, "positive integer"),
        ((5, 8, 8), True, "positive integer"),
    ],
)
def test_bad_resolution_names_the_key(shape, resolution, message):
    with pytest.raises(ValueError, match=rf"data\.dataset\.resolution.*{message}"):
        check_resolution(shape, resolution)


def test_layouts_become_channels_first_float_images():
    grey = np.random.default_rng(0).integers(0, 256, (6, 4, 4), dtype=np.uint8)
    colour = np.random.default_rng(1).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    a = ArrayImages("grey", grey, scale=1 / 255)
    b = ArrayImages("colour", colour, scale=1 / 255, resolution=8)
    assert a.observation_shape == (1, 4, 4) and b.observation_shape == (3, 8, 8)
    np.testing.assert_allclose(a.images(np.array([2]))[0, 0], grey[2] / 255, rtol=1e-6)
    np.testing.assert_allclose(
        b.images(np.array([3]))[0, :, ::2, ::2], colour[3].transpose(2, 0, 1) / 255, rtol=1e-6
    )
    x, f = a[5]
    assert x.dtype == np.float32 and x.shape == (1, 4, 4) and f.shape == (0,)
    assert not has_factors(a) and not isinstance(a, GroundTruthDataset)


def test_vectors_keep_their_values():
    points = np.array([[-3.0, 2.0], [0.5, 7.0]], dtype=np.float32)
    data = ArrayImages("vectors", points)
    assert data.observation_shape == (2,)
    np.testing.assert_array_equal(data.images(np.array([1, 0])), points[::-1])
    with pytest.raises(ValueError, match="resolution applies to images"):
        ArrayImages("vectors", points, resolution=4)


def test_gather_reads_each_row_once_in_order_and_keeps_the_request_order():
    rng = np.random.default_rng(0)
    stored = rng.random((50, 3, 3)).astype(np.float32)
    data = ArrayGroundTruth("d", IncreasingRows(stored), np.arange(50)[:, None], ("k",))
    request = np.array([7, 3, 7, 49, 0, 3])
    images, factors = gather(data, request)
    np.testing.assert_array_equal(images[:, 0], stored[request])
    np.testing.assert_array_equal(factors[:, 0], request)
    with pytest.raises(IndexError, match="index 50 out of range"):
        data.images(np.array([1, 50]))


def test_full_grid_lookup_finds_the_row_of_each_factor_vector():
    sizes = (3, 4, 5)
    order = np.random.default_rng(0).permutation(60)  # rows stored in any order
    factors = grid_factors(order, sizes)
    images = np.arange(60, dtype=np.float32)[order][:, None]  # image value = grid index
    data = ArrayGroundTruth("grid", images, factors, ("a", "b", "c"), sizes)
    assert data.full_grid and isinstance(data, GroundTruthDataset) and has_factors(data)
    rng = np.random.default_rng(1)
    query = data.sample_factors(500, rng)
    assert query.shape == (500, 3) and len(np.unique(query[:, 2])) == 5
    found = data.sample_observations_from_factors(query, rng)
    np.testing.assert_array_equal(found[:, 0], np.ravel_multi_index(query.T, sizes))


def test_partial_grid_samples_existing_factors_and_picks_among_duplicates():
    factors = np.array([[0, 0], [0, 0], [1, 2], [1, 2], [1, 2], [2, 1]])
    images = np.arange(6, dtype=np.float32)[:, None]
    data = ArrayGroundTruth("partial", images, factors, ("a", "b"))
    assert data.factor_sizes == (3, 3) and not data.full_grid
    rng = np.random.default_rng(0)
    drawn = data.sample_factors(300, rng)
    assert {tuple(f) for f in drawn} == {(0, 0), (1, 2), (2, 1)}
    rows = data.rows_with(np.array([[1, 2]] * 300), rng)
    assert set(rows) == {2, 3, 4}
    with pytest.raises(ValueError, match=r"no example with factors \('a', 'b'\) = \[0, 1\]"):
        data.rows_with(np.array([[1, 2], [0, 1]]), rng)
    with pytest.raises(ValueError, match="out of range"):
        data.rows_with(np.array([[3, 0]]), rng)


@pytest.mark.parametrize(
    ("factors", "names", "sizes", "message"),
    [
        (np.zeros((4, 2), np.int64), ("a",), None, r"must be \[4, 1\]"),
        (np.zeros((4, 1)), ("a",), None, "integers"),
        (np.full((4, 1), 3), ("a",), (3,), r"\[0, size\)"),
        (np.zeros((4, 0), np.int64), (), None, "must be"),
    ],
)
def test_bad_factor_arrays_are_refused(factors, names, sizes, message):
    with pytest.raises(ValueError, match=message):
        ArrayGroundTruth("bad", np.zeros((4, 2, 2)), factors, names, sizes)
