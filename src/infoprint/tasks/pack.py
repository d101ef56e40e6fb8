"""Train the members of a pack: the runs ``seed=s`` for several seeds, in one process.

``docs/architecture.md`` §9 (packs). Member s is prepared exactly as :func:`train` prepares
the lone run ``seed=s``: ``pl.seed_everything(s)``, then the data module and the model
(:func:`infoprint.tasks.train.build`), then the training loader's iterator, whose creation
draws from torch's global generator as Lightning's does. The state of torch's generator
at that point becomes the member's own :class:`torch.Generator`, from which its
reparameterisation noise is drawn, step by step, as the lone run draws it. The stacked
step itself is :class:`infoprint.models.pack.Pack`.

Precision: ``trainer.precision`` 32 (default) or 64 (``64-true``: the members are built in
float32 and converted, as Lightning's double precision plugin does); packs refuse mixed
precision.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from infoprint.models.pack import Pack, PackError
from infoprint.models.vae import VAE
from infoprint.run.context import RunContext
from infoprint.tasks.train import build

_DTYPES = {"32": torch.float32, "32-true": torch.float32, "64": torch.float64,
           "64-true": torch.float64}  # fmt: skip


@dataclass
class Member:
    """One run of a pack: its config, model, context, batches and noise generator."""

    cfg: DictConfig
    model: VAE
    context: RunContext
    datamodule: pl.LightningDataModule
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]]
    generator: torch.Generator


def member_config(cfg: DictConfig, seed: int) -> DictConfig:
    """``cfg`` with ``seed`` replaced (a copy)."""
    member = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(member):
        member.seed = int(seed)
    return member


def precision_dtype(cfg: DictConfig) -> torch.dtype:
    precision = str(OmegaConf.select(cfg, "trainer.precision", default="32-true"))
    if precision not in _DTYPES:
        raise PackError(
            f"trainer.precision={precision}: packs train in 32-true or 64-true; use pack=1"
        )
    return _DTYPES[precision]


def prepare_member(cfg: DictConfig) -> Member:
    """The lone run's start for ``cfg.seed``: seeded, built, its loader started."""
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    datamodule, model, context = build(cfg)
    batches = iter(datamodule.train_dataloader())
    generator = torch.Generator()
    generator.set_state(torch.get_rng_state())
    model.to(precision_dtype(cfg)).train()
    return Member(cfg, model, context, datamodule, batches, generator)


def train_members(members: Sequence[Member], max_steps: int) -> Pack:
    """Train ``members`` together for ``max_steps`` steps; returns the pack."""
    dtype = precision_dtype(members[0].cfg)
    pack = Pack([m.model for m in members])
    latent = members[0].model.latent_dim
    generators = [m.generator for m in members]
    for step in range(max_steps):
        x = torch.stack([next(m.batches)[0] for m in members]).to(dtype)
        shape = (x.shape[1], latent)
        noise = torch.stack([torch.randn(shape, dtype=dtype, generator=g) for g in generators])
        pack.step(x, noise, step)
    pack.members()
    return pack
