"""Device resolution for the information maths.

``"auto"`` picks CUDA when available and the CPU otherwise: the engine runs on the GPU when
one is present (docs/architecture.md §6). Apple MPS is never chosen automatically because
it lacks float64.
"""

from __future__ import annotations

import torch

DeviceLike = str | torch.device | None

__all__ = ["DeviceLike", "resolve_device"]


def resolve_device(device: DeviceLike = "auto") -> torch.device:
    """Turn ``"auto"`` / ``None`` / a name / a :class:`torch.device` into a usable device.

    Raises:
        ValueError: if the name is not a device, or a CUDA device is requested on a machine
            without one (the message says which devices are available).
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device={device!r} is not a device; expected 'auto', 'cpu', 'cuda' or 'cuda:<k>'"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} requested but CUDA is not available; use 'auto' or 'cpu'"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} requested but only {torch.cuda.device_count()} CUDA "
                "device(s) exist"
            )
    return dev
