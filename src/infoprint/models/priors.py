"""Priors p(z) for the decomposition objective (Mathieu et al. 2019, Sec. 5).

Each prior is a distribution over a d-dimensional latent, built for the latent size and
device of the codes it meets. Mathieu et al. choose the prior to encode the structure
wanted of the representation: heavier-tailed independent channels (Student-t), sparsity
(spike-and-slab) or clusters (mixture of Gaussians). Their released code is
``iffsid/disentangling-disentanglement``; the constants below follow it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    Normal,
)
from torch.distributions import StudentT as _StudentT

from infoprint.models.objectives import Posterior


def _zeros(dim: int, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros(dim, device=like.device, dtype=like.dtype)


class Prior(ABC):
    """p(z) over [d]; ``kl`` is a one-sample Monte Carlo KL(q(z|x) || p(z)) by default."""

    name: ClassVar[str]

    @abstractmethod
    def distribution(self, dim: int, like: torch.Tensor) -> Distribution:
        """p(z) with event shape [dim], on ``like``'s device and dtype."""

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for codes [..., d] -> [...]."""
        return self.distribution(z.shape[-1], z).log_prob(z)

    def sample(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """n draws [n, d], d the last dimension of ``like``."""
        return self.distribution(like.shape[-1], like).sample((n,))

    def kl(self, posterior: Posterior) -> torch.Tensor:
        """E_x[log q(z|x) − log p(z)] with the posterior's own sample z, batch mean (nats)."""
        return (posterior.log_density().sum(1) - self.log_prob(posterior.z)).mean()


class StandardNormal(Prior):
    """N(0, I); its KL is the closed form."""

    name = "normal"

    def distribution(self, dim: int, like: torch.Tensor) -> Distribution:
        zeros = _zeros(dim, like)
        return Independent(Normal(zeros, zeros + 1.0, validate_args=False), 1)

    def kl(self, posterior: Posterior) -> torch.Tensor:
        return posterior.kl


class StudentT(Prior):
    """Independent Student-t channels with ``df`` degrees of freedom, unit scale."""

    name = "student_t"

    def __init__(self, df: float = 9.0) -> None:
        if df <= 0:
            raise ValueError(f"model.prior.df must be > 0, got {df}")
        self.df = float(df)

    def distribution(self, dim: int, like: torch.Tensor) -> Distribution:
        zeros = _zeros(dim, like)
        return Independent(_StudentT(self.df, zeros, zeros + 1.0, validate_args=False), 1)


class SpikeAndSlab(Prior):
    """Sparse prior Π_k [(1 − γ) N(z_k; 0, 1) + γ N(z_k; 0, spike_scale²)].

    γ is the weight of the spike; Mathieu et al.'s code uses spike_scale = 0.05.
    """

    name = "spike_slab"

    def __init__(self, gamma: float = 0.8, spike_scale: float = 0.05) -> None:
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"model.prior.gamma must be in [0, 1], got {gamma}")
        if spike_scale <= 0:
            raise ValueError(f"model.prior.spike_scale must be > 0, got {spike_scale}")
        self.gamma = float(gamma)
        self.spike_scale = float(spike_scale)

    def distribution(self, dim: int, like: torch.Tensor) -> Distribution:
        weights = like.new_tensor([1.0 - self.gamma, self.gamma]).expand(dim, 2)
        scales = like.new_tensor([1.0, self.spike_scale]).expand(dim, 2)
        per_channel = MixtureSameFamily(
            Categorical(probs=weights, validate_args=False),
            Normal(torch.zeros_like(scales), scales, validate_args=False),
            validate_args=False,
        )
        return Independent(per_channel, 1)


class GaussianMixture(Prior):
    """Equal-weight mixture of N(±radius·e_k, scale² I), one component per signed axis.

    For d = 2 this is Mathieu et al.'s pinwheel prior: means (0, ±1), (±1, 0) and
    scale √0.03.
    """

    name = "mixture"

    def __init__(self, radius: float = 1.0, scale: float = 0.03**0.5) -> None:
        if radius <= 0 or scale <= 0:
            raise ValueError(
                f"model.prior.radius and model.prior.scale must be > 0, got {radius}, {scale}"
            )
        self.radius = float(radius)
        self.scale = float(scale)

    def distribution(self, dim: int, like: torch.Tensor) -> Distribution:
        axes = torch.eye(dim, device=like.device, dtype=like.dtype) * self.radius
        locs = torch.cat([axes, -axes])  # [2d, d]
        components = Independent(
            Normal(locs, torch.full_like(locs, self.scale), validate_args=False), 1
        )
        weights = Categorical(logits=locs.new_zeros(2 * dim), validate_args=False)
        return MixtureSameFamily(weights, components, validate_args=False)
