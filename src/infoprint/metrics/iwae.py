"""Importance-weighted (IWAE) estimate of log p(x) (Burda, Grosse & Salakhutdinov 2016).

With ``K`` samples ``z_1..z_K ~ q(z | x)`` and log weights
``log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x)``::

    L_K(x) = log (1/K) sum_k w_k = logsumexp_k(log w_k) - log K      (nats)

``E[L_K]`` is a lower bound on ``log p(x)`` that never decreases in ``K``, equals the ELBO
for ``K = 1`` and tends to ``log p(x)`` as ``K -> infinity`` (Burda et al., Thm. 1). For
the *same* samples, ``L_K >= mean_k log w_k`` (Jensen), the Monte Carlo ELBO.

:func:`iwae_log_likelihood` is the pure estimator on given log densities (torch tensors
or numpy arrays). :func:`iwae_estimate` draws the samples for a VAE with a diagonal
Gaussian encoder and a standard normal prior, given an ``encode`` callable
``x -> (mu, logvar)`` and a ``log_likelihood`` callable ``(x, z) -> log p(x | z)``; it uses
torch (no Lightning). Typical use with a Bernoulli decoder::

    est = iwae_estimate(x, model.encode,
                        lambda x, z: bernoulli_log_likelihood(model.decode(z), x),
                        num_samples=1000)
    est.log_px.mean()   # nats per image

Reference: Y. Burda, R. Grosse, R. Salakhutdinov. "Importance weighted autoencoders."
ICLR 2016.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "IWAEEstimate",
    "bernoulli_log_likelihood",
    "diagonal_gaussian_log_prob",
    "elbo_from_log_weights",
    "iwae_estimate",
    "iwae_from_log_weights",
    "iwae_log_likelihood",
    "standard_normal_log_prob",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _as_tensor(x: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, bool]:
    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), True


def iwae_from_log_weights(
    log_weights: torch.Tensor | np.ndarray, dim: int = 0
) -> torch.Tensor | np.ndarray:
    """``logsumexp(log_weights, dim) - log K`` with ``K = log_weights.shape[dim]``."""
    lw, was_numpy = _as_tensor(log_weights)
    k = lw.shape[dim]
    if k < 1:
        raise ValueError("need at least one importance sample")
    out = torch.logsumexp(lw, dim=dim) - math.log(k)
    return out.numpy() if was_numpy else out


def elbo_from_log_weights(
    log_weights: torch.Tensor | np.ndarray, dim: int = 0
) -> torch.Tensor | np.ndarray:
    """Monte Carlo ELBO: the mean of the log weights over the sample dimension."""
    lw, was_numpy = _as_tensor(log_weights)
    out = lw.mean(dim=dim)
    return out.numpy() if was_numpy else out


def iwae_log_likelihood(
    log_px_given_z: torch.Tensor | np.ndarray,
    log_pz: torch.Tensor | np.ndarray,
    log_qz_given_x: torch.Tensor | np.ndarray,
    dim: int = 0,
) -> torch.Tensor | np.ndarray:
    """IWAE estimate of ``log p(x)`` in nats from per-sample log densities.

    All three arrays have the importance samples along ``dim`` (e.g. shape ``[K, B]`` for
    ``B`` data points); returns the estimate with ``dim`` reduced (e.g. ``[B]``). Numpy in,
    numpy out; tensors in, tensor out.
    """
    a, np_a = _as_tensor(log_px_given_z)
    b, _ = _as_tensor(log_pz)
    c, _ = _as_tensor(log_qz_given_x)
    out = iwae_from_log_weights(a + b - c, dim=dim)
    assert isinstance(out, torch.Tensor)
    return out.numpy() if np_a else out


def diagonal_gaussian_log_prob(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """``log N(z; mu, diag(exp(logvar)))`` summed over the last dimension."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar)).sum(-1)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over the last dimension."""
    return -0.5 * (_LOG_2PI + z**2).sum(-1)


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log p(x | z)`` for a Bernoulli decoder with ``logits``, summed per example."""
    ll = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return ll.reshape(ll.shape[0], -1).sum(-1)


@dataclass(frozen=True)
class IWAEEstimate:
    """Per-example estimates (nats): ``log_px`` (IWAE, K samples) and ``elbo`` (same
    samples' mean log weight); ``log_weights`` ``[K, B]`` when kept."""

    log_px: torch.Tensor
    elbo: torch.Tensor
    log_weights: torch.Tensor | None = None


@torch.no_grad()
def iwae_estimate(
    x: torch.Tensor,
    encode: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    log_likelihood: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    num_samples: int,
    *,
    max_batch: int = 4096,
    generator: torch.Generator | None = None,
    keep_log_weights: bool = False,
) -> IWAEEstimate:
    """IWAE estimate of ``log p(x)`` for each example of a batch ``x [B, ...]``.

    ``encode(x) -> (mu [B, d], logvar [B, d])`` gives ``q(z | x)``; the prior is
    ``N(0, I)``; ``log_likelihood(x_rep [n, ...], z [n, d]) -> [n]`` gives
    ``log p(x | z)`` row by row. Samples are drawn in chunks of at most ``max_batch`` rows
    (``x`` repeated), so memory stays bounded for large ``num_samples``.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1; got {num_samples}")
    mu, logvar = encode(x)
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[0] != x.shape[0]:
        raise ValueError(
            f"encode must return (mu, logvar) of shape [B, d] with B={x.shape[0]}; got "
            f"{tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    b, d = mu.shape
    std = torch.exp(0.5 * logvar)
    per_chunk = max(1, max_batch // b)
    lse = torch.full((b,), -math.inf, dtype=mu.dtype, device=mu.device)
    total = torch.zeros((b,), dtype=mu.dtype, device=mu.device)
    kept = []
    done = 0
    while done < num_samples:
        k = min(per_chunk, num_samples - done)
        eps = torch.randn((k, b, d), generator=generator, dtype=mu.dtype, device=mu.device)
        z = mu + std * eps
        log_q = diagonal_gaussian_log_prob(z, mu, logvar)
        log_p = standard_normal_log_prob(z)
        x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * b, *x.shape[1:])
        log_lik = log_likelihood(x_rep, z.reshape(k * b, d)).reshape(k, b)
        log_w = log_lik + log_p - log_q
        # Streaming logsumexp and sum, so memory does not grow with num_samples.
        lse = torch.logaddexp(lse, torch.logsumexp(log_w, dim=0))
        total = total + log_w.sum(dim=0)
        if keep_log_weights:
            kept.append(log_w)
        done += k
    return IWAEEstimate(
        log_px=lse - math.log(num_samples),
        elbo=total / num_samples,
        log_weights=torch.cat(kept, dim=0) if keep_log_weights else None,
    )
