"""InfoGAN's networks: a generator G(z, c) and a discriminator D whose trunk Q shares.

Chen et al. 2016 (Sec. 5): Q shares all layers with D and adds one output layer for the
parameters of Q(c | x): here the mean and log-variance of every continuous code (a
factored Gaussian) and the logits of every categorical code. The layers are those of the
VAE nets (``infoprint.models.nets``, docs/architecture.md §9): the generator is
disentanglement_lib's deconv decoder (or an MLP), the discriminator its conv encoder (or
an MLP) with leaky-ReLU(0.2) activations. Stabilisation: spectral normalisation of every
discriminator layer but Q's output layer (Miyato et al. 2018) keeps D 1-Lipschitz per
layer; Q's layer stays free so its posteriors can sharpen. The conv generator
batch-normalises its hidden layers (DCGAN, Radford et al. 2016): without it G ignored its
inputs on 32 px sprites (no variation across a batch) and Q had nothing to recover.

Inputs of G, in order: noise z (``noise_dim``), the continuous codes (``latent_dim``,
the channels a fingerprint sees) and the one-hot categorical codes (``categorical``: the
number of categories of each).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from infoprint.models.nets import (
    activation_layer,
    check_square_image,
    conv_features,
    deconv_decoder,
    mlp,
    mlp_features,
)

_LEAKY = functools.partial(nn.LeakyReLU, 0.2)


def spectrally_normed(layers: Sequence[nn.Module]) -> list[nn.Module]:
    """``layers`` with spectral normalisation on every convolution and linear layer."""
    return [spectral_norm(m) if isinstance(m, nn.Conv2d | nn.Linear) else m for m in layers]


class GANNet(nn.Module):
    """Generator, discriminator trunk and the two heads: D's logit and Q's parameters.

    Subclasses build ``generator`` (inputs -> the likelihood's natural parameter, e.g.
    logits) and ``trunk`` (x -> ``features`` wide activations).
    """

    generator: nn.Module
    trunk: nn.Module

    def __init__(
        self,
        observation_shape: Sequence[int],
        latent_dim: int,
        noise_dim: int,
        categorical: Sequence[int],
        features: int,
        spectral: bool,
    ) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"net.latent_dim (continuous codes) must be >= 1, got {latent_dim}")
        if noise_dim < 0 or any(int(k) < 2 for k in categorical):
            raise ValueError(
                f"net.noise_dim must be >= 0 and every net.categorical code needs >= 2 "
                f"categories, got {noise_dim} and {list(categorical)}"
            )
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.latent_dim = int(latent_dim)
        self.noise_dim = int(noise_dim)
        self.categorical = tuple(int(k) for k in categorical)
        self.inputs = self.noise_dim + self.latent_dim + sum(self.categorical)
        d_head = nn.Linear(features, 1)
        self.d_head = spectral_norm(d_head) if spectral else d_head
        self.q_head = nn.Linear(features, 2 * self.latent_dim + sum(self.categorical))

    def generate(self, inputs: torch.Tensor) -> torch.Tensor:
        """G's output [B, *observation_shape] for inputs [B, ``inputs``]."""
        return self.generator(inputs).view(-1, *self.observation_shape)

    def discriminate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logit [B] ("real") and Q's output [B, 2 latent_dim + Σ categorical]."""
        h = self.trunk(x)
        return self.d_head(h).squeeze(-1), self.q_head(h)


class _Unflatten(nn.Module):
    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.view(-1, 64, self.side, self.side)


class ConvGAN(GANNet):
    """For square [C, S, S] images, S a multiple of 16 (64 and 32 px)."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        latent_dim: int = 5,
        noise_dim: int = 5,
        categorical: Sequence[int] = (),
        spectral: bool = True,
    ) -> None:
        channels, side = check_square_image(observation_shape, "gan_conv")
        super().__init__(observation_shape, latent_dim, noise_dim, categorical, 256, spectral)
        fc, conv = deconv_decoder(self.inputs, channels, side, batch_norm=True)
        self.generator = nn.Sequential(fc, _Unflatten(side // 16), conv)
        layers = conv_features(channels, side, _LEAKY)
        self.trunk = nn.Sequential(*(spectrally_normed(layers) if spectral else layers))


class MLPGAN(GANNet):
    """For any observation shape (vectors): hidden layers of ``hidden`` widths."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        latent_dim: int = 2,
        noise_dim: int = 2,
        categorical: Sequence[int] = (),
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        spectral: bool = True,
    ) -> None:
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"net.hidden must be a non-empty list of widths, got {hidden}")
        widths = [int(h) for h in hidden]
        super().__init__(
            observation_shape, latent_dim, noise_dim, categorical, widths[-1], spectral
        )
        size = int(torch.tensor(self.observation_shape).prod())
        self.generator = mlp([self.inputs, *reversed(widths)], activation_layer(activation), size)
        layers = [nn.Flatten(), *mlp_features([size, *widths], _LEAKY)]
        self.trunk = nn.Sequential(*(spectrally_normed(layers) if spectral else layers))
