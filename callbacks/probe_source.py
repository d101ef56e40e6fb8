"""Where the fingerprint callback finds its probe set's dataset and the model's encoder.

``docs/architecture.md`` §4. The dataset, first found wins: the callback's ``dataset``
argument; a ``fingerprint_dataset()`` method of the data module, then of the module; the
data module's training set (``train_dataloader().dataset``); without a data module, the
training loader given to ``fit`` (known when training starts). The encoder: the module's
method named by ``encoder`` (default ``encode``), returning ``(mu, logvar)`` or a
``torch.distributions.Normal``. A missing piece is a :class:`ContractError` that says what
to provide, raised at setup, before any training step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch.utils.data import IterableDataset

from infoprint.fingerprint.capture import EncoderError, model_encoder
from infoprint.fingerprint.probe import ProbeSet, ProbeSetError
from infoprint.models.inference import encode_in_batches, evaluating

HOOK = "fingerprint_dataset"
HOW = (
    f"give FingerprintCallback(dataset=...), define {HOOK}() on the data module or the "
    f"module (returning a map-style dataset whose items are x or (x, factors)), or train with "
    f"a data module whose train_dataloader() has a map-style dataset"
)


class ContractError(TypeError):
    """A fit the fingerprint callback cannot read; the message says what to provide."""


def hooked_dataset(trainer: Any, pl_module: Any, dataset: Any = None) -> Any:
    """The probe set's dataset known at setup, or None when only the training loader given
    to ``fit`` can tell (no data module)."""
    if dataset is not None:
        return _map_style(dataset, "FingerprintCallback(dataset=...)")
    datamodule = getattr(trainer, "datamodule", None)
    for owner in (datamodule, pl_module):
        hook = getattr(owner, HOOK, None)
        if callable(hook):
            return _map_style(hook(), f"{type(owner).__name__}.{HOOK}()")
    if datamodule is not None:
        loader = datamodule.train_dataloader()
        where = f"{type(datamodule).__name__}.train_dataloader().dataset"
        return _map_style(getattr(loader, "dataset", None), where)
    return None


def loader_dataset(trainer: Any) -> Any:
    """The dataset of the training loader given to ``fit`` (once training starts)."""
    loader = trainer.train_dataloader
    return _map_style(getattr(loader, "dataset", None), "the training loader's dataset")


def _map_style(dataset: Any, where: str) -> Any:
    if dataset is None or isinstance(dataset, IterableDataset) or not hasattr(dataset, "__len__"):
        kind = "nothing" if dataset is None else type(dataset).__name__
        raise ContractError(
            f"FingerprintCallback: {where} is {kind}, not a map-style dataset (len and "
            f"indexing) to draw the probe set from; {HOW}"
        )
    return dataset


def check_encoder(pl_module: Any, method: str, probe: ProbeSet) -> None:
    """Run the encoder on two probe points now, so a wrong contract fails before training."""
    forward = getattr(pl_module, method, None)
    where = f"{type(pl_module).__name__}.{method}"
    if not callable(forward):
        raise ContractError(
            f"FingerprintCallback: {type(pl_module).__name__} has no method {method!r}; define "
            f"{method}(x) returning (mu, logvar) or a torch.distributions.Normal, or name the "
            f"encoder method with FingerprintCallback(encoder=...)"
        )
    encode, device = model_encoder(pl_module, method)
    try:
        with evaluating(pl_module):
            mu, logvar = encode_in_batches(encode, probe.images[:2], device)
    except (EncoderError, ProbeSetError) as err:
        raise ContractError(f"FingerprintCallback: {err}") from None
    except (RuntimeError, TypeError, ValueError) as err:
        raise ContractError(
            f"FingerprintCallback: {where} failed on probe items of shape "
            f"{list(probe.images.shape[1:])} ({type(err).__name__}: {err})"
        ) from err
    if not (np.isfinite(mu).all() and np.isfinite(logvar).all()):
        raise ContractError(f"FingerprintCallback: {where} gave non-finite (mu, logvar)")
