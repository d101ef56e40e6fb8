"""A pack: K VAEs of one model description trained together, as one vectorised model.

``docs/architecture.md`` §9 (packs). The members' parameters are stacked along a new
leading dimension (``torch.func.stack_module_state``) and the loss of every member is
computed by one ``vmap`` of :meth:`VAE.loss_terms` through ``functional_call``; the sum of
the members' losses is differentiated once, which gives every member the gradient of its
own loss (the members share no parameter). The optimiser is the run's own optimiser class
over the stacked tensors: for an elementwise optimiser (Adam, SGD, ...) a stacked tensor
of K members' parameters with a shared step count *is* K independent optimisers, so
member k follows exactly the updates it would get trained alone.

What a member needs to be the run ``seed=k`` trained alone is provided by the caller: the
initial weights (built after seeding with k), its own batches and its own sampling noise
(:class:`torch.Generator` states, one per member, drawn as the lone run draws from
torch's global generator).

Objectives with their own optimiser (:class:`AdversarialObjective`, FactorVAE's
discriminator) are refused: their adversary's step would need its own stacked
optimiser and a second vmapped backward through shuffled codes, which is not
implemented.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from infoprint.models.objectives import AdversarialObjective, Logs
from infoprint.models.vae import VAE, NonFiniteLossError, check_finite

# Optimisers whose update of a parameter element depends only on that element's gradient
# history (and a step count shared by all members): stacking is then exact.
ELEMENTWISE_OPTIMIZERS = (
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.Adamax,
    torch.optim.SGD,
    torch.optim.RMSprop,
    torch.optim.Adagrad,
)


PRECISIONS = {
    "32": torch.float32,
    "32-true": torch.float32,
    "64": torch.float64,
    "64-true": torch.float64,
}
"""``trainer.precision`` values a pack trains in (as Lightning's plugins: built in float32,
converted for 64)."""


class PackError(ValueError):
    """These models cannot be trained as one pack."""


def pack_dtype(precision: object) -> torch.dtype:
    """The dtype of a pack trained at ``trainer.precision`` ``precision``."""
    if str(precision) not in PRECISIONS:
        raise PackError(
            f"trainer.precision={precision}: packs train in 32-true or 64-true (mixed "
            f"precision is not implemented for packs); use pack=1"
        )
    return PRECISIONS[str(precision)]


class MembersFailed(RuntimeError):
    """Some members' losses are not finite at this step (no member was updated).

    ``errors`` maps each failed member's index in the pack to its
    :class:`~infoprint.models.vae.NonFiniteLossError`; :meth:`Pack.without` continues
    with the others.
    """

    def __init__(self, errors: dict[int, Exception]) -> None:
        super().__init__("; ".join(f"member {k}: {e}" for k, e in errors.items()))
        self.errors = errors


class _Loss(nn.Module):
    """``forward`` = the VAE's loss terms, so that ``functional_call`` can reach them."""

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, noise: torch.Tensor, step: int) -> tuple[Any, Logs]:
        result = self.vae.loss_terms(x, step, noise)
        return result.loss, result.logs


def check_packable_objective(objective: type) -> None:
    """Raise :class:`PackError` naming why models of ``objective`` cannot be packed."""
    if getattr(objective, "module", "vae") != "vae":
        raise PackError(
            f"{objective.__name__} is not a VAE objective; packs train only VAEs: use pack=1"
        )
    if issubclass(objective, AdversarialObjective):
        raise PackError(
            f"{objective.__name__} trains a network of its own with its own optimiser "
            f"(an adversary updated on the same batch); packs train only objectives whose "
            f"loss is one differentiable function of the VAE's parameters: use pack=1"
        )


def check_packable(model: nn.Module) -> None:
    """Raise :class:`PackError` naming why ``model`` cannot be a pack member."""
    if not isinstance(model, VAE):
        raise PackError(f"{type(model).__name__} is not a VAE; packs train only VAEs: use pack=1")
    check_packable_objective(type(model.objective))


