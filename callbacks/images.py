"""Lightning callback: reconstructions and latent traversals at fit end.

Writes ``reconstructions.png`` and ``traversals.png`` into the run directory and logs them
to W&B when a run is active. Skipped for data that are not images.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only

from infoprint import tracking
from infoprint.analysis.decoding import is_image_shape, traversals
from infoprint.callbacks.discovery import run_context
from infoprint.data.base import gather
from infoprint.models.inference import evaluating
from infoprint.plots.traversals import tile
from infoprint.run.context import RunContext


class ImagesCallback(pl.Callback):
    """Log ``n_images`` reconstructions and a traversal of every channel over ±``span``."""

    def __init__(self, n_images: int = 8, steps: int = 9, span: float = 2.0) -> None:
        self.n_images = n_images
        self.steps = steps
        self.span = span
        self.context: RunContext | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.context = run_context(trainer, pl_module)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        dataset = trainer.datamodule.dataset
        if not is_image_shape(dataset.observation_shape):
            return
        rng = np.random.default_rng(0)
        x, _ = gather(dataset, rng.integers(0, len(dataset), size=self.n_images))
        with evaluating(pl_module):
            x = torch.from_numpy(x).to(pl_module.device)
            mu, logvar = pl_module.encode(x)
            recon = pl_module.decode_mean(mu)
            order = torch.argsort(_kl(mu, logvar), descending=True).tolist()
            values = torch.linspace(-self.span, self.span, self.steps, device=mu.device)
            grid = traversals(pl_module.decode_mean, mu[0], order, values)
        images = {
            "reconstructions": tile(torch.stack([x, recon], dim=0).cpu().numpy()),
            "traversals": tile(grid),
        }
        output_dir = self.context.output_dir
        output_dir.mkdir(parents=True, exist_ok=True)
        for name, image in images.items():
            plt.imsave(output_dir / f"{name}.png", _rgb(image))
        tracking.log_images(
            {f"images/{name}": _rgb(image) for name, image in images.items()},
            step=trainer.global_step,
        )


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean(0)


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
