"""VAE objectives as one regulariser hook (DESIGN §7).

Every objective is ``loss = reconstruction + regulariser(posterior, step)``, the split
disentanglement_lib uses (Locatello et al. 2019): a model is one subclass of
:class:`Objective` plus one ``conf/model/*.yaml`` whose ``_target_`` names it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn


@dataclass(frozen=True)
class Posterior:
    """The encoder's output on a batch and the sample drawn from it."""

    mu: torch.Tensor  # [B, d]
    logvar: torch.Tensor  # [B, d]
    z: torch.Tensor  # [B, d], reparameterised sample

    @property
    def kl_per_channel(self) -> torch.Tensor:
        """KL(q(z_k|x) || N(0, 1)) per channel, averaged over the batch [d] (nats)."""
        return 0.5 * (self.mu.pow(2) + self.logvar.exp() - 1.0 - self.logvar).mean(0)

    @property
    def kl(self) -> torch.Tensor:
        return self.kl_per_channel.sum()


class Objective(nn.Module, ABC):
    """Regulariser hook: returns the regularisation term and scalars worth logging."""

    name: ClassVar[str]

    @abstractmethod
    def regulariser(
        self, posterior: Posterior, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The term added to the reconstruction loss at ``step``, and extra logs."""


class BetaVAE(Objective):
    """β-VAE (Higgins et al. 2017): β · KL(q(z|x) || p(z)); β = 1 is the plain VAE."""

    name = "beta_vae"

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if beta < 0:
            raise ValueError(f"model.beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def regulariser(
        self, posterior: Posterior, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.beta * posterior.kl, {}
