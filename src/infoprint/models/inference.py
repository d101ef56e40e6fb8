"""Running a model for its outputs: eval mode, and encoding a set of images in batches.

Every place that evaluates a model (fingerprinting, metric scoring, images, traversals)
goes through :func:`evaluating`, so mode and device are always restored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

Encoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@contextmanager
def evaluating(
    model: torch.nn.Module, device: torch.device | str | None = None
) -> Iterator[torch.nn.Module]:
    """Eval mode and no gradients (on ``device`` if given); mode and device restored after."""
    was_training = model.training
    home = next(model.parameters()).device
    model.eval()
    if device is not None:
        model.to(device)
    try:
        with torch.no_grad():
            yield model
    finally:
        model.to(home)
        model.train(was_training)


@torch.no_grad()
def encode_in_batches(
    encode: Encoder, images: np.ndarray, device: torch.device | str, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances [N, d] (float32) of ``images``, ``batch_size`` at
    a time on ``device``."""
    mus, logvars = [], []
    for start in range(0, len(images), max(1, batch_size)):
        x = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
        mu, logvar = encode(x.to(device))
        mus.append(mu.float().cpu())
        logvars.append(logvar.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(logvars).numpy()
