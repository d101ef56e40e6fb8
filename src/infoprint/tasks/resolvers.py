"""Config resolvers of infoprint (registered when ``infoprint.tasks.config`` is imported).

``${fast_precision:}``: the training precision that is fastest here without changing
what is learned beyond rounding (``bench/training.py --levers``; fingerprints within
tolerance of float32, ``tests/integration/test_train.py``): ``bf16-mixed`` on a GPU and
on a CPU with bfloat16 matrix units (AVX512-BF16 or AMX: 1.5-1.7x the steps/s of float32
for the conv nets), ``32-true`` elsewhere, where CPU bfloat16 is emulated and slower.
"""

from __future__ import annotations

import torch
from omegaconf import OmegaConf


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def fast_precision() -> str:
    """``trainer.precision`` for ``${fast_precision:}`` (see the module docstring)."""
    if torch.cuda.is_available() or cpu_has_bf16_units():
        return "bf16-mixed"
    return "32-true"


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("fast_precision", fast_precision, replace=True)
