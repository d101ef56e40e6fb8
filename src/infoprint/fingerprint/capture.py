"""Fingerprinting a model: encode the probe set and record the result.

Any model with ``encode(x) -> (mu, logvar)`` can be fingerprinted; nothing here depends on
the VAE class. Per-channel information (bits) follows Murphy, Dillavou & Bassett (TMLR
2025, Sec. 3): I(U) = −(1/N) Σ_i log2((1/N) Σ_j exp(−D_B(i, j))).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import GaussianChannels, information
from infoprint.models.inference import Encoder, encode_in_batches, evaluating


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
) -> Fingerprint:
    """Fingerprint a torch model with ``encode`` in eval mode, on its own device and in its
    own floating dtype (a ``trainer.precision=64-true`` run is float64)."""
    encode, device = model_encoder(model)
    with evaluating(model):
        return fingerprint_encoder(encode, probe, meta, device, batch_size, embedding)


def model_encoder(model: torch.nn.Module) -> tuple[Encoder, torch.device]:
    """``model.encode`` taking images in the model's own dtype, and the model's device."""
    parameter = next(model.parameters())

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return model.encode(x.to(parameter.dtype))

    return encode, parameter.device
