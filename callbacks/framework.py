"""The Lightning packages a callback of infoprint's plugs into.

Lightning ships as ``pytorch_lightning`` and as ``lightning`` (``lightning.pytorch``);
their classes are distinct, and a Trainer (and LightningCLI's type checks) accept only
callbacks of its own package. infoprint's drop-in callbacks derive from the ``Callback``
of each one installed, so the same class works in either, or in both side by side, and
they use only what the two share (``trainer.is_global_zero``, ``trainer.loggers``, ...).
"""

from __future__ import annotations

import importlib

FRAMEWORKS = ("pytorch_lightning", "lightning.pytorch")


def _callback_classes() -> tuple[type, ...]:
    found = []
    for name in FRAMEWORKS:
        try:
            found.append(importlib.import_module(name).Callback)
        except ImportError:
            continue
    if not found:
        raise ImportError("infoprint's callbacks need `lightning` or `pytorch_lightning`")
    return tuple(found)


CALLBACK_BASES: tuple[type, ...] = _callback_classes()
"""``Callback`` of every installed Lightning package (derive from all of them)."""
