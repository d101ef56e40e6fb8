"""A study's runs split into ensembles: one per setting of the keys that vary.

``docs/architecture.md`` §10. The paper trains 50 seeds for each hyper-parameter value of
each method and analyses each (method, value) ensemble on its own (Murphy, Dillavou &
Bassett, TMLR 2025, Sec. 4.2). A run's keys come from its run.json: ``model``, its
hyper-parameters (by name, e.g. ``beta``), ``dataset``, ``latent_dim`` and ``steps``.
``by="auto"`` groups by the keys whose values differ across the runs (never the seed),
unless every run has its own setting (a random search: one ensemble, with a note);
``by=[model, beta]`` names them. Runs on different probe sets always go to different
ensembles (the probe digest is an implicit key), with a note.

An ensemble's name is its folder (``<out>/ensembles/<name>``): ASCII letters, digits and
``_.=+-`` only, at most ``MAX_NAME`` characters, never hidden or ``..``. A name that had to
be changed to be so (``x/y``), or that two ensembles would share (``x/y`` and ``x_y``, or
``a`` and ``A`` on a case-insensitive disk), ends in a short hash of the ensemble's keys.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infoprint.errors import ConfigError
from infoprint.fingerprint.record import Fingerprint

IDENTITY = ("model", "dataset", "latent_dim", "steps")
MAX_NAME = 80
"""Longest ensemble folder name (with its hash suffix)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]")
NEVER = frozenset({"seed", "dataset_size"})
"""Never grouping keys: the seed is what an ensemble repeats; β-TCVAE's dataset size
follows from the dataset."""


@dataclass(frozen=True)
class Ensemble:
    """Runs that share every grouping key; ``keys`` in grouping order."""

    name: str
    keys: dict[str, Any]
    fingerprints: list[Fingerprint]


def _hashable(value: Any) -> Any:
    """Lists as tuples, nested config nodes (FactorVAE's and InfoGAN's
    ``discriminator_optim``) as sorted tuples of items."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def run_keys(fp: Fingerprint) -> dict[str, Any]:
    """The keys a run can be grouped by, from its run.json."""
    keys = {k: _hashable(fp.meta.get(k)) for k in IDENTITY if fp.meta.get(k) is not None}
    hyper = fp.meta.get("hyperparameters")
    if isinstance(hyper, dict):  # run.json is validated on load; other callers may not be
        keys |= {str(k): _hashable(v) for k, v in hyper.items() if k not in NEVER}
    return keys


def grouping_keys(fingerprints: Sequence[Fingerprint], by: str | Sequence[str]) -> list[str]:
    """The keys to group by: those that vary (``auto``) or those named, checked."""
    per_run = [run_keys(fp) for fp in fingerprints]
    available = sorted({k for keys in per_run for k in keys})
    if by == "auto":
        varying = [k for k in available if len({keys.get(k) for keys in per_run}) > 1]
        return sorted(varying, key=lambda k: (k != "model", k))
    if isinstance(by, str):
        by = [by]
    unknown = [k for k in by if k not in available]
    if unknown:
        raise ConfigError(f"ensembles.by: unknown keys {unknown}; the runs have {available}")
    for fp, keys in zip(fingerprints, per_run, strict=True):
        missing = [k for k in by if k not in keys]
        if missing:
            raise ConfigError(
                f"ensembles.by: run {fp.run_id} ({fp.path}) has no key {missing[0]!r} "
                f"(its keys: {sorted(keys)})"
            )
    return list(by)


def ensemble_name(keys: dict[str, Any]) -> str:
    """``beta_vae-beta=4``: the model first, then key=value; safe as a folder name (ends in
    a hash of ``keys`` when making it safe changed it)."""
    parts = [
        str(v) if k == "model" else f"{k}={_short(v)}" for k, v in keys.items() if v is not None
    ]
    readable = "-".join(parts) or "all"
    safe = _UNSAFE.sub("_", readable)
    if safe.startswith((".", "-")):  # hidden, "." or "..", or read as an option
        safe = "_" + safe[1:]
    if safe != readable or len(safe) > MAX_NAME:
        safe = _with_hash(safe, keys)
    return safe


def _with_hash(name: str, keys: dict[str, Any]) -> str:
    digest = hashlib.sha256(repr(list(keys.items())).encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}-{digest}"


def _unique(names: list[str], keys: list[dict[str, Any]]) -> list[str]:
    """``names`` with a hash suffix on those two ensembles would share (case-insensitively),
    then a counter if even those collide."""
    counts = Counter(n.casefold() for n in names)
    pairs = zip(names, keys, strict=True)
    names = [_with_hash(n, k) if counts[n.casefold()] > 1 else n for n, k in pairs]
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name.casefold()] += 1
        unique.append(name if seen[name.casefold()] == 1 else f"{name}-{seen[name.casefold()]}")
    return unique


def _short(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _order(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, int | float) else (1, 0, str(value))


def split_ensembles(
    fingerprints: Sequence[Fingerprint], by: str | Sequence[str] = "auto"
) -> tuple[list[Ensemble], list[str]]:
    """The ensembles of ``fingerprints`` (ordered by their keys' values) and notes."""
    keys = grouping_keys(fingerprints, by)
    notes = []
    if (
        by == "auto"
        and keys
        and len({tuple(run_keys(fp).get(k) for k in keys) for fp in fingerprints})
        == len(fingerprints)
        > 1
    ):
        notes.append(
            f"every run has its own setting of {keys} (no repeats): analysed as one ensemble; "
            f"set ensembles.by to split it"
        )
        keys = []
    digests = sorted({fp.probe_digest for fp in fingerprints})
    groups: dict[tuple, list[Fingerprint]] = {}
    for fp in fingerprints:
        values = tuple(run_keys(fp).get(k) for k in keys)
        if len(digests) > 1:
            values += (fp.probe_digest[:8],)
        groups.setdefault(values, []).append(fp)
    if len(digests) > 1:
        notes.append(
            f"{len(digests)} probe sets ({', '.join(d[:8] for d in digests)}): runs on "
            f"different probe sets are analysed as different ensembles"
        )
        keys = [*keys, "probe"]
    items, named = [], []
    for values, runs in sorted(groups.items(), key=lambda kv: tuple(map(_order, kv[0]))):
        group = dict(zip(keys, values, strict=True))
        models = {_hashable(fp.meta.get("model")) for fp in runs}
        items.append((group, runs))
        named.append(
            group if "model" in group or len(models) != 1 else {"model": models.pop(), **group}
        )
    names = _unique([ensemble_name(n) for n in named], named)
    ensembles = [
        Ensemble(name, group, runs) for name, (group, runs) in zip(names, items, strict=True)
    ]
    return ensembles, notes
