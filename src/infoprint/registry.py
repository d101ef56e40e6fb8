"""One registry pattern for every pluggable kind chosen by name (``docs/architecture.md`` §2).

A kind (metrics, channel measures, baseline similarity measures, fusion objectives,
divergences, model modules) keeps its entries in one :class:`Registry`, filled where each
entry is defined: ``@REGISTRY.register("name")`` above a function, or
``REGISTRY.add("name", entry)`` for a value. A name given in a config is looked up with
``REGISTRY[name]``; an unknown name is a :class:`~infoprint.errors.ConfigError` that lists
the names there are. Adding an entry touches its own module, its test and its docs line.

Objects built from a config node (datasets, sources, models, nets, likelihoods) are chosen the
Hydra way instead: a config group whose options carry ``_target_`` (§11).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from infoprint.errors import ConfigError

T = TypeVar("T")
F = TypeVar("F")


class Registry(Generic[T]):
    """The named entries of one kind, in the order they were added."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name`` (a name is registered once)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: register the decorated function (or class) itself as ``name``."""

        def add(entry: F) -> F:
            self.add(name, entry)  # type: ignore[arg-type]
            return entry

        return add

    def remove(self, name: str) -> None:
        """Unregister ``name`` (a test's temporary entry)."""
        del self._entries[name]

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ConfigError(
                f"unknown {self.kind} {name!r}; one of: {', '.join(self.names())}"
            ) from None

    def check(self, name: str) -> str:
        """``name`` when it is registered; the lookup's ConfigError otherwise."""
        self[name]
        return name

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        """The registered names, in the order they were added."""
        return tuple(self._entries)

    def values(self) -> Iterator[T]:
        return iter(self._entries.values())

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._entries.items())
