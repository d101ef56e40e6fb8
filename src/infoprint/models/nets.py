"""Encoder/decoder architectures.

``ConvNet`` follows disentanglement_lib's ``conv_encoder`` / ``deconv_decoder``
(Locatello et al. 2019; docs/architecture.md §9): conv 32-32-64-64 (k4 s2, k4 s2, k2 s2,
k2 s2), fc 256, then mu and logvar; the decoder mirrors it with fc 256, fc 64·s·s and
four k4 s2 transposed convolutions. It adapts to square inputs whose side is a multiple of 16
(64 px -> 4x4 features, 32 px -> 2x2) and to 1 or 3 channels.

``MLPNet`` flattens any observation shape: hidden layers of configurable width and
activation (disentanglement_lib's ``fc_encoder`` is 1200-1200 ReLU; the paper's ring
experiment uses 2 x 256 tanh).

``Discriminator`` is FactorVAE's density-ratio classifier on latent codes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence

import torch
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU}


def activation_layer(name: str) -> type[nn.Module]:
    if name not in _ACTIVATIONS:
        raise ValueError(f"net.activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


def mlp_features(widths: Sequence[int], activation: Callable[[], nn.Module]) -> list[nn.Module]:
    """Linear layers through ``widths`` with ``activation`` after each."""
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), activation()]
    return layers


def mlp(widths: Sequence[int], activation: Callable[[], nn.Module], out: int) -> nn.Sequential:
    """Linear layers through ``widths`` with ``activation`` after each, then a linear ``out``."""
    return nn.Sequential(*mlp_features(widths, activation), nn.Linear(widths[-1], out))


def check_square_image(observation_shape: Sequence[int], net: str) -> tuple[int, int]:
    """(channels, side) of a square image shape whose side is a multiple of 16."""
    if len(observation_shape) != 3 or observation_shape[1] != observation_shape[2]:
        raise ValueError(
            f"net={net} needs square images [C, S, S], got observation_shape "
            f"{tuple(observation_shape)}; use an MLP net (net=mlp, net=gan_mlp) for other shapes"
        )
    channels, side = int(observation_shape[0]), int(observation_shape[1])
    if side % 16 or side < 16:
        raise ValueError(f"net={net} needs an image side that is a multiple of 16, got {side}")
    return channels, side


def conv_features(
    channels: int, side: int, activation: Callable[[], nn.Module] = nn.ReLU
) -> list[nn.Module]:
    """disentanglement_lib's conv encoder up to its fc 256 layer and activation."""
    return [
        nn.Conv2d(channels, 32, 4, 2, 1), activation(),
        nn.Conv2d(32, 32, 4, 2, 1), activation(),
        nn.Conv2d(32, 64, 2, 2), activation(),
        nn.Conv2d(64, 64, 2, 2), activation(),
        nn.Flatten(),
        nn.Linear(64 * (side // 16) ** 2, 256), activation(),
    ]  # fmt: skip


def deconv_decoder(
    inputs: int, channels: int, side: int, batch_norm: bool = False
) -> tuple[nn.Sequential, nn.Sequential]:
    """disentanglement_lib's deconv decoder: (fc part, transposed-conv part); the fc part's
    output is viewed as [64, side/16, side/16] between them. ``batch_norm`` puts batch
    normalisation before every hidden activation (a DCGAN generator, Radford et al. 2016)."""
    features = 64 * (side // 16) ** 2

    def hidden(layer: nn.Module, width: int, norm: type[nn.Module]) -> list[nn.Module]:
        return [layer, norm(width), nn.ReLU()] if batch_norm else [layer, nn.ReLU()]

    fc = nn.Sequential(
        *hidden(nn.Linear(inputs, 256), 256, nn.BatchNorm1d),
        *hidden(nn.Linear(256, features), features, nn.BatchNorm1d),
    )
    conv = nn.Sequential(
        *hidden(nn.ConvTranspose2d(64, 64, 4, 2, 1), 64, nn.BatchNorm2d),
        *hidden(nn.ConvTranspose2d(64, 32, 4, 2, 1), 32, nn.BatchNorm2d),
        *hidden(nn.ConvTranspose2d(32, 32, 4, 2, 1), 32, nn.BatchNorm2d),
        nn.ConvTranspose2d(32, channels, 4, 2, 1),
    )
    return fc, conv


class ConvNet(nn.Module):
    """Conv encoder and transposed-conv decoder for [C, S, S] images, S a multiple of 16.

    ``channels_last``: the conv weights in channels-last memory layout, which makes
    oneDNN's CPU convolutions take their channels-last kernels (``bench/training.py
    --levers``: 1.07× the steps/s at 32 px, 1.12× at 64 px, one thread); the numbers differ
    from the contiguous layout's only by rounding. Images stay as they come: converting
    them inside ``vmap`` (packs) is not supported by torch.
    """

    def __init__(
        self, observation_shape: Sequence[int], latent_dim: int = 10, channels_last: bool = True
    ) -> None:
        super().__init__()
        channels, side = check_square_image(observation_shape, "conv")
        if latent_dim < 1:
            raise ValueError(f"net.latent_dim must be >= 1, got {latent_dim}")
        self.observation_shape = (channels, side, side)
        self.latent_dim = latent_dim
        self._feature_side = side // 16
        self.encoder = nn.Sequential(*conv_features(channels, side), nn.Linear(256, 2 * latent_dim))
        self.decoder_fc, self.decoder_conv = deconv_decoder(latent_dim, channels, side)
        self.channels_last = bool(channels_last)
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_fc(z).view(-1, 64, self._feature_side, self._feature_side)
        return self.decoder_conv(h)


class MLPNet(nn.Module):
    """Fully connected encoder/decoder for any observation shape."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        latent_dim: int = 10,
        hidden: Sequence[int] = (1200, 1200),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"net.latent_dim must be >= 1, got {latent_dim}")
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"net.hidden must be a non-empty list of widths, got {hidden}")
        act = activation_layer(activation)
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.latent_dim = latent_dim
        size = int(torch.tensor(self.observation_shape).prod())
        widths = [int(h) for h in hidden]
        self.encoder = mlp([size, *widths], act, 2 * latent_dim)
        self.decoder = mlp([latent_dim, *reversed(widths)], act, size)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).view(-1, *self.observation_shape)


class Discriminator(nn.Module):
    """FactorVAE's discriminator: ``layers`` × ``hidden`` leaky-ReLU(0.2), then 2 logits.

    Kim & Mnih 2018 (Sec. 3 and App.) and disentanglement_lib's ``fc_discriminator``
    (6 × 1000). Logit 0 is "a code from q(z)", logit 1 "a code from Π_k q(z_k)".
    """

    def __init__(
        self, latent_dim: int, hidden: int = 1000, layers: int = 6, negative_slope: float = 0.2
    ) -> None:
        super().__init__()
        if latent_dim < 1 or hidden < 1 or layers < 1:
            raise ValueError(
                f"the discriminator needs latent_dim, hidden and layers >= 1, got "
                f"{latent_dim}, {hidden}, {layers}"
            )
        activation = functools.partial(nn.LeakyReLU, negative_slope)
        self.net = mlp([latent_dim] + [hidden] * layers, activation, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
