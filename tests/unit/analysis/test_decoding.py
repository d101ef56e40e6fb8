import numpy as np
import torch

from infoprint.analysis.decoding import is_image_shape, traversals
from infoprint.plots.traversals import tile


def test_traversal_moves_only_along_the_traversed_channel():
    weights = torch.zeros(3, 1 * 4 * 4)
    weights[0, :8] = 1.0  # channel 0 paints the top half; channel 1 does nothing

    def decode(z):
        return torch.sigmoid(z @ weights).view(-1, 1, 4, 4)

    grid = traversals(decode, torch.zeros(3), [0, 1], torch.linspace(-2, 2, 5))
    assert grid.shape == (2, 5, 1, 4, 4)
    assert np.ptp(grid[0, :, 0, :2], axis=0).min() > 0.5  # top half changes along channel 0
    assert np.ptp(grid[1], axis=0).max() == 0.0  # channel 1 changes nothing


def test_tile_layout():
    images = np.zeros((2, 3, 1, 4, 5), np.float32)
    images[1, 2] = 1.0
    canvas = tile(images, pad=1)
    assert canvas.shape == (2 * 5 + 1, 3 * 6 + 1, 1)
    assert canvas[6:10, 13:18].min() == 1.0 and canvas[1:5, 1:6].max() == 0.0
    assert is_image_shape((3, 64, 64)) and not is_image_shape((2,))
