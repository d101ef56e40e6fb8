"""Checks of analysis options: each failure is one message that names the config key.

Used by the option dataclasses (:mod:`infoprint.analysis.options`,
:class:`infoprint.analysis.fusion.FusionOptions`), so that ``python analyze.py
hotspot_fusion.lr=0`` is refused before any work with ``hotspot_fusion.lr must be > 0;
got 0`` (``docs/architecture.md`` §10).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import fields
from typing import Any, TypeVar

from infoprint.errors import ConfigError

T = TypeVar("T")


def choice(key: str, value: Any, allowed: Collection[Any]) -> None:
    """``value`` must be one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {sorted(allowed)}; got {value!r}")


def subset(key: str, values: Collection[Any], allowed: Collection[Any]) -> None:
    """``values`` must be a non-empty collection of names in ``allowed`` (a registry)."""
    if not values or set(values) - set(allowed):
        raise ConfigError(
            f"{key} must be a non-empty subset of {list(allowed)}; got {list(values)}"
        )


def integer(key: str, value: Any, low: int) -> None:
    """``value`` must be an integer (not a bool) of at least ``low``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{key} must be an integer >= {low}; got {value!r}")


def number(key: str, value: Any, low: float, *, strict: bool = False) -> None:
    """``value`` must be a real number >= ``low`` (> ``low`` when ``strict``)."""
    real = isinstance(value, int | float) and not isinstance(value, bool)
    if not real or not math.isfinite(value) or value < low or (strict and value == low):
        relation = ">" if strict else ">="
        raise ConfigError(f"{key} must be a number {relation} {low:g}; got {value!r}")


def positive(key: str, value: Any) -> None:
    """``value`` must be a real number > 0 (a learning rate, a scale)."""
    real = isinstance(value, int | float) and not isinstance(value, bool)
    if not real or not value > 0:
        raise ConfigError(f"{key} must be > 0; got {value!r}")


def flag(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false; got {value!r}")


def from_block(cls: type[T], block: Mapping[str, Any], key: str, **extra: Any) -> T:
    """``cls(**block, **extra)``, refusing keys ``cls`` does not have (named ``key.<name>``)."""
    names = {f.name for f in fields(cls) if f.init} - set(extra)  # type: ignore[arg-type]
    unknown = sorted(set(block) - names)
    if unknown:
        raise ConfigError(
            f"{key}: unknown option(s) {[f'{key}.{u}' for u in unknown]}; allowed: {sorted(names)}"
        )
    return cls(**block, **extra)
