"""InfoGAN (Chen et al. 2016): a GAN whose generator G(z, c) keeps its codes c readable.

The minimax game is V(D, G) − λ L_I(G, Q) (Chen et al. 2016, Eq. 6), with the variational
lower bound L_I = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c) of I(c; G(z, c))
(Eq. 5). Q is a factored Gaussian for every continuous code (mean and log-variance,
uniform prior on [−1, 1]) and a softmax for every categorical code (uniform prior);
the noise z is standard normal. λ weighs the continuous and categorical terms separately
(``lambda_continuous``, ``lambda_categorical``): Chen et al. use λ = 1 for categorical
codes and a smaller λ for continuous ones, whose differential entropy lives on another
scale. The networks (and their spectral-norm stabilisation) are in
:mod:`infoprint.models.gan_nets`.

Training uses Lightning's manual optimisation with two optimisers, as FactorVAE does
(docs/architecture.md §9): per step, D and Q take one step with
``model.discriminator_optim`` on the real batch and a batch generated from fresh codes,
then G takes one step with the run's ``optim`` on the same codes; only G's step advances
``global_step``. Losses use the non-saturating generator loss (Goodfellow et al. 2014).

What infoprint reads: ``encode(x) -> (mu, logvar)`` is Q's Gaussian posterior over the
continuous codes for images x (so the fingerprint has ``latent_dim`` channels), and
``decode_mean(c)`` is G's image (the likelihood's mean of its output, e.g. a sigmoid)
for continuous codes c with the noise fixed at its mean 0 and every categorical code at
its first category: what a traversal shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from infoprint.models.gan_nets import GANNet
from infoprint.models.likelihoods import Likelihood
from infoprint.models.objectives import Logs, check_non_negative, gaussian_log_density
from infoprint.models.vae import (
    NonFiniteLossError,
    OptimizerFactory,
    hold_parts,
    log_when_written,
    no_closure,
)


@dataclass(frozen=True)
class Codes:
    """One draw of G's inputs: noise [B, noise_dim], continuous codes [B, latent_dim] and
    the category of every categorical code [B, n_categorical] (int64)."""

    noise: torch.Tensor
    continuous: torch.Tensor
    categorical: torch.Tensor


class InfoGANObjective:
    """InfoGAN's losses and the discriminator's optimiser (config ``model``)."""

    name: ClassVar[str] = "infogan"
    module: ClassVar[str] = "infogan"

    def __init__(
        self,
        lambda_continuous: float = 0.1,
        lambda_categorical: float = 1.0,
        discriminator_optim: OptimizerFactory | None = None,
    ) -> None:
        self.lambda_continuous = check_non_negative("lambda_continuous", lambda_continuous)
        self.lambda_categorical = check_non_negative("lambda_categorical", lambda_categorical)
        self.discriminator_optim = discriminator_optim or _default_discriminator_optim

    @staticmethod
    def discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """−E[log D(x)] − E[log(1 − D(G(z, c)))] from D's logits."""
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    @staticmethod
    def generator_loss(fake: torch.Tensor) -> torch.Tensor:
        """The non-saturating generator loss −E[log D(G(z, c))]."""
        return F.softplus(-fake).mean()

    def information(
        self, q: torch.Tensor, codes: Codes, latent_dim: int, categorical: tuple[int, ...]
    ) -> tuple[torch.Tensor, Logs]:
        """λ-weighted −E[log Q(c | x)] (nats, summed over codes) and its parts to log."""
        mu, logvar = q[:, :latent_dim], q[:, latent_dim : 2 * latent_dim]
        continuous = -gaussian_log_density(codes.continuous, mu, logvar).sum(1).mean()
        logits = q[:, 2 * latent_dim :].split(list(categorical), dim=1)
        categorical_nll = sum(
            (F.cross_entropy(lg, codes.categorical[:, k]) for k, lg in enumerate(logits)),
            start=q.new_zeros(()),
        )
        loss = self.lambda_continuous * continuous + self.lambda_categorical * categorical_nll
        logs = {"information/continuous": continuous.detach()}
        if categorical:
            logs["information/categorical"] = categorical_nll.detach()
        return loss, logs


