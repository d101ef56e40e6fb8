"""The analysis options, typed and checked once, when the config is composed.

One frozen dataclass per block of ``conf/analyze.yaml`` (``docs/architecture.md`` §10);
each checks itself on construction and its errors name the config key and the allowed
values. A block whose ``enabled`` is false is still checked (a typo in it is refused, not
ignored), and its step is left out. :meth:`AnalysisOptions.from_config` is called by the
Hydra callback :class:`infoprint.tasks.analyze.CheckOptions` before the run folder
exists, and again by :func:`infoprint.tasks.analyze.analyze` (which may be called without
Hydra).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from infoprint.analysis import checks
from infoprint.analysis.fusion import FusionOptions
from infoprint.analysis.measures import CHANNEL_MEASURES, DEFAULT_MEASURES, PRIMARY_MEASURE
from infoprint.errors import ConfigError
from infoprint.info import DEFAULT_MEMORY_BUDGET, FUSION_OBJECTIVES
from infoprint.info.baselines import MEASURES as BASELINE_MEASURES
from infoprint.info.device import resolve_device

DTYPES = {"float32": torch.float32, "float64": torch.float64}
# dryrun: W&B's older name for offline, which Lightning's WandbLogger(offline=True) puts in
# WANDB_MODE (an analysis started from such a job's process inherits it)
LOGGER_MODES = ("online", "offline", "dryrun", "disabled", "shared")
DEFAULT_PROJECT = "infoprint"
"""The analysis W&B run's project when neither the config nor the runs name one."""


@dataclass(frozen=True)
class ClusteringOptions:
    """OPTICS on the distance of each channel measure named (−ln NMI, VI: paper Sec. 4.1;
    :data:`~infoprint.analysis.measures.CHANNEL_MEASURES`); ``min_samples="auto"``: 0.4 × runs."""

    measures: Sequence[str] = DEFAULT_MEASURES
    min_samples: int | str = "auto"
    xi: float = 0.05

    def __post_init__(self) -> None:
        checks.subset("clustering.measures", self.measures, CHANNEL_MEASURES)
        k = self.min_samples
        if k != "auto" and (not isinstance(k, int) or isinstance(k, bool) or k < 2):
            raise ConfigError(
                f"clustering.min_samples must be 'auto' or an integer >= 2; got {k!r}"
            )
        checks.number("clustering.xi", self.xi, 0.0, strict=True)
        if self.xi >= 1:
            raise ConfigError(f"clustering.xi must be < 1; got {self.xi!r}")


@dataclass(frozen=True)
class EnsembleOptions:
    """How a study's runs split into ensembles (:mod:`infoprint.analysis.ensembles`):
    ``auto`` (the keys that vary, never the seed) or a list of run keys."""

    by: str | Sequence[str] = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.by, str):
            if self.by != "auto":
                raise ConfigError(
                    f"ensembles.by must be 'auto' or a list of run keys; got {self.by!r}"
                )
        elif not self.by or not all(isinstance(k, str) for k in self.by):
            raise ConfigError(
                f"ensembles.by must be 'auto' or a non-empty list of keys; got {self.by!r}"
            )


@dataclass(frozen=True)
class WholeSpaceOptions:
    """Monte Carlo comparison of whole latent spaces (paper Sec. 4.3)."""

    n_samples: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        checks.integer("whole_space.n_samples", self.n_samples, 1)
        checks.integer("whole_space.seed", self.seed, 0)


@dataclass(frozen=True)
class BaselineOptions:
    """Other similarity measures between runs next to whole-space NMI / VI (Sec. 4.1)."""

    measures: Sequence[str] = (
        "cka_linear",
        "cka_bhattacharyya",
        "rsa",
        "udr_spearman",
        "udr_lasso",
    )
    n_samples: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        checks.subset("baselines.measures", self.measures, BASELINE_MEASURES)
        checks.integer("baselines.n_samples", self.n_samples, 2)
        checks.integer("baselines.seed", self.seed, 0)


@dataclass(frozen=True)
class TrainingOptions:
    """The course of training from the runs' snapshots (paper Sec. 4.3): whole-space
    Monte Carlo samples per step, and the mean NMI at which a hotspot's members agree."""

    agreement: float = 0.5
    n_samples: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        checks.number("training.agreement", self.agreement, 0.0, strict=True)
        if self.agreement > 1:
            raise ConfigError(f"training.agreement must be <= 1; got {self.agreement!r}")
        checks.integer("training.n_samples", self.n_samples, 2)
        checks.integer("training.seed", self.seed, 0)


