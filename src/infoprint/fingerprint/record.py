"""The fingerprint record: a run's posteriors on the probe set plus its run.json.

What a run directory holds (``docs/architecture.md`` §3, §4; file names in
:mod:`infoprint.store.layout`)::

    fingerprint.npz   mu [N, d] float32, logvar [N, d] float32, probe_index [N] int64,
                      factors [N, K] int64 (optional); optionally a larger embedding
                      sample for whole-space Monte Carlo comparison (paper Sec. 4.3):
                      embedding_mu, embedding_logvar [M, d], embedding_index [M]
    run.json          schema version, run id, sweep, job, model and hyper-parameters,
                      seed, steps, dataset, probe digest, factor names, per-channel
                      information (bits), W&B ids when logged, git commit

Both files are written atomically (:mod:`infoprint.store.atomic`) and loaded without
pickle; every loading error names the file and what was expected.

Every file read is hostile until checked (``docs/architecture.md`` §4): run.json and
fingerprint.npz are read within the bounds of :mod:`infoprint.store.records` (size and
nesting of the JSON; the npz members' names, dtypes and shapes against the probe size,
from their headers, before any array is read), then run.json's fields' types are checked
(:data:`META_TYPES`).

Physical bounds: the analysis forms variances exp(logvar) and Bhattacharyya coefficients in
float32 by default, where exp overflows above 88. A fingerprint is refused (with the run's
file named) when |logvar| > ``LOGVAR_BOUND`` (80: a standard deviation outside
[4e-18, 2e17]) or |mu| > ``MU_BOUND`` (1e15), instead of turning into NaN mid-analysis.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infoprint.store.atomic import atomic_write, atomic_write_json
from infoprint.store.layout import FINGERPRINT_FILE, RUN_FILE
from infoprint.store.records import (
    FLOAT_DTYPES,
    INT_DTYPES,
    MAX_CHANNELS,
    MAX_POINTS,
    ArraySpec,
    RecordError,
    check_regular_file,
    is_int,
    load_arrays,
    one_line,
    read_json,
)

SCHEMA_VERSION = 1
LOGVAR_BOUND = 80.0
"""Largest |logvar| accepted: exp(±80) and sums of two stay finite in float32."""
MU_BOUND = 1e15
"""Largest |mu| accepted: differences and squares stay finite in float32."""
REQUIRED_META = ("schema_version", "run_id", "probe_digest")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_plain(value: Any) -> bool:
    """A JSON value: scalars, lists and objects of them (tuples and scalar keys as written
    by ``json.dump`` on save; depth is bounded by the parser on load)."""
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_is_scalar(k) and _is_plain(v) for k, v in value.items())
    return _is_scalar(value)


META_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "schema_version": ("an integer", is_int),
    "run_id": ("a non-empty string", lambda v: isinstance(v, str) and 0 < len(v) <= 256),
    "probe_digest": ("a non-empty string", lambda v: isinstance(v, str) and 0 < len(v) <= 256),
    "model": ("a string", lambda v: isinstance(v, str) and len(v) <= 1024),
    "sweep": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "dataset": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "output_dir": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "git_commit": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "job_num": ("an integer", is_int),
    "seed": ("an integer or null", lambda v: v is None or is_int(v)),
    "steps": ("an integer >= 0 or null", lambda v: v is None or (is_int(v) and v >= 0)),
    "latent_dim": ("an integer >= 0", lambda v: is_int(v) and 0 <= v <= MAX_CHANNELS),
    "probe_size": ("an integer >= 0", lambda v: is_int(v) and 0 <= v <= MAX_POINTS),
    "hyperparameters": (
        "an object of named values (numbers, strings, booleans, null, or lists and objects "
        "of them)",
        lambda v: isinstance(v, dict) and _is_plain(v),
    ),
    "factor_names": (
        "a list of strings",
        lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
    ),
    "information_bits": (
        "a list of numbers",
        lambda v: isinstance(v, list) and all(_is_number(b) for b in v),
    ),
    "metrics": (
        "an object of numbers or nulls",
        lambda v: isinstance(v, dict) and all(b is None or _is_number(b) for b in v.values()),
    ),
    "wandb": ("an object or null", lambda v: v is None or (isinstance(v, dict) and _is_plain(v))),
    "observation_shape": (
        "a list of integers",
        lambda v: isinstance(v, list) and all(is_int(n) and n >= 0 for n in v),
    ),
    "provenance": ("an object", lambda v: isinstance(v, dict) and _is_plain(v)),
}
"""run.json's fields and the types they must have when present (checked on save and load)."""


