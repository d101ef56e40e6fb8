"""The one model builder, and checkpoints that describe themselves.

See ``docs/architecture.md`` §9. A :class:`ModelSpec` is the resolved description of a
model in plain values: the module kind (``vae`` or ``infogan``), the objective, net,
likelihood and optimiser config nodes (each with its ``_target_``) and the observation
shape. :func:`build_model` turns it into the :class:`~infoprint.models.vae.VAE` or the
:class:`~infoprint.models.infogan.InfoGAN` (Chen et al. 2016); the kind comes from the
objective class's ``module`` attribute (default ``vae``), and a stored description without
one (every checkpoint written before InfoGANs) is a VAE. Training stores it in every checkpoint
(``hyper_parameters["model_spec"]``), so :func:`load_model` rebuilds a model from the
checkpoint file alone, loaded with ``weights_only=True``: no Hydra, no ``.hydra/``.

Targets must be classes. When a checkpoint is loaded they are resolved only inside
:data:`ALLOWED_TARGETS` (infoprint's models and torch's optimisers): a checkpoint cannot
name an arbitrary callable. A user's own config (training) may name any class.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from infoprint.models.gan_nets import GANNet
from infoprint.models.infogan import InfoGAN
from infoprint.models.vae import VAE
from infoprint.registry import Registry
from infoprint.store.checkpoint import CheckpointError, read_checkpoint

MODEL_SPEC_KEY = "model_spec"
ALLOWED_TARGETS = ("infoprint.models.", "torch.optim.")
DEFAULT_MODULE = "vae"


class ModelSpecError(ValueError):
    """A model description names something that cannot be built."""


class NoModelDescriptionError(CheckpointError):
    """A readable checkpoint without infoprint's model description: a model of another
    project (its own LightningModule), or an infoprint run from before descriptions were
    stored. infoprint cannot rebuild it; the caller says what to do instead."""


@dataclass(frozen=True)
class ModelSpec:
    """What a model is, in plain values (JSON- and ``weights_only``-safe)."""

    objective: dict[str, Any]
    net: dict[str, Any]
    likelihood: dict[str, Any]
    optim: dict[str, Any]
    observation_shape: tuple[int, ...]
    module: str = DEFAULT_MODULE

    @property
    def latent_dim(self) -> int:
        return int(self.net["latent_dim"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "net": self.net,
            "likelihood": self.likelihood,
            "optim": self.optim,
            "observation_shape": list(self.observation_shape),
            "module": self.module,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelSpec:
        missing = [
            k
            for k in ("objective", "net", "likelihood", "optim", "observation_shape")
            if k not in values
        ]
        if missing:
            raise ModelSpecError(f"model description lacks {missing}")
        return cls(
            objective=dict(values["objective"]),
            net=dict(values["net"]),
            likelihood=dict(values["likelihood"]),
            optim=dict(values["optim"]),
            observation_shape=tuple(int(s) for s in values["observation_shape"]),
            module=str(values.get("module", DEFAULT_MODULE)),
        )


def model_spec(
    objective: Mapping[str, Any],
    net: Mapping[str, Any],
    likelihood: Mapping[str, Any],
    optim: Mapping[str, Any],
    observation_shape: tuple[int, ...],
    dataset_size: int,
) -> ModelSpec:
    """A spec from resolved config nodes; ``dataset_size: null`` in the objective (β-TCVAE's
    minibatch-weighted sampling) becomes the training set's size, and the objective class's
    ``module`` attribute (default ``vae``) the module kind."""
    objective = dict(objective)
    cls = resolve_target(str(objective.get("_target_")), "model")
    if "dataset_size" in objective and objective["dataset_size"] is None:
        objective["dataset_size"] = int(dataset_size)
    return ModelSpec(
        objective=objective,
        net=dict(net),
        likelihood=dict(likelihood),
        optim={**optim, "_partial_": True},
        observation_shape=tuple(int(s) for s in observation_shape),
        module=str(getattr(cls, "module", DEFAULT_MODULE)),
    )


def build(node: Any, key: str, trusted: bool = True) -> Any:
    """Build a config node: dicts with ``_target_`` (and optional ``_partial_``) become
    objects, recursively; errors name the config ``key``. Untrusted nodes (from a
    checkpoint) may only name classes under :data:`ALLOWED_TARGETS`."""
    if isinstance(node, list):
        return [build(v, f"{key}[{i}]", trusted) for i, v in enumerate(node)]
    if not isinstance(node, Mapping):
        return node
    args = {k: build(v, f"{key}.{k}", trusted) for k, v in node.items() if not k.startswith("_")}
    if "_target_" not in node:
        return args
    cls = resolve_target(str(node["_target_"]), key, trusted)
    if node.get("_partial_"):
        return functools.partial(cls, **args)
    try:
        return cls(**args)
    except (TypeError, ValueError) as err:
        raise ModelSpecError(f"{key} ({node['_target_']}): {err}") from err


def resolve_target(target: str, key: str, trusted: bool = True) -> type:
    """The class named by ``target`` (untrusted: only within :data:`ALLOWED_TARGETS`)."""
    if not trusted and not target.startswith(ALLOWED_TARGETS):
        raise ModelSpecError(
            f"{key}._target_={target!r}: only classes under {', '.join(ALLOWED_TARGETS)} "
            f"can be built"
        )
    module_name, _, name = target.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        raise ModelSpecError(f"{key}._target_={target!r}: not found ({err})") from err
    if not inspect.isclass(obj):
        raise ModelSpecError(f"{key}._target_={target!r} is not a class")
    return obj


MODULES: Registry[type[VAE] | type[InfoGAN]] = Registry("model module")
"""The module kinds a spec can name (``ModelSpec.module``)."""
MODULES.add("vae", VAE)
MODULES.add("infogan", InfoGAN)


def build_model(spec: ModelSpec, trusted: bool = True) -> pl.LightningModule:
    """The module a spec describes, freshly initialised (torch's global RNG draws the
    weights): a :class:`VAE` or an :class:`InfoGAN`, by ``spec.module``.

    ``trusted=False`` for a spec read from a file (see :func:`build`)."""
    if spec.module not in MODULES:
        raise ModelSpecError(f"module {spec.module!r} is not one of {list(MODULES.names())}")
    net = build({**spec.net, "observation_shape": list(spec.observation_shape)}, "net", trusted)
    module_cls = MODULES[spec.module]
    if (module_cls is InfoGAN) != isinstance(net, GANNet):
        raise ModelSpecError(
            f"net._target_={spec.net.get('_target_')!r} does not fit model kind "
            f"{spec.module!r}: InfoGANs need a GAN net (net=gan_conv, net=gan_mlp), VAEs an "
            f"encoder/decoder net (net=conv, net=mlp)"
        )
    model = module_cls(
        net=net,
        objective=build(spec.objective, "model", trusted),
        likelihood=build(spec.likelihood, "likelihood", trusted),
        optim=build(spec.optim, "optim", trusted),
    )
    model.save_hyperparameters({MODEL_SPEC_KEY: spec.to_dict()}, logger=False)
    return model


def load_model(checkpoint: str | Path) -> pl.LightningModule:
    """Rebuild the model stored in ``checkpoint`` (weights_only; eval mode, on the CPU)."""
    path = Path(checkpoint)
    ckpt = read_checkpoint(path)
    values = (ckpt.get("hyper_parameters") or {}).get(MODEL_SPEC_KEY)
    if values is None:
        raise NoModelDescriptionError(
            f"{path}: holds no infoprint model description (hyper_parameters."
            f"{MODEL_SPEC_KEY}): it was not written by infoprint's training (a model of "
            f"another project), or by an infoprint from before descriptions were stored, so "
            f"infoprint cannot rebuild it. For traversals of such models set "
            f"traversals.loader=package.module:function (run dir -> your module); an old "
            f"infoprint run can be retrained, or resumed (rerun=resume) to write a new one"
        )
    try:
        model = build_model(ModelSpec.from_dict(values), trusted=False)
        model.load_state_dict(ckpt["state_dict"])
    except (ModelSpecError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"{path}: cannot rebuild its model ({err})") from err
    return model.eval()
