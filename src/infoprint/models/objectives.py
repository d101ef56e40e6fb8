"""VAE objectives as one regulariser hook (``docs/architecture.md`` §9).

Every objective is ``loss = reconstruction + regulariser(posterior, step)``, the split
disentanglement_lib uses (Locatello et al. 2019): a model is one subclass of
:class:`Objective` plus one ``conf/model/*.yaml`` whose ``_target_`` names it. An
objective that trains a network of its own against the encoder (FactorVAE) subclasses
:class:`AdversarialObjective`; the VAE module then updates both with manual optimisation.

Formulas and defaults follow disentanglement_lib's ``methods/unsupervised/vae.py``; the
KL terms are in nats, summed over latent channels and averaged over the batch.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

Logs = dict[str, torch.Tensor]

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z | mu, exp(logvar)) (broadcasting)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


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

    def log_density(self) -> torch.Tensor:
        """log q(z_i,k | x_i) of each sample under its own posterior [B, d]."""
        return gaussian_log_density(self.z, self.mu, self.logvar)

    def pairwise_log_density(self, codes: torch.Tensor) -> torch.Tensor:
        """log q(c_m,k | x_j) of codes [M, d] under every posterior of the batch [M, B, d]."""
        return gaussian_log_density(codes[:, None, :], self.mu[None], self.logvar[None])


class Objective(nn.Module, ABC):
    """Regulariser hook: returns the regularisation term and scalars worth logging."""

    name: ClassVar[str]

    @abstractmethod
    def regulariser(self, posterior: Posterior, step: int) -> tuple[torch.Tensor, Logs]:
        """The term added to the reconstruction loss at ``step``, and extra logs."""


class AdversarialObjective(Objective):
    """An objective with an auxiliary network (its parameters) trained on the same batch.

    ``regulariser`` must not send gradients into the auxiliary network and
    ``adversary_loss`` must not send gradients into the encoder, so the VAE's and the
    adversary's optimisers each move only their own parameters.
    """

    @abstractmethod
    def adversary_loss(self, posterior: Posterior) -> tuple[torch.Tensor, Logs]:
        """The auxiliary network's loss on this batch's codes, and extra logs."""

    @abstractmethod
    def adversary_optimizer(self) -> torch.optim.Optimizer:
        """The optimiser of the auxiliary network's parameters."""


def check_non_negative(key: str, value: float) -> float:
    if value < 0:
        raise ValueError(f"model.{key} must be >= 0, got {value}")
    return float(value)


class BetaVAE(Objective):
    """β-VAE (Higgins et al. 2017, Eq. 4): β · KL(q(z|x) || p(z)); β = 1 is the plain VAE.

    With ``beta_start`` set, β falls linearly from ``beta_start`` at step 0 to ``beta`` at
    step ``beta_steps`` and stays there (logged as ``beta``): under a high β at first the
    latent channels open one factor at a time, the most informative first, which makes
    axis-aligned solutions more likely (issue 26's demo measurements, README).
    """

    name = "beta_vae"

    def __init__(
        self, beta: float = 1.0, beta_start: float | None = None, beta_steps: int = 0
    ) -> None:
        super().__init__()
        self.beta = check_non_negative("beta", beta)
        self.beta_start = None
        if beta_start is not None:
            self.beta_start = check_non_negative("beta_start", beta_start)
            if beta_steps < 1:
                raise ValueError(
                    f"model.beta_steps must be >= 1 when model.beta_start is set, got {beta_steps}"
                )
        self.beta_steps = int(beta_steps)

    def beta_at(self, step: int) -> float:
        """β at training step ``step``."""
        if self.beta_start is None:
            return self.beta
        left = max(0.0, 1.0 - step / self.beta_steps)
        return self.beta + (self.beta_start - self.beta) * left

    def regulariser(self, posterior: Posterior, step: int) -> tuple[torch.Tensor, Logs]:
        if self.beta_start is None:
            return self.beta * posterior.kl, {}
        beta = self.beta_at(step)
        return beta * posterior.kl, {"beta": posterior.kl.new_tensor(beta)}


class AnnealedVAE(Objective):
    """AnnealedVAE (Burgess et al. 2018, Eq. 8): γ |KL − C(t)|, C(t) = min(C_max, C_max t / T).

    ``t`` is the training step and ``T`` = ``iteration_threshold``; the capacity C(t) is
    logged as ``capacity`` (nats).
    """

    name = "annealed_vae"

    def __init__(
        self, gamma: float = 1000.0, c_max: float = 25.0, iteration_threshold: int = 100000
    ) -> None:
        super().__init__()
        if iteration_threshold < 1:
            raise ValueError(f"model.iteration_threshold must be >= 1, got {iteration_threshold}")
        self.gamma = check_non_negative("gamma", gamma)
        self.c_max = check_non_negative("c_max", c_max)
        self.iteration_threshold = int(iteration_threshold)

    def capacity(self, step: int) -> float:
        return min(self.c_max, self.c_max * step / self.iteration_threshold)

    def regulariser(self, posterior: Posterior, step: int) -> tuple[torch.Tensor, Logs]:
        capacity = posterior.kl.new_tensor(self.capacity(step))
        return self.gamma * (posterior.kl - capacity).abs(), {"capacity": capacity}


