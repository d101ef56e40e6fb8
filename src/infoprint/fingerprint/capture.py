"""Fingerprinting a model: encode the probe set and record the result.

Any model whose encoder maps ``x`` to ``(mu, logvar)`` or to a ``torch.distributions.Normal``
(diagonal Gaussian posterior; ``Independent(Normal)`` too) can be fingerprinted; nothing
here depends on the VAE class. Per-channel information (bits) follows Murphy, Dillavou &
Bassett (TMLR 2025, Sec. 3): I(U) = −(1/N) Σ_i log2((1/N) Σ_j exp(−D_B(i, j))).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import GaussianChannels, information
from infoprint.models.inference import Encoder, encode_in_batches, evaluating


class EncoderError(ValueError):
    """A model whose encoder does not give a diagonal Gaussian posterior per channel."""


def posterior_parameters(output: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mu, logvar)`` [n, d] of an encoder's output: a ``(mu, logvar)`` pair or a
    ``Normal`` (``Independent(Normal)``) distribution; trailing dimensions are flattened."""
    distribution = getattr(output, "base_dist", output)  # Independent(Normal(...))
    if isinstance(distribution, torch.distributions.Normal):
        mu, logvar = distribution.loc, 2.0 * torch.log(distribution.scale)
    elif isinstance(output, tuple | list) and len(output) == 2:
        mu, logvar = output
    else:
        raise EncoderError(
            f"{where} returned {type(output).__name__}; expected (mu, logvar) tensors or a "
            f"torch.distributions.Normal"
        )
    if not isinstance(mu, torch.Tensor) or not isinstance(logvar, torch.Tensor):
        kinds = f"({type(mu).__name__}, {type(logvar).__name__})"
        raise EncoderError(f"{where} returned {kinds}; expected two tensors (mu, logvar)")
    mu, logvar = torch.broadcast_tensors(mu, logvar)
    if mu.ndim < 2:
        raise EncoderError(f"{where} returned shape {tuple(mu.shape)}; expected [batch, d]")
    return mu.flatten(1), logvar.flatten(1)


def channel_information(mu: np.ndarray, logvar: np.ndarray) -> list[float]:
    """Information (bits) of each channel about the probe set."""
    return information(GaussianChannels(mu, logvar), dtype=torch.float64).tolist()


def fingerprint_encoder(
    encode: Encoder,
    probe: ProbeSet,
    meta: dict[str, Any],
    device: torch.device | str = "cpu",
    batch_size: int = 500,
    embedding: ProbeSet | None = None,
) -> Fingerprint:
    """Encode ``probe`` (and the optional ``embedding`` sample) with ``encode``, any
    ``x -> (mu, logvar)`` on ``device``: a trained run, a TorchScript file or a TensorFlow
    module alike."""
    mu, logvar = encode_in_batches(encode, probe.images, device, batch_size)
    meta = {
        **meta,
        "probe_digest": probe.digest,
        "probe_size": probe.size,
        "factor_names": list(probe.factor_names),
        "latent_dim": int(mu.shape[1]),
        "information_bits": channel_information(mu, logvar),
    }
    fingerprint = Fingerprint(
        mu=mu, logvar=logvar, probe_index=probe.indices, factors=probe.factors, meta=meta
    )
    if embedding is not None:
        e_mu, e_logvar = encode_in_batches(encode, embedding.images, device, batch_size)
        fingerprint.embedding_mu, fingerprint.embedding_logvar = e_mu, e_logvar
        fingerprint.embedding_index = embedding.indices
    return fingerprint


def fingerprint_model(
    model: torch.nn.Module,
    probe: ProbeSet,
    meta: dict[str, Any],
    batch_size: int = 500,
    embedding: ProbeSet | None = None,
    method: str = "encode",
) -> Fingerprint:
    """Fingerprint a torch model with its encoder ``method`` in eval mode, on its own device
    and in its own floating dtype (a ``trainer.precision=64-true`` run is float64)."""
    encode, device = model_encoder(model, method)
    with evaluating(model):
        return fingerprint_encoder(encode, probe, meta, device, batch_size, embedding)


def model_encoder(model: torch.nn.Module, method: str = "encode") -> tuple[Encoder, torch.device]:
    """``model.<method>`` as ``x -> (mu, logvar)``, taking inputs in the model's own
    floating dtype, and the model's device."""
    parameter = next(model.parameters())
    forward = getattr(model, method)
    where = f"{type(model).__name__}.{method}"

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return posterior_parameters(forward(x.to(parameter.dtype)), where)

    return encode, parameter.device
