"""The fingerprint record: a run's posteriors on the probe set plus its run.json.

What a run directory holds (``docs/architecture.md`` §3, §4; file names in
:mod:`infoprint.run.layout`)::

    fingerprint.npz   mu [N, d] float32, logvar [N, d] float32, probe_index [N] int64,
                      factors [N, K] int64 (optional); optionally a larger embedding
                      sample for whole-space Monte Carlo comparison (paper Sec. 4.3):
                      embedding_mu, embedding_logvar [M, d], embedding_index [M]
    run.json          schema version, run id, sweep, job, model and hyper-parameters,
                      seed, steps, dataset, probe digest, factor names, per-channel
                      information (bits), W&B ids when logged, git commit

Both files are written atomically (temp file, then rename) and loaded without pickle;
every loading error names the file and what was expected.

Physical bounds: the analysis forms variances exp(logvar) and Bhattacharyya coefficients in
float32 by default, where exp overflows above 88. A fingerprint is refused (with the run's
file named) when |logvar| > ``LOGVAR_BOUND`` (80: a standard deviation outside
[4e-18, 2e17]) or |mu| > ``MU_BOUND`` (1e15), instead of turning into NaN mid-analysis.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from infoprint.run.layout import FINGERPRINT_FILE, RUN_FILE

SCHEMA_VERSION = 1
LOGVAR_BOUND = 80.0
"""Largest |logvar| accepted: exp(±80) and sums of two stay finite in float32."""
MU_BOUND = 1e15
"""Largest |mu| accepted: differences and squares stay finite in float32."""
REQUIRED_META = ("schema_version", "run_id", "probe_digest")


class FingerprintError(ValueError):
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
        _atomic_write(directory / FINGERPRINT_FILE, lambda f: np.savez(f, **self.arrays()), "wb")
        atomic_write_json(directory / RUN_FILE, meta)
        self.meta, self.path = meta, directory
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Fingerprint:
        """Load and validate the fingerprint in ``directory`` (no pickle, ever)."""
        directory = Path(directory)
        npz_path, meta_path = directory / FINGERPRINT_FILE, directory / RUN_FILE
        for path in (npz_path, meta_path):
            if not path.is_file():
                raise FingerprintError(f"{path}: file not found")
        try:
            meta = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise FingerprintError(f"{meta_path}: not valid JSON ({err})") from err
        if not isinstance(meta, dict):
            raise FingerprintError(f"{meta_path}: expected a JSON object")
        arrays = load_arrays(npz_path)
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


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz file, read without pickle; errors name the file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise FingerprintError(f"{path}: unreadable npz ({err})") from err


def atomic_write_json(path: Path, values: dict[str, Any]) -> None:
    """Write ``values`` as indented, key-sorted JSON to ``path`` atomically."""
    _atomic_write(path, lambda f: json.dump(values, f, indent=2, sort_keys=True), "w")


def _validate(arrays: dict[str, np.ndarray], meta: dict[str, Any], directory: Path) -> None:
    npz_path, meta_path = directory / FINGERPRINT_FILE, directory / RUN_FILE
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise FingerprintError(f"{meta_path}: missing keys {missing}")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise FingerprintError(
            f"{meta_path}: schema_version {meta['schema_version']!r}, "
            f"this infoprint reads version {SCHEMA_VERSION}"
        )
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


def _atomic_write(path: Path, write: Callable[[IO], None], mode: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
