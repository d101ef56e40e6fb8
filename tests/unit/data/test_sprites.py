import numpy as np
import pytest

from infoprint.data.base import GroundTruthDataset, flat_index, gather, grid_factors
from infoprint.data.module import GroundTruthDataModule
from infoprint.data.sprites import (
    FACTOR_SIZES,
    ORIENTATIONS,
    POSITIONS,
    SCALES,
    ProceduralSprites,
    render_sprites,
)


def test_factor_grid_is_dsprites():
    assert FACTOR_SIZES == (3, 6, 40, 32, 32)
    np.testing.assert_allclose(SCALES, np.linspace(0.5, 1, 6))
    assert ORIENTATIONS[0] == 0 and ORIENTATIONS[-1] == pytest.approx(2 * np.pi)
    assert POSITIONS[0] == 0 and POSITIONS[-1] == 1
    assert len(ProceduralSprites()) == 737_280


def test_contract_and_shapes():
    data = ProceduralSprites(resolution=32)
    assert isinstance(data, GroundTruthDataset)
    x, f = data[12345]
    assert x.shape == (1, 32, 32) and x.dtype == np.float32
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(f, grid_factors(12345, FACTOR_SIZES))
    rng = np.random.default_rng(0)
    factors = data.sample_factors(100, rng)
    assert factors.shape == (100, 5) and (factors < np.asarray(FACTOR_SIZES)).all()
    assert data.sample_observations_from_factors(factors, rng).shape == (100, 1, 32, 32)


def test_grid_index_roundtrip_matches_dsprites_order():
    index = np.arange(0, 737_280, 997)
    factors = grid_factors(index, FACTOR_SIZES)
    np.testing.assert_array_equal(flat_index(factors, FACTOR_SIZES), index)
    # dSprites' row-major order: posY varies fastest, shape slowest.
    np.testing.assert_array_equal(grid_factors(1, FACTOR_SIZES), [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(grid_factors(32 * 32 * 40 * 6, FACTOR_SIZES), [1, 0, 0, 0, 0])


def _centroid(image: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(image[0])
    return np.array([cols.mean(), rows.mean()])


def test_position_moves_sprite_and_scale_grows_it():
    base = np.array([[0, 5, 0, 0, 0], [0, 5, 0, 31, 0], [0, 5, 0, 0, 31], [0, 0, 0, 0, 0]])
    images = render_sprites(base, 64)
    left, right, down, small = images
    assert _centroid(right)[0] - _centroid(left)[0] > 30  # posX moves along columns
    assert _centroid(down)[1] - _centroid(left)[1] > 30  # posY moves along rows
    assert small.sum() < left.sum() * 0.4  # scale 0.5 has ~1/4 of the area


def test_orientation_endpoints_coincide_and_shapes_differ():
    f = np.array([[2, 5, 0, 16, 16], [2, 5, 39, 16, 16], [2, 5, 10, 16, 16]])
    images = render_sprites(f)
    np.testing.assert_array_equal(images[0], images[1])  # 0 and 2π
    assert not np.array_equal(images[0], images[2])
    shapes = render_sprites(np.array([[k, 5, 0, 16, 16] for k in range(3)]))
    assert len({im.tobytes() for im in shapes}) == 3


def test_bad_factors_are_rejected():
    with pytest.raises(ValueError, match="out of range"):
        render_sprites(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"\[n, 5\]"):
        render_sprites(np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match="resolution"):
        ProceduralSprites(resolution=48)


def test_gather_matches_getitem():
    data = ProceduralSprites(32)
    images, factors = gather(data, np.array([5, 700_000]))
    for k, i in enumerate([5, 700_000]):
        x, f = data[i]
        np.testing.assert_array_equal(images[k], x)
        np.testing.assert_array_equal(factors[k], f)


def test_training_batches_are_seeded_uniform_draws():
    def first_batches(seed):
        loader = GroundTruthDataModule(ProceduralSprites(32), 256, seed).train_dataloader()
        it = iter(loader)
        return [next(it) for _ in range(4)]

    a, b, c = first_batches(1), first_batches(1), first_batches(2)
    for (xa, fa), (xb, fb) in zip(a, b, strict=True):
        assert xa.shape == (256, 1, 32, 32)
        assert (fa == fb).all() and (xa == xb).all()
    assert not all((fa == fc).all() for (_, fa), (_, fc) in zip(a, c, strict=True))
    factors = np.concatenate([f.numpy() for _, f in a])
    # uniform over 32 positions: every value of posX appears in 1024 draws
    assert len(np.unique(factors[:, 3])) == 32


def test_position_margins_set_each_axis_range():
    # small square (scale 0.5, inside the frame), posX and posY at both ends: the centre
    # moves over [m, 1 - m] on each axis
    corners = np.array([[0, 0, 0, 0, 0], [0, 0, 0, 31, 31]])
    wide_x = render_sprites(corners, 64, position_margins=(0.10, 0.18))
    start, end = (_centroid(image) for image in wide_x)
    np.testing.assert_allclose(np.array(start) / 64, [0.10, 0.18], atol=0.02)
    np.testing.assert_allclose(np.array(end) / 64, [0.90, 0.82], atol=0.02)
    default = ProceduralSprites(64)
    assert np.array_equal(
        default.images(np.arange(5)), render_sprites(default.factors(np.arange(5)), 64)
    )
    shifted = ProceduralSprites(64, position_margins=(0.10, 0.18))
    assert np.array_equal(
        shifted.images(np.arange(5)),
        render_sprites(shifted.factors(np.arange(5)), 64, (0.10, 0.18)),
    )
    with pytest.raises(ValueError, match="position_margins must be two values in"):
        ProceduralSprites(64, position_margins=(0.5, 0.1))