class Pack:
    """K members trained in lockstep: ``step(x, noise, step)`` is one step of every member.

    ``models`` are freshly built (or restored) VAEs of one model description; their
    weights are copied into the stack. ``members()`` rebuilds ordinary :class:`VAE` modules
    holding each member's current weights, ``optimizer_state(k)`` member k's optimiser
    state in the layout its lone optimiser would have.
    """

    def __init__(self, models: Sequence[VAE], device: torch.device | str = "cpu") -> None:
        if not models:
            raise PackError("a pack needs at least one member")
        for model in models:
            check_packable(model)
        self.size = len(models)
        self._models = list(models)
        self._loss = _Loss(copy.deepcopy(models[0])).to("meta")
        params, self._buffers = stack_module_state([_Loss(m) for m in models])
        self._params = {k: p.detach().to(device).requires_grad_(True) for k, p in params.items()}
        self._buffers = {k: b.to(device) for k, b in self._buffers.items()}
        self.device = torch.device(device)
        net_names = [f"vae.net.{name}" for name, _ in models[0].net.named_parameters()]
        self._trained = [self._params[name] for name in net_names]
        self._trained_names = net_names
        self.optimizer = models[0].optim(self._trained)
        if type(self.optimizer) not in ELEMENTWISE_OPTIMIZERS:
            raise PackError(
                f"optim={type(self.optimizer).__name__}: packs stack elementwise optimisers "
                f"only ({', '.join(o.__name__ for o in ELEMENTWISE_OPTIMIZERS)}); use pack=1"
            )
        self._losses = vmap(self._member_loss, in_dims=(0, 0, 0, 0, None))

    def _member_loss(
        self, params: dict, buffers: dict, x: torch.Tensor, noise: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, Logs]:
        return functional_call(self._loss, (params, buffers), (x, noise, step))

    def step(self, x: torch.Tensor, noise: torch.Tensor, step: int) -> Logs:
        """One optimiser step of every member on its batch ``x[k]`` and noise ``noise[k]``.

        Returns the members' logs, each a tensor with the member along dimension 0; raises
        :class:`MembersFailed` (before any update) when some members' losses are not finite.
        """
        losses, logs = self._losses(self._params, self._buffers, x, noise, step)
        if not torch.isfinite(losses).all():
            errors = {}
            for k in (~torch.isfinite(losses)).nonzero().flatten().tolist():
                try:
                    check_finite({name: v[k] for name, v in logs.items()}, step)
                except NonFiniteLossError as err:
                    errors[k] = err
            raise MembersFailed(errors)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        self.optimizer.step()
        return logs

    def without(self, dropped: set[int]) -> Pack:
        """A pack of the other members, with their current weights and optimiser states."""
        keep = [k for k in range(self.size) if k not in dropped]
        models = self.members()
        pack = Pack([models[k] for k in keep], self.device)
        pack.load_optimizer_states([self.optimizer_state(k) for k in keep])
        return pack

    def member_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's ``VAE.state_dict()`` (copies)."""
        state = {**self._params, **self._buffers}
        return {name.removeprefix("vae."): t[k].detach().cpu().clone() for name, t in state.items()}

    def members(self) -> list[VAE]:
        """The members as ordinary VAEs holding their current weights."""
        for k, model in enumerate(self._models):
            model.load_state_dict(self.member_state_dict(k))
        return self._models

    def optimizer_state(self, k: int) -> dict[str, Any]:
        """Member k's optimiser state dict, as its lone optimiser over ``net.parameters()``
        would write it (step counts shared, moment tensors sliced)."""
        state = self.optimizer.state_dict()
        member = {
            index: {
                key: value[k].cpu().clone() if torch.is_tensor(value) and value.dim() > 0 else value
                for key, value in entry.items()
            }
            for index, entry in state["state"].items()
        }
        return {"state": member, "param_groups": copy.deepcopy(state["param_groups"])}

    def load_optimizer_states(self, states: Sequence[dict[str, Any]]) -> None:
        """Restore the stacked optimiser from each member's own state dict (a resume)."""
        if len(states) != self.size:
            raise PackError(f"{len(states)} optimiser states for a pack of {self.size}")
        stacked = {
            index: {
                key: torch.stack([s["state"][index][key] for s in states]).to(self.device)
                if torch.is_tensor(value) and value.dim() > 0
                else value
                for key, value in entry.items()
            }
            for index, entry in states[0]["state"].items()
        }
        self.optimizer.load_state_dict(
            {"state": stacked, "param_groups": copy.deepcopy(states[0]["param_groups"])}
        )
