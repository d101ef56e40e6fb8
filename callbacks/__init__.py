"""infoprint's callbacks: the plugin's boundary with a user's project.

``infoprint.callbacks.FingerprintCallback``: the Lightning callback to list in any
project's callbacks (plain arguments; it finds the run, the probe set and the encoder at
setup). ``infoprint.callbacks.AnalyzeSweep``: the Hydra callback that analyses a sweep
when it ends. The others (``LastCheckpoint``, ``MetricsCallback``, ``ImagesCallback``,
``Progress``, ``FinishRun``) serve infoprint's own training. Imported on first use, so
that naming one in a config does not load every framework.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "FingerprintCallback": "fingerprint",
    "AnalyzeSweep": "sweep",
    "LastCheckpoint": "checkpoint",
    "MetricsCallback": "metrics",
    "ImagesCallback": "images",
    "Progress": "progress",
    "FinishRun": "job",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'infoprint.callbacks' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
