"""Reconstruction terms: negative log-likelihood of x under the decoder output.

Each is summed over the dimensions of one observation and averaged over the batch, as in
disentanglement_lib (Locatello et al. 2019). The decoder output is the distribution's
natural parameter: logits (Bernoulli) or location (Gaussian, Laplace, fixed scale).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def bernoulli(x: torch.Tensor, logits: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """−log Bernoulli(x | sigmoid(logits)); x may be continuous in [0, 1]."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian(x: torch.Tensor, loc: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """−log N(x | loc, scale²), fixed scale."""
    z = ((x - loc) / scale).flatten(1)
    return 0.5 * (z * z).sum(1) + z.shape[1] * (math.log(scale) + 0.5 * math.log(2 * math.pi))


def laplace(x: torch.Tensor, loc: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """−log Laplace(x | loc, scale), fixed scale."""
    z = ((x - loc).abs() / scale).flatten(1)
    return z.sum(1) + z.shape[1] * math.log(2 * scale)


LIKELIHOODS = {"bernoulli": bernoulli, "gaussian": gaussian, "laplace": laplace}


def mean_output(name: str, output: torch.Tensor) -> torch.Tensor:
    """The reconstruction a person looks at: sigmoid(logits) or the location."""
    return torch.sigmoid(output) if name == "bernoulli" else output


def reconstruction_loss(
    name: str, x: torch.Tensor, output: torch.Tensor, scale: float = 1.0
) -> torch.Tensor:
    """Per-example negative log-likelihood [B] under the named likelihood."""
    if name not in LIKELIHOODS:
        raise ValueError(f"likelihood.name must be one of {sorted(LIKELIHOODS)}, got {name!r}")
    return LIKELIHOODS[name](x, output, scale)