@dataclass(frozen=True)
class TraversalOptions:
    """Decode each hotspot's representative channel from ``n_bases`` probe points.

    ``loader``: ``package.module:function``, a function of the run directory (a Path)
    returning the run's torch module; None = infoprint rebuilds the run's ``last.ckpt``
    (runs of other projects are then skipped with a note). ``decoder``: the module's
    method mapping codes [n, d] to images [n, C, H, W]."""

    measure: str = PRIMARY_MEASURE
    n_bases: int = 3
    steps: int = 9
    loader: str | None = None
    decoder: str = "decode_mean"

    def __post_init__(self) -> None:
        checks.choice("traversals.measure", self.measure, CHANNEL_MEASURES)
        checks.integer("traversals.n_bases", self.n_bases, 1)
        checks.integer("traversals.steps", self.steps, 2)
        if not (isinstance(self.decoder, str) and self.decoder.isidentifier()):
            raise ConfigError(
                f"traversals.decoder must be the name of the module's decoding method, e.g. "
                f"decode_mean; got {self.decoder!r}"
            )
        if self.loader is not None:
            self.load_function()  # refused now, before any work, if it cannot be imported

    def load_function(self) -> Callable[[Path], Any]:
        """The function ``loader`` names, imported (ConfigError naming the key if it cannot)."""
        entry = self.loader
        module_name, _, function = entry.partition(":") if isinstance(entry, str) else ("", "", "")
        dotted = all(part.isidentifier() for part in module_name.split("."))
        if not (dotted and function.isidentifier()):
            raise ConfigError(
                f"traversals.loader must be package.module:function (a function taking the "
                f"run directory and returning its torch module) or null; got {entry!r}"
            )
        try:
            found = getattr(importlib.import_module(module_name), function)
        except ImportError as err:
            raise ConfigError(
                f"traversals.loader={entry}: cannot import {module_name} ({err}); is it "
                f"installed or on PYTHONPATH?"
            ) from err
        except AttributeError as err:
            raise ConfigError(
                f"traversals.loader={entry}: {module_name} has no {function}"
            ) from err
        if not callable(found):
            raise ConfigError(f"traversals.loader={entry}: {function} is not callable")
        return found


@dataclass(frozen=True)
class HotspotFusionOptions:
    """Each hotspot's channels fused into one (paper Sec. 4.4 on one hotspot); the other
    fields are the keyword arguments of :func:`infoprint.analysis.hotspot_fusion.fuse_hotspots`."""

    measure: str = PRIMARY_MEASURE
    objective: str = "exp_neg_vi"
    dim: int = 1
    steps: int = 45
    lr: float = 0.13
    max_members: int = 10
    """Fuse at most this many members: the hotspot's most central ones (smallest summed
    distance to the other members); the fusion's cost grows with the members."""

    def __post_init__(self) -> None:
        checks.integer("hotspot_fusion.max_members", self.max_members, 2)
        checks.choice("hotspot_fusion.measure", self.measure, CHANNEL_MEASURES)
        checks.choice("hotspot_fusion.objective", self.objective, FUSION_OBJECTIVES)
        checks.integer("hotspot_fusion.dim", self.dim, 1)
        checks.integer("hotspot_fusion.steps", self.steps, 0)
        checks.positive("hotspot_fusion.lr", self.lr)


@dataclass(frozen=True)
class LoggerOptions:
    """The analysis W&B run (``conf/logger/``); ``mode=disabled``: no run.

    ``project`` / ``entity`` None: those the analysed runs were logged to (see
    :meth:`for_runs`)."""

    project: str | None = None
    entity: str | None = None
    mode: str = "offline"
    tags: Sequence[str] = ()

    def __post_init__(self) -> None:
        checks.choice("logger.mode", self.mode, LOGGER_MODES)
        for key in ("project", "entity"):
            value = getattr(self, key)
            named = isinstance(value, str | int) and not isinstance(value, bool)
            if value is not None and not (named and str(value)):
                raise ConfigError(
                    f"logger.{key} must be a name or null (the runs' own); got {value!r}"
                )

    def for_runs(self, metas: Iterable[Mapping[str, Any]]) -> LoggerOptions:
        """These options with ``project`` and ``entity`` filled in from the runs' metadata
        (run.json ``wandb``): the project most of the runs were logged to (else
        :data:`DEFAULT_PROJECT`) and the entity most of that project's runs name; a value
        given in the config wins."""
        recorded = [
            w for m in metas if isinstance(w := m.get("wandb"), Mapping) and w.get("project")
        ]
        project = _given(self.project) or _most_common(str(w["project"]) for w in recorded)
        project = project or DEFAULT_PROJECT
        entity = _given(self.entity) or _most_common(
            str(w["entity"]) for w in recorded if str(w["project"]) == project and w.get("entity")
        )
        return replace(self, project=project, entity=entity)


