"""Fingerprinting a model: encode the probe set and record the result.

Any model with ``encode(x) -> (mu, logvar)`` can be fingerprinted; nothing here depends on
the VAE class. Per-channel information (bits) follows Murphy, Dillavou & Bassett (TMLR
2025, Sec. 3): I(U) = −(1/N) Σ_i log2((1/N) Σ_j exp(−D_B(i, j))).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.record import Fingerprint
from infoprint.info import GaussianChannels, information

Encoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def encode_probe_set(
    encode: Encoder, images: np.ndarray, device: torch.device, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances [N, d] (float32) of the probe images."""
    mus, logvars = [], []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start : start + batch_size]).to(device)
        mu, logvar = encode(x)
        mus.append(mu.float().cpu())
        logvars.append(logvar.float().cpu())
    return torch.cat(mus).numpy(), torch.cat(logvars).numpy()


def channel_information(mu: np.ndarray, logvar: np.ndarray) -> list[float]:
    """Information (bits) of each channel about the probe set."""
    return information(GaussianChannels(mu, logvar), dtype=torch.float64).tolist()


def fingerprint_model(
    model: torch.nn.Module,
    probe: ProbeSet,
    meta: dict[str, Any],
    batch_size: int = 500,
    embedding: ProbeSet | None = None,
) -> Fingerprint:
    """Encode ``probe`` (and the optional ``embedding`` sample) with ``model`` in eval mode."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        mu, logvar = encode_probe_set(model.encode, probe.images, device, batch_size)
        if embedding is not None:
            e_mu, e_logvar = encode_probe_set(model.encode, embedding.images, device, batch_size)
    finally:
        model.train(was_training)
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
        fingerprint.embedding_mu, fingerprint.embedding_logvar = e_mu, e_logvar
        fingerprint.embedding_index = embedding.indices
    return fingerprint