class InfoGAN(pl.LightningModule):
    """InfoGAN with a Gaussian Q head; build it through
    :func:`infoprint.models.builder.build_model` (``module: infogan`` specs).

    ``optim`` builds G's optimiser (config ``optim``), ``objective.discriminator_optim``
    D's and Q's. Logs ``train/loss`` (G's loss: adversarial + λ·information),
    ``train/generator``, ``train/information`` (−E[log Q(c|G(z, c))] for G's step, nats,
    unweighted), ``train/information/continuous`` (and ``/categorical``),
    ``train/discriminator/loss`` and ``train/discriminator/accuracy``.
    """

    def __init__(
        self,
        net: GANNet,
        objective: InfoGANObjective,
        likelihood: Likelihood | None = None,
        optim: OptimizerFactory | None = None,
    ) -> None:
        super().__init__()
        hold_parts(self, net, objective, likelihood, optim or _default_generator_optim)
        self.automatic_optimization = False

    @property
    def latent_dim(self) -> int:
        return self.net.latent_dim

    def sample_codes(self, n: int) -> Codes:
        """Codes from their priors (torch's global generator): z ~ N(0, I), continuous
        c ~ U(−1, 1), categorical c uniform."""
        net, device = self.net, self.device
        categories = [torch.randint(k, (n,), device=device) for k in net.categorical]
        return Codes(
            noise=torch.randn(n, net.noise_dim, device=device),
            continuous=torch.rand(n, net.latent_dim, device=device) * 2 - 1,
            categorical=torch.stack(categories, 1)
            if categories
            else torch.zeros(n, 0, dtype=torch.long, device=device),
        )

    def inputs(self, codes: Codes) -> torch.Tensor:
        """G's input vector: noise, continuous codes, one-hot categorical codes."""
        one_hot = [
            F.one_hot(codes.categorical[:, k], size).to(codes.continuous.dtype)
            for k, size in enumerate(self.net.categorical)
        ]
        return torch.cat([codes.noise, codes.continuous, *one_hot], dim=1)

    def generate(self, codes: Codes) -> torch.Tensor:
        """G(z, c) as an image: the likelihood's mean of G's output."""
        return self.likelihood.mean(self.net.generate(self.inputs(codes)))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q's Gaussian posterior over the continuous codes: (mu, logvar) [B, latent_dim]."""
        q = self.net.discriminate(x)[1]
        d = self.latent_dim
        return q[:, :d], q[:, d : 2 * d]

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """G's image for continuous codes ``z`` [B, latent_dim], noise 0, categories 0."""
        n = z.shape[0]
        codes = Codes(
            noise=z.new_zeros(n, self.net.noise_dim),
            continuous=z,
            categorical=torch.zeros(
                n, len(self.net.categorical), dtype=torch.long, device=z.device
            ),
        )
        return self.generate(codes)

    def _information(self, q: torch.Tensor, codes: Codes) -> tuple[torch.Tensor, Logs]:
        return self.objective.information(q, codes, self.latent_dim, self.net.categorical)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, step = batch[0], self.global_step
        codes = self.sample_codes(real.shape[0])
        generator_optimizer, discriminator_optimizer = self.optimizers()
        fake = self.generate(codes)

        real_logit, _ = self.net.discriminate(real)
        fake_logit, q = self.net.discriminate(fake.detach())
        information, _ = self._information(q, codes)
        d_loss = self.objective.discriminator_loss(real_logit, fake_logit) + information
        discriminator_optimizer.zero_grad()
        self.manual_backward(d_loss)
        # Through the strategy, not LightningOptimizer.step, which would advance global_step.
        self.trainer.strategy.optimizer_step(discriminator_optimizer.optimizer, closure=no_closure)

        with frozen(self._discriminator_parameters()):
            fake_logit_g, q = self.net.discriminate(fake)
        adversarial = self.objective.generator_loss(fake_logit_g)
        information, information_logs = self._information(q, codes)
        g_loss = adversarial + information
        generator_optimizer.zero_grad()
        self.manual_backward(g_loss)
        generator_optimizer.step()

        accuracy = torch.cat([real_logit > 0, fake_logit < 0]).float().mean()
        logs = {
            "train/loss": g_loss.detach(),
            "train/generator": adversarial.detach(),
            "train/information": sum(information_logs.values()),
            **{f"train/{k}": v for k, v in information_logs.items()},
            "train/discriminator/loss": d_loss.detach(),
            "train/discriminator/accuracy": accuracy,
        }
        _check_finite(logs, step)
        log_when_written(self, logs, real.shape[0], step)

    def _discriminator_parameters(self) -> list[nn.Parameter]:
        net = self.net
        return [*net.trunk.parameters(), *net.d_head.parameters(), *net.q_head.parameters()]

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        generator = self.optim(self.net.generator.parameters())
        return [generator, self.objective.discriminator_optim(self._discriminator_parameters())]


@contextmanager
def frozen(parameters: Iterable[nn.Parameter]) -> Iterator[None]:
    """Parameters that take no gradient inside the block (G's step through D and Q)."""
    parameters = [p for p in parameters if p.requires_grad]
    for p in parameters:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in parameters:
            p.requires_grad_(True)


def _check_finite(logs: Logs, step: int) -> None:
    for key in ("train/loss", "train/discriminator/loss"):
        if not torch.isfinite(logs[key]):
            raise NonFiniteLossError(
                f"non-finite {key} {logs[key].item()} at step {step} (generator "
                f"{logs['train/generator'].item()}, information "
                f"{logs['train/information'].item()}); lower optim.lr or "
                f"model.discriminator_optim.lr, or check the data"
            )


def _default_generator_optim(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """Chen et al. 2016 (App.): Adam(1e-3, betas (0.5, 0.999)) for G."""
    return torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))


def _default_discriminator_optim(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """Chen et al. 2016 (App.): Adam(2e-4, betas (0.5, 0.999)) for D and Q."""
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