class FingerprintError(RecordError):
    """A fingerprint file is missing, corrupt or inconsistent."""


@dataclass
class Fingerprint:
    """One run's channel posteriors on the probe set and its metadata (run.json)."""

    mu: np.ndarray
    logvar: np.ndarray
    probe_index: np.ndarray
    factors: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    embedding_mu: np.ndarray | None = None
    embedding_logvar: np.ndarray | None = None
    embedding_index: np.ndarray | None = None

    @property
    def run_id(self) -> str:
        return str(self.meta["run_id"])

    @property
    def probe_digest(self) -> str:
        return str(self.meta["probe_digest"])

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(self.meta.get("factor_names") or ())

    @property
    def n_channels(self) -> int:
        return int(self.mu.shape[1])

    @property
    def n_points(self) -> int:
        return int(self.mu.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        arrays = {"mu": self.mu, "logvar": self.logvar, "probe_index": self.probe_index}
        if self.factors is not None:
            arrays["factors"] = self.factors
        if self.embedding_mu is not None:
            arrays["embedding_mu"] = self.embedding_mu
            arrays["embedding_logvar"] = self.embedding_logvar
            arrays["embedding_index"] = self.embedding_index
        return arrays

    def whole_space(self) -> tuple[np.ndarray, np.ndarray]:
        """(mu, logvar) of the largest sample: the embedding sample if stored, else the probe."""
        if self.embedding_mu is not None:
            return self.embedding_mu, self.embedding_logvar
        return self.mu, self.logvar

    def save(self, directory: str | os.PathLike) -> Path:
        """Validate, then write ``fingerprint.npz`` and ``run.json`` atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"schema_version": SCHEMA_VERSION, **self.meta}
        _validate(self.arrays(), meta, directory)
        atomic_write(directory / FINGERPRINT_FILE, lambda f: np.savez(f, **self.arrays()))
        atomic_write_json(directory / RUN_FILE, meta)
        self.meta, self.path = meta, directory
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Fingerprint:
        """Load and validate the fingerprint in ``directory`` (no pickle, ever)."""
        directory = Path(directory)
        npz_path, meta_path = directory / FINGERPRINT_FILE, directory / RUN_FILE
        for path in (npz_path, meta_path):
            check_regular_file(path)
        meta = read_json(meta_path)
        validate_meta(meta, meta_path)
        arrays = load_arrays(npz_path, fingerprint_specs(meta))
        _validate(arrays, meta, directory)
        return cls(
            mu=arrays["mu"],
            logvar=arrays["logvar"],
            probe_index=arrays["probe_index"],
            factors=arrays.get("factors"),
            meta=meta,
            path=directory,
            embedding_mu=arrays.get("embedding_mu"),
            embedding_logvar=arrays.get("embedding_logvar"),
            embedding_index=arrays.get("embedding_index"),
        )


def fingerprint_specs(meta: Mapping[str, Any]) -> dict[str, ArraySpec]:
    """The members of a fingerprint.npz and their bounds, from its run.json."""
    n = meta.get("probe_size") if is_int(meta.get("probe_size")) else None
    width = None
    names = meta.get("factor_names")
    k = len(names) if isinstance(names, list) else None
    return {
        "mu": ArraySpec(FLOAT_DTYPES, (n, width)),
        "logvar": ArraySpec(FLOAT_DTYPES, (n, width), ((0, "mu", 0), (1, "mu", 1))),
        "probe_index": ArraySpec(INT_DTYPES, (n,), ((0, "mu", 0),)),
        "factors": ArraySpec(INT_DTYPES, (n, k), ((0, "mu", 0),), required=False),
        "embedding_mu": ArraySpec(FLOAT_DTYPES, (None, width), ((1, "mu", 1),), False),
        "embedding_logvar": ArraySpec(
            FLOAT_DTYPES, (None, width), ((0, "embedding_mu", 0), (1, "mu", 1)), False
        ),
        "embedding_index": ArraySpec(INT_DTYPES, (None,), ((0, "embedding_mu", 0),), False),
    }


def validate_meta(meta: Mapping[str, Any], path: Path) -> None:
    """Check run.json's fields: the required ones present, each field's type (META_TYPES)."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise FingerprintError(f"{path}: missing keys {missing}")
    for key, (expected, check) in META_TYPES.items():
        if key in meta and not check(meta[key]):
            value = one_line(repr(meta[key]), 80)
            raise FingerprintError(f"{path}: {key!r} is {value}; expected {expected}")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise FingerprintError(
            f"{path}: schema_version {meta['schema_version']!r}, "
            f"this infoprint reads version {SCHEMA_VERSION}"
        )


def _validate(arrays: dict[str, np.ndarray], meta: dict[str, Any], directory: Path) -> None:
    npz_path, meta_path = directory / FINGERPRINT_FILE, directory / RUN_FILE
    validate_meta(meta, meta_path)
    for key in ("mu", "logvar", "probe_index"):
        if key not in arrays:
            raise FingerprintError(f"{npz_path}: missing array {key!r}")
    mu, logvar, index = arrays["mu"], arrays["logvar"], arrays["probe_index"]
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise FingerprintError(
            f"{npz_path}: mu and logvar must both be [N, d], got {mu.shape} and {logvar.shape}"
        )
    if mu.dtype.kind != "f" or logvar.dtype.kind != "f":
        raise FingerprintError(f"{npz_path}: mu and logvar must be floating point")
    if index.shape != (mu.shape[0],) or index.dtype.kind not in "iu":
        raise FingerprintError(
            f"{npz_path}: probe_index must be integer [{mu.shape[0]}], got "
            f"{index.dtype} {index.shape}"
        )
    _check_bounds(mu, logvar, npz_path, "")
    _validate_embedding(arrays, mu.shape[1], npz_path)
    factors = arrays.get("factors")
    if factors is not None:
        names = meta.get("factor_names") or []
        if factors.ndim != 2 or factors.shape[0] != mu.shape[0] or factors.dtype.kind not in "iu":
            raise FingerprintError(
                f"{npz_path}: factors must be integer [{mu.shape[0]}, K], got "
                f"{factors.dtype} {factors.shape}"
            )
        if len(names) != factors.shape[1]:
            raise FingerprintError(
                f"{meta_path}: {len(names)} factor_names for {factors.shape[1]} factor columns"
            )


def _validate_embedding(arrays: dict[str, np.ndarray], width: int, npz_path: Path) -> None:
    keys = ("embedding_mu", "embedding_logvar", "embedding_index")
    present = [k for k in keys if k in arrays]
    if not present:
        return
    if len(present) != len(keys):
        raise FingerprintError(f"{npz_path}: embedding sample needs all of {keys}, has {present}")
    e_mu, e_logvar, e_index = (arrays[k] for k in keys)
    if e_mu.ndim != 2 or e_mu.shape != e_logvar.shape or e_mu.shape[1] != width:
        raise FingerprintError(
            f"{npz_path}: embedding_mu and embedding_logvar must both be [M, {width}], got "
            f"{e_mu.shape} and {e_logvar.shape}"
        )
    if e_index.shape != (e_mu.shape[0],) or e_index.dtype.kind not in "iu":
        raise FingerprintError(f"{npz_path}: embedding_index must be integer [{e_mu.shape[0]}]")
    _check_bounds(e_mu, e_logvar, npz_path, "embedding_")


def _check_bounds(mu: np.ndarray, logvar: np.ndarray, npz_path: Path, prefix: str) -> None:
    """Refuse NaN, infinity and values outside the physical bounds (module docstring)."""
    for name, values, bound in (("mu", mu, MU_BOUND), ("logvar", logvar, LOGVAR_BOUND)):
        if not np.isfinite(values).all():
            raise FingerprintError(f"{npz_path}: {prefix}{name} contains NaN or infinity")
        worst = float(np.abs(values).max(initial=0.0))
        if worst > bound:
            raise FingerprintError(
                f"{npz_path}: {prefix}{name} reaches {worst:.3g}, outside ±{bound:g}: its "
                f"Bhattacharyya coefficients would overflow (a diverged or broken encoder)"
            )
