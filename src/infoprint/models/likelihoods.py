"""Reconstruction terms: negative log-likelihood of x under the decoder output.

Each is summed over the dimensions of one observation and averaged over the batch by the
caller, as in disentanglement_lib (Locatello et al. 2019). The decoder output is the
distribution's natural parameter: logits (Bernoulli) or location (Gaussian, Laplace,
fixed scale). A likelihood is chosen like every other object, by ``_target_``
(``conf/likelihood/*.yaml``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import torch
import torch.nn.functional as F


class Likelihood(ABC):
    """p(x | decoder output): per-example negative log-likelihood and the mean output."""

    name: ClassVar[str]

    @abstractmethod
    def nll(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """Per-example negative log-likelihood [B] (nats), summed over dimensions."""

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        """The reconstruction a person looks at: the distribution's mean."""
        return output


class Bernoulli(Likelihood):
    """−log Bernoulli(x | sigmoid(logits)); x may be continuous in [0, 1]."""

    name = "bernoulli"

    def nll(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(output, x, reduction="none").flatten(1).sum(1)

    def mean(self, output: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(output)


class _FixedScale(Likelihood):
    def __init__(self, scale: float = 1.0) -> None:
        if not isinstance(scale, int | float) or isinstance(scale, bool) or not scale > 0:
            raise ValueError(f"likelihood.scale must be a positive number, got {scale!r}")
        self.scale = float(scale)


class Gaussian(_FixedScale):
    """−log N(x | loc, scale²), fixed scale."""

    name = "gaussian"

    def nll(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        z = ((x - output) / self.scale).flatten(1)
        return 0.5 * (z * z).sum(1) + z.shape[1] * (
            math.log(self.scale) + 0.5 * math.log(2 * math.pi)
        )


class Laplace(_FixedScale):
    """−log Laplace(x | loc, scale), fixed scale."""

    name = "laplace"

    def nll(self, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        z = ((x - output).abs() / self.scale).flatten(1)
        return z.sum(1) + z.shape[1] * math.log(2 * self.scale)