def _given(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _most_common(values: Iterable[str]) -> str | None:
    """The most frequent value (the first seen among equals), None for none."""
    counts = Counter(values)
    return counts.most_common(1)[0][0] if counts else None


@dataclass(frozen=True)
class AnalysisOptions:
    """Every option of an analysis; an optional step's block is None when it is disabled."""

    information_threshold: float = 0.01
    device: str = "auto"
    dtype: str = "float32"
    memory_budget_mb: int = DEFAULT_MEMORY_BUDGET // 2**20
    cache: bool = True
    clustering: ClusteringOptions = ClusteringOptions()
    ensembles: EnsembleOptions = EnsembleOptions()
    whole_space: WholeSpaceOptions | None = None
    training: TrainingOptions | None = TrainingOptions()
    baselines: BaselineOptions | None = None
    traversals: TraversalOptions | None = TraversalOptions()
    hotspot_fusion: HotspotFusionOptions | None = HotspotFusionOptions()
    fusion: FusionOptions | None = None
    logger: LoggerOptions = LoggerOptions(mode="disabled")

    def __post_init__(self) -> None:
        checks.number("information_threshold", self.information_threshold, 0.0)
        checks.choice("dtype", self.dtype, DTYPES)
        checks.integer("memory_budget_mb", self.memory_budget_mb, 1)
        checks.flag("cache", self.cache)
        try:
            resolve_device(self.device)
        except ValueError as err:
            raise ConfigError(f"device: {err}") from err

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def memory_budget(self) -> int:
        """Working memory of the pairwise GEMMs, bytes."""
        return self.memory_budget_mb * 2**20

    def compute(self) -> dict[str, Any]:
        """``device`` and ``dtype`` for :mod:`infoprint.info` calls."""
        return {"device": self.device, "dtype": self.torch_dtype}

    @classmethod
    def from_config(cls, cfg: DictConfig) -> AnalysisOptions:
        """Check every analysis block of ``cfg``; the first bad option raises ConfigError."""
        block = _blocks(cfg)
        return cls(
            information_threshold=block["information_threshold"],
            device=block["device"],
            dtype=block["dtype"],
            memory_budget_mb=block["memory_budget_mb"],
            cache=block["cache"],
            clustering=checks.from_block(ClusteringOptions, block["clustering"], "clustering"),
            ensembles=checks.from_block(EnsembleOptions, block["ensembles"], "ensembles"),
            whole_space=_optional(WholeSpaceOptions, block, "whole_space"),
            training=_optional(TrainingOptions, block, "training"),
            baselines=_optional(BaselineOptions, block, "baselines"),
            traversals=_optional(TraversalOptions, block, "traversals"),
            hotspot_fusion=_optional(HotspotFusionOptions, block, "hotspot_fusion"),
            fusion=_optional(FusionOptions, block, "fusion", config_key="fusion"),
            logger=checks.from_block(LoggerOptions, block["logger"], "logger"),
        )


_KEYS = (
    "information_threshold",
    "device",
    "dtype",
    "memory_budget_mb",
    "cache",
    "clustering",
    "ensembles",
)
_BLOCKS = (
    "whole_space",
    "training",
    "baselines",
    "traversals",
    "hotspot_fusion",
    "fusion",
    "logger",
)


def _blocks(cfg: DictConfig) -> dict[str, Any]:
    """The analysis keys of ``cfg`` as plain values (not ``paths`` or ``hydra``: they need
    Hydra's runtime, which does not exist yet when the callback checks)."""
    missing = [k for k in (*_KEYS, *_BLOCKS) if k not in cfg]
    if missing:
        raise ConfigError(f"the analysis config lacks {missing} (see conf/analyze.yaml)")
    return {
        k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
        for k in (*_KEYS, *_BLOCKS)
    }


def _optional(cls: type, blocks: Mapping[str, Any], key: str, **extra: Any) -> Any:
    """The checked block ``key``, or None when its ``enabled`` is false."""
    block = dict(blocks[key])
    enabled = block.pop("enabled", False)
    checks.flag(f"{key}.enabled", enabled)
    options = checks.from_block(cls, block, key, **extra)
    return options if enabled else None
