"""The VAE LightningModule: any net with encode/decode, any objective, any likelihood."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn

from infoprint.models.likelihoods import LIKELIHOODS, reconstruction_loss
from infoprint.models.objectives import Objective, Posterior


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class VAE(pl.LightningModule):
    """Variational auto-encoder trained with Adam on ``reconstruction + regulariser``.

    Logs ``train/loss``, ``train/reconstruction``, ``train/kl`` and ``train/kl/<k>`` (nats,
    per channel k) plus whatever the objective reports, against ``trainer/global_step``.
    """

    def __init__(
        self,
        net: nn.Module,
        objective: Objective,
        likelihood: str = "bernoulli",
        likelihood_scale: float = 1.0,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(
                f"likelihood.name must be one of {sorted(LIKELIHOODS)}, got {likelihood!r}"
            )
        if lr <= 0:
            raise ValueError(f"optim.lr must be > 0, got {lr}")
        self.net = net
        self.objective = objective
        self.likelihood = likelihood
        self.likelihood_scale = likelihood_scale
        self.lr = lr
        self.betas = tuple(betas)

    @property
    def latent_dim(self) -> int:
        return int(self.net.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.decode(z)

    def posterior(self, x: torch.Tensor) -> Posterior:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return Posterior(mu=mu, logvar=logvar, z=z)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        x = batch[0]
        posterior = self.posterior(x)
        output = self.decode(posterior.z)
        reconstruction = reconstruction_loss(
            self.likelihood, x, output, self.likelihood_scale
        ).mean()
        regulariser, extra = self.objective.regulariser(posterior, self.global_step)
        loss = reconstruction + regulariser
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"non-finite loss {loss.item()} at step {self.global_step} "
                f"(reconstruction {reconstruction.item()}, regulariser {regulariser.item()}); "
                f"lower optim.lr or check the data and model hyper-parameters"
            )
        kl_per_channel = posterior.kl_per_channel.detach()
        logs = {
            "train/loss": loss.detach(),
            "train/reconstruction": reconstruction.detach(),
            "train/kl": kl_per_channel.sum(),
            **{f"train/kl/{k}": v for k, v in enumerate(kl_per_channel)},
            **{f"train/{k}": v.detach() for k, v in extra.items()},
        }
        self.log_dict(logs, on_step=True, on_epoch=False, batch_size=x.shape[0])
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, betas=self.betas)