def total_correlation(posterior: Posterior, dataset_size: int) -> torch.Tensor:
    """TC(z) = E[log q(z) − Σ_k log q(z_k)] by minibatch-weighted sampling.

    Chen et al. 2018, Sec. 4.1: with M = batch size and N = dataset size,
    log q(z_i) ≈ log Σ_j q(z_i | x_j) − log(NM), and the same per channel for q(z_i,k).
    disentanglement_lib drops the constants, which shifts the estimate by (d − 1)·log(NM)
    and leaves its gradient unchanged; they are kept here so the logged TC is Chen et al.'s.
    """
    log_q = posterior.pairwise_log_density(posterior.z)  # [B, B, d]
    log_nm = math.log(dataset_size * log_q.shape[0])
    log_qz = torch.logsumexp(log_q.sum(2), dim=1) - log_nm
    log_qz_product = (torch.logsumexp(log_q, dim=1) - log_nm).sum(1)
    return (log_qz - log_qz_product).mean()


class BetaTCVAE(Objective):
    """β-TCVAE (Chen et al. 2018, Eq. 4 with α = γ = 1): KL + (β − 1) · TC.

    TC is estimated by minibatch-weighted sampling (:func:`total_correlation`), which
    needs the training set's size; ``train()`` fills ``dataset_size`` in from the dataset
    when the config leaves it null. The estimate is logged as ``tc`` (nats).
    """

    name = "beta_tcvae"

    def __init__(self, beta: float = 1.0, *, dataset_size: int) -> None:
        super().__init__()
        if dataset_size < 1:
            raise ValueError(f"model.dataset_size must be >= 1, got {dataset_size}")
        self.beta = check_non_negative("beta", beta)
        self.dataset_size = int(dataset_size)

    def regulariser(self, posterior: Posterior, step: int) -> tuple[torch.Tensor, Logs]:
        tc = total_correlation(posterior, self.dataset_size)
        return posterior.kl + (self.beta - 1.0) * tc, {"tc": tc}


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Covariance over the batch, E[x xᵀ] − E[x] E[x]ᵀ (divides by B, as disentanglement_lib)."""
    centred = x - x.mean(0)
    return centred.T @ centred / x.shape[0]


def dip_penalty(cov: torch.Tensor, lambda_od: float, lambda_d: float) -> torch.Tensor:
    """λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)² (Kumar et al. 2018, Eqs. 6-7)."""
    diagonal = cov.diagonal()
    off_diagonal = cov - torch.diag_embed(diagonal)
    return lambda_od * off_diagonal.pow(2).sum() + lambda_d * (diagonal - 1.0).pow(2).sum()


class DIPVAE(Objective):
    """DIP-VAE (Kumar et al. 2018): KL + DIP penalty on a covariance; λ_d = factor · λ_od.

    The subclass chooses the covariance; both log the penalty as ``dip``.
    """

    def __init__(self, lambda_od: float, lambda_d_factor: float) -> None:
        super().__init__()
        self.lambda_od = check_non_negative("lambda_od", lambda_od)
        self.lambda_d_factor = check_non_negative("lambda_d_factor", lambda_d_factor)

    @property
    def lambda_d(self) -> float:
        return self.lambda_d_factor * self.lambda_od

    @abstractmethod
    def covariance(self, posterior: Posterior) -> torch.Tensor:
        """The [d, d] covariance the penalty pushes towards the identity."""

    def regulariser(self, posterior: Posterior, step: int) -> tuple[torch.Tensor, Logs]:
        dip = dip_penalty(self.covariance(posterior), self.lambda_od, self.lambda_d)
        return posterior.kl + dip, {"dip": dip}


class DIPVAEI(DIPVAE):
    """DIP-VAE-I (Kumar et al. 2018, Eq. 6): penalise Cov_p(x)[μ(x)]."""

    name = "dip_vae_i"

    def __init__(self, lambda_od: float = 1.0, lambda_d_factor: float = 10.0) -> None:
        super().__init__(lambda_od, lambda_d_factor)

    def covariance(self, posterior: Posterior) -> torch.Tensor:
        return covariance(posterior.mu)


class DIPVAEII(DIPVAE):
    """DIP-VAE-II (Kumar et al. 2018, Eq. 7): penalise Cov[z] = E[Σ(x)] + Cov[μ(x)]."""

    name = "dip_vae_ii"

    def __init__(self, lambda_od: float = 1.0, lambda_d_factor: float = 1.0) -> None:
        super().__init__(lambda_od, lambda_d_factor)

    def covariance(self, posterior: Posterior) -> torch.Tensor:
        return covariance(posterior.mu) + torch.diag_embed(posterior.logvar.exp().mean(0))
