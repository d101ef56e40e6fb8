"""FactorVAE (Kim & Mnih 2018): KL + γ·TC with TC estimated by a discriminator.

The discriminator D tells codes z ~ q(z) (class 0) from codes whose channels were
shuffled independently across the batch, a sample of Π_k q(z_k) (class 1, Kim & Mnih
2018, Alg. 2). Its logits give the density-ratio estimate of the total correlation
(Eq. 3): TC ≈ E[log D(z) / (1 − D(z))] = E[logit_0(z) − logit_1(z)].

As in disentanglement_lib, the VAE and D are both updated once per training step on the
same batch and the same codes, the VAE with the run's optimiser (``optim``) and D with its
own (``model.discriminator_optim``, a partial optimiser: Adam(1e-4, (0.5, 0.9))). Unlike
disentanglement_lib, whose two ``minimize`` calls each advance the global step, one
training step here advances the step counter once.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch.func import functional_call

from infoprint.models.nets import Discriminator
from infoprint.models.objectives import AdversarialObjective, Logs, Posterior, check_non_negative
from infoprint.models.vae import OptimizerFactory


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Shuffle each channel of z [B, d] independently across the batch (Kim & Mnih, Alg. 1)."""
    order = torch.rand_like(z).argsort(dim=0)
    return z.gather(0, order)


class FactorVAE(AdversarialObjective):
    """FactorVAE (Kim & Mnih 2018, Eq. 2): KL + γ · TC; logs ``tc`` and the discriminator's
    ``discriminator/loss`` and ``discriminator/accuracy`` (on real and shuffled codes)."""

    name = "factor_vae"

    def __init__(
        self,
        gamma: float = 10.0,
        latent_dim: int = 10,
        discriminator_hidden: int = 1000,
        discriminator_layers: int = 6,
        discriminator_optim: OptimizerFactory | None = None,
    ) -> None:
        super().__init__()
        self.gamma = check_non_negative("gamma", gamma)
        self.discriminator = Discriminator(latent_dim, discriminator_hidden, discriminator_layers)
        self.discriminator_optim = discriminator_optim or _default_discriminator_optim

    def _frozen_discriminator(self, z: torch.Tensor) -> torch.Tensor:
        """D(z) with D's parameters detached: gradients reach z, never D."""
        params = {k: p.detach() for k, p in self.discriminator.named_parameters()}
        return functional_call(self.discriminator, params, (z,))

    def regulariser(self, posterior: Posterior, step: int) -> tuple[torch.Tensor, Logs]:
        logits = self._frozen_discriminator(posterior.z)
        tc = (logits[:, 0] - logits[:, 1]).mean()
        return posterior.kl + self.gamma * tc, {"tc": tc}

    def adversary_loss(self, posterior: Posterior) -> tuple[torch.Tensor, Logs]:
        """Cross-entropy of D on the batch's codes (class 0) and their shuffle (class 1)."""
        z = posterior.z.detach()
        logits = self.discriminator(torch.cat([z, permute_dims(z)]))
        labels = torch.arange(2, device=z.device).repeat_interleave(z.shape[0])
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
        return loss, {"discriminator/loss": loss, "discriminator/accuracy": accuracy}

    def adversary_optimizer(self) -> torch.optim.Optimizer:
        return self.discriminator_optim(self.discriminator.parameters())


def _default_discriminator_optim(params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """disentanglement_lib's discriminator optimiser: Adam(1e-4, betas (0.5, 0.9))."""
    return torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.9))
