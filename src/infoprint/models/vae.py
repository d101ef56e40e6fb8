"""The VAE LightningModule: any net with encode/decode, any objective, any likelihood.

The loss is ``reconstruction + objective.regulariser(posterior, global_step)``. Objectives
with an adversary (:class:`AdversarialObjective`, e.g. FactorVAE) switch the module to
Lightning's manual optimisation: per step, the VAE's and the adversary's losses are
computed on the same batch and codes, then each optimiser takes one step on its own
parameters. Only the VAE's step advances ``global_step``, so ``trainer.max_steps`` counts
training steps for every objective.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch import nn

from infoprint.models.likelihoods import Bernoulli, Likelihood
from infoprint.models.objectives import AdversarialObjective, Logs, Objective, Posterior

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@dataclass(frozen=True)
class StepLoss:
    """The VAE's loss on a batch, the posterior it came from, and the scalars to log."""

    loss: torch.Tensor
    posterior: Posterior
    logs: Logs


class VAE(pl.LightningModule):
    """Variational auto-encoder trained on ``reconstruction + regulariser``.

    ``optim`` builds the optimiser from the net's parameters (a partial optimiser, config
    ``optim``; default Adam(1e-4)). Build it through
    :func:`infoprint.models.builder.build_model`, which also stores the model's description
    in its checkpoints.

    Logs ``train/loss``, ``train/reconstruction``, ``train/kl`` and ``train/kl/<k>`` (nats,
    per channel k) plus whatever the objective reports, against ``trainer/global_step``,
    on the steps the loggers write (every ``trainer.log_every_n_steps``): each
    ``self.log`` call walks Lightning's whole result collection, which on every step
    would cost more than a small model's forward and backward pass.
    """

    def __init__(
        self,
        net: nn.Module,
        objective: Objective,
        likelihood: Likelihood | None = None,
        optim: OptimizerFactory | None = None,
    ) -> None:
        super().__init__()
        hold_parts(self, net, objective, likelihood, optim or _default_optim)
        self.automatic_optimization = not isinstance(objective, AdversarialObjective)

    @property
    def latent_dim(self) -> int:
        return int(self.net.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.decode(z)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The likelihood's mean for codes ``z``: what a traversal shows."""
        return self.likelihood.mean(self.net.decode(z))

    def posterior(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> Posterior:
        """q(z|x) on batch ``x`` and a reparameterised sample; ``noise`` (standard normal,
        [B, d]) defaults to a draw from torch's global generator."""
        mu, logvar = self.encode(x)
        noise = torch.randn_like(mu) if noise is None else noise
        z = mu + noise * (0.5 * logvar).exp()
        return Posterior(mu=mu, logvar=logvar, z=z)

    def step_loss(self, x: torch.Tensor, step: int) -> StepLoss:
        """The VAE loss on batch ``x`` at training step ``step``; raises on a non-finite loss."""
        result = self.loss_terms(x, step)
        check_finite(result.logs, step)
        return result

    def loss_terms(self, x: torch.Tensor, step: int, noise: torch.Tensor | None = None) -> StepLoss:
        """The VAE loss on batch ``x`` at ``step``, unchecked: no data-dependent control flow,
        so :mod:`infoprint.models.pack` can ``vmap`` it over the members of a pack."""
        posterior = self.posterior(x, noise)
        output = self.decode(posterior.z)
        reconstruction = self.likelihood.nll(x, output).mean()
        regulariser, extra = self.objective.regulariser(posterior, step)
        loss = reconstruction + regulariser
        kl_per_channel = posterior.kl_per_channel.detach()
        logs = {
            "train/loss": loss.detach(),
            "train/reconstruction": reconstruction.detach(),
            "train/kl": kl_per_channel.sum(),
            **{f"train/kl/{k}": v for k, v in enumerate(kl_per_channel)},
            **{f"train/{k}": v.detach() for k, v in extra.items()},
        }
        return StepLoss(loss=loss, posterior=posterior, logs=logs)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor | None:
        x, step = batch[0], self.global_step
        result = self.step_loss(x, step)
        logs = result.logs
        if self.automatic_optimization:
            self._log(logs, x.shape[0], step)
            return result.loss
        adversary_loss, adversary_logs = self.objective.adversary_loss(result.posterior)
        vae_optimizer, adversary_optimizer = self.optimizers()
        vae_optimizer.zero_grad()
        self.manual_backward(result.loss)
        vae_optimizer.step()
        adversary_optimizer.zero_grad()
        self.manual_backward(adversary_loss)
        # Through the strategy (precision plugin included) but not LightningOptimizer.step,
        # which would advance global_step a second time.
        self.trainer.strategy.optimizer_step(adversary_optimizer.optimizer, closure=no_closure)
        logs |= {f"train/{k}": v.detach() for k, v in adversary_logs.items()}
        self._log(logs, x.shape[0], step)
        return None

    def _log(self, logs: Logs, batch_size: int, step: int) -> None:
        log_when_written(self, logs, batch_size, step)

    def configure_optimizers(self) -> torch.optim.Optimizer | list[torch.optim.Optimizer]:
        vae = self.optim(self.net.parameters())
        if self.automatic_optimization:
            return vae
        return [vae, self.objective.adversary_optimizer()]


def check_finite(logs: Logs, step: int, member: str = "") -> None:
    """Raise :class:`NonFiniteLossError` if ``logs["train/loss"]`` is NaN or infinite."""
    loss, reconstruction = logs["train/loss"], logs["train/reconstruction"]
    if not torch.isfinite(loss):
        raise NonFiniteLossError(
            f"non-finite loss {loss.item()} at step {step}{member} (reconstruction "
            f"{reconstruction.item()}, regulariser {(loss - reconstruction).item()}); "
            f"lower optim.lr or check the data and model hyper-parameters"
        )


def log_when_written(module: pl.LightningModule, logs: Logs, batch_size: int, step: int) -> None:
    """Log at ``step`` if Lightning's loggers write it (its ``should_update_logs`` rule)."""
    if (step + 1) % module.trainer.log_every_n_steps == 0:
        module.log_dict(logs, on_step=True, on_epoch=False, batch_size=batch_size)


def hold_parts(
    module: pl.LightningModule,
    net: nn.Module,
    objective: nn.Module,
    likelihood: Likelihood | None,
    optim: OptimizerFactory,
) -> None:
    """The parts every model module of the builder holds (VAE, InfoGAN): its net, objective,
    likelihood (default Bernoulli) and optimiser factory."""
    module.net = net
    module.objective = objective
    module.likelihood = likelihood if likelihood is not None else Bernoulli()
    module.optim = optim


def _default_optim(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """disentanglement_lib's optimiser: Adam(1e-4, betas (0.9, 0.999))."""
    return torch.optim.Adam(params, lr=1e-4)


def no_closure() -> None:
    """Manual optimisation has already run backward; the optimiser needs no closure."""
