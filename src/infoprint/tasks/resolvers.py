"""Config resolvers of infoprint (registered when ``infoprint.tasks.config``,
``infoprint.tasks.analyze`` or ``infoprint.cli`` is imported, before Hydra composes a
config that uses them).

``${analysis_dir:DEFAULT}``: where an analysis writes (``conf/analyze.yaml``,
``hydra.run.dir``): ``<path>/analysis`` beside the fingerprints when the source is a
directory given as one ``source.path`` (``source=dir``), else ``DEFAULT``
(``analysis/<timestamp>``: several paths, the latest sweep under ``source.root``, other
sources). The folder is a Hydra job named ``analyze``, which
:mod:`infoprint.sources.directory` never reads as a run, so the sweep can be analysed again.

``${fast_precision:}``: the training precision that is fastest here without changing
what is learned beyond rounding (``bench/training.py --levers``; fingerprints within
tolerance of float32, ``tests/integration/test_train.py``): ``bf16-mixed`` on a GPU and
on a CPU with bfloat16 matrix units (AVX512-BF16 or AMX: 1.5-1.7x the steps/s of float32
for the conv nets), ``32-true`` elsewhere, where CPU bfloat16 is emulated and slower. A
CPU whose oneDNN is held below the bfloat16 instructions (``ONEDNN_MAX_CPU_ISA=AVX2`` or
``AVX512_CORE``, as when another CPU's kernels are emulated) counts as one without them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

DIRECTORY_SOURCE = "infoprint.sources.directory.DirectorySource"
ANALYSIS_FOLDER = "analysis"


ONEDNN_BF16_ISAS = frozenset({
    "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX512_CORE_AMX",
    "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "ALL", "DEFAULT",
})  # fmt: skip
"""Values of ``ONEDNN_MAX_CPU_ISA`` that leave oneDNN its bfloat16 instructions."""


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles) and
    oneDNN may use them (``ONEDNN_MAX_CPU_ISA`` unset or at least ``AVX512_CORE_BF16``)."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap and cap not in ONEDNN_BF16_ISAS:
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def fast_precision() -> str:
    """``trainer.precision`` for ``${fast_precision:}`` (see the module docstring)."""
    if torch.cuda.is_available() or cpu_has_bf16_units():
        return "bf16-mixed"
    return "32-true"


def analysis_dir(default: str, *, _root_: DictConfig) -> str:
    """``hydra.run.dir`` of an analysis for ``${analysis_dir:DEFAULT}`` (module docstring)."""
    source: Any = OmegaConf.select(_root_, "source", default=None)
    if not OmegaConf.is_dict(source) or source.get("_target_") != DIRECTORY_SOURCE:
        return default
    path = source.get("path")
    if isinstance(path, str) and path.strip():
        return str(Path(path) / ANALYSIS_FOLDER)
    return default


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("fast_precision", fast_precision, replace=True)
    OmegaConf.register_new_resolver("analysis_dir", analysis_dir, replace=True)
