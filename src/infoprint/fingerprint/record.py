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

Every file read is hostile until checked (``docs/architecture.md`` §4): run.json is read
only up to ``MAX_JSON_BYTES`` and parsed only when its brackets nest at most
``MAX_JSON_DEPTH`` deep (counted without recursion), and its fields' types are checked
(:data:`META_TYPES`); fingerprint.npz's members are checked from their zip and .npy
headers (names, dtypes, shapes against the probe size, byte counts against the zip entry)
before any array is read, so no declared size is allocated before it is bounded.

Physical bounds: the analysis forms variances exp(logvar) and Bhattacharyya coefficients in
float32 by default, where exp overflows above 88. A fingerprint is refused (with the run's
file named) when |logvar| > ``LOGVAR_BOUND`` (80: a standard deviation outside
[4e-18, 2e17]) or |mu| > ``MU_BOUND`` (1e15), instead of turning into NaN mid-analysis.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Mapping
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
MAX_JSON_BYTES = 4 << 20
"""Largest run.json read (4 MiB; a real one is a few KiB, 10^4 channels' bits ~ 250 KiB)."""
MAX_JSON_DEPTH = 32
"""Deepest bracket nesting parsed (a real run.json nests 4 deep: hyperparameters.optim.betas)."""
MAX_POINTS = 1 << 22
"""Most probe or embedding points an npz may declare when run.json gives no probe_size."""
MAX_CHANNELS = 1 << 16
"""Most channels (columns of mu) or factors an npz may declare."""
MAX_ARRAY_BYTES = 1 << 30
"""Largest array read from an npz (1 GiB), whatever its shape."""
MAX_NPZ_MEMBERS = 64
"""Most members an npz may hold (its zip directory is read before anything else)."""
MAX_NPY_HEADER = 10_000
"""Largest .npy header parsed (numpy's own default limit)."""
FLOAT_DTYPES = frozenset({"float32", "float64"})
INT_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    "schema_version": ("an integer", _is_int),
    "run_id": ("a non-empty string", lambda v: isinstance(v, str) and 0 < len(v) <= 256),
    "probe_digest": ("a non-empty string", lambda v: isinstance(v, str) and 0 < len(v) <= 256),
    "model": ("a string", lambda v: isinstance(v, str) and len(v) <= 1024),
    "sweep": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "dataset": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "output_dir": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "git_commit": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "job_num": ("an integer", _is_int),
    "seed": ("an integer or null", lambda v: v is None or _is_int(v)),
    "steps": ("an integer >= 0 or null", lambda v: v is None or (_is_int(v) and v >= 0)),
    "latent_dim": ("an integer >= 0", lambda v: _is_int(v) and 0 <= v <= MAX_CHANNELS),
    "probe_size": ("an integer >= 0", lambda v: _is_int(v) and 0 <= v <= MAX_POINTS),
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
        lambda v: isinstance(v, list) and all(_is_int(n) and n >= 0 for n in v),
    ),
    "provenance": ("an object", lambda v: isinstance(v, dict) and _is_plain(v)),
}
"""run.json's fields and the types they must have when present (checked on save and load)."""


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
            _check_regular_file(path)
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


@dataclass(frozen=True)
class ArraySpec:
    """What an npz member must be: its dtypes, its number of dimensions, the bound of each
    dimension (an int: exactly that; None: anything up to ``MAX_POINTS``/``MAX_CHANNELS``)
    and, by name, dimensions that must equal another member's (``("mu", 0)``)."""

    dtypes: frozenset[str]
    dims: tuple[int | None, ...]
    same: tuple[tuple[int, str, int], ...] = ()
    required: bool = True


def fingerprint_specs(meta: Mapping[str, Any]) -> dict[str, ArraySpec]:
    """The members of a fingerprint.npz and their bounds, from its run.json."""
    n = meta.get("probe_size") if _is_int(meta.get("probe_size")) else None
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


def load_arrays(path: Path, specs: Mapping[str, ArraySpec] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an npz file, read without pickle; errors name the file.

    Every member's dtype, shape and size are checked from its zip and .npy headers before
    any array is read: no object (pickle), structured or extended-precision dtype, no
    array over ``MAX_ARRAY_BYTES``, and a byte count that matches the zip entry. With
    ``specs``, members must be the named ones, of the given dtypes and shapes; others are
    refused unread.
    """
    try:
        _check_regular_file(path)
        _check_member_count(path)
        with zipfile.ZipFile(path) as zf:
            headers = _read_headers(zf, path, specs)
            if specs is not None:
                _check_specs(headers, specs, path)
            return {key: _read_member(zf, header, path) for key, header in headers.items()}
    except FingerprintError:
        raise
    except (
        OSError, ValueError, TypeError, KeyError, SyntaxError, EOFError, RuntimeError,
        NotImplementedError, zipfile.BadZipFile, zipfile.LargeZipFile,
    ) as err:  # fmt: skip
        raise FingerprintError(f"{path}: unreadable npz ({_one_line(err)})") from err


@dataclass(frozen=True)
class _Header:
    info: zipfile.ZipInfo
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool
    offset: int


def _check_member_count(path: Path) -> None:
    """Refuse a zip directory of more than ``MAX_NPZ_MEMBERS`` entries before parsing it."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:  # a future Python: ZipFile's own parse, then the count
        return
    with path.open("rb") as f:
        record = end_record(f)
    if record is None:
        raise FingerprintError(f"{path}: unreadable npz (not a zip file)")
    entries = record[zipfile._ECD_ENTRIES_TOTAL]
    if entries > MAX_NPZ_MEMBERS:
        raise FingerprintError(
            f"{path}: {entries} zip members, expected at most {MAX_NPZ_MEMBERS} arrays"
        )


def _read_headers(
    zf: zipfile.ZipFile, path: Path, specs: Mapping[str, ArraySpec] | None
) -> dict[str, _Header]:
    infos = zf.infolist()
    if len(infos) > MAX_NPZ_MEMBERS:
        raise FingerprintError(f"{path}: {len(infos)} members, expected at most {MAX_NPZ_MEMBERS}")
    keys = [info.filename.removesuffix(".npy") for info in infos]
    if specs is not None:
        unexpected = [
            f"{k} ({info.file_size} bytes)"
            for k, info in zip(keys, infos, strict=True)
            if k not in specs or not info.filename.endswith(".npy")
        ]
        if unexpected:
            raise FingerprintError(
                f"{path}: unexpected members {unexpected} (not read); expected only {sorted(specs)}"
            )
    if len(set(keys)) != len(keys):
        raise FingerprintError(f"{path}: a member name appears twice")
    headers = {}
    for key, info in zip(keys, infos, strict=True):
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                read_header = np.lib.format.read_array_header_1_0
            elif version == (2, 0):
                read_header = np.lib.format.read_array_header_2_0
            else:
                raise FingerprintError(f"{path}: member {key!r}: .npy format {version} not read")
            shape, fortran, dtype = read_header(f, max_header_size=MAX_NPY_HEADER)
            offset = f.tell()
        header = _Header(info, dtype, tuple(shape), bool(fortran), offset)
        _check_header(key, header, path)
        headers[key] = header
    return headers


def _check_header(key: str, header: _Header, path: Path) -> None:
    dtype, shape = header.dtype, header.shape
    plain = dtype.name in FLOAT_DTYPES | INT_DTYPES or dtype.kind == "U"  # U: snapshots' digest
    if not plain or dtype.fields or dtype.subdtype:
        raise FingerprintError(
            f"{path}: member {key!r} has dtype {dtype} (not read); expected float32/float64, "
            f"integers or text"
        )
    if not all(_is_int(n) and n >= 0 for n in shape):
        raise FingerprintError(f"{path}: member {key!r} declares shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise FingerprintError(
            f"{path}: member {key!r} declares shape {shape} ({nbytes} bytes; at most "
            f"{MAX_ARRAY_BYTES} are read)"
        )
    if header.info.file_size != header.offset + nbytes:
        raise FingerprintError(
            f"{path}: member {key!r} holds {header.info.file_size - header.offset} data bytes; "
            f"its header declares {dtype} {shape}: {nbytes} bytes"
        )


def _check_specs(headers: dict[str, _Header], specs: Mapping[str, ArraySpec], path: Path) -> None:
    for key, spec in specs.items():
        if key not in headers:
            if spec.required:
                raise FingerprintError(f"{path}: missing array {key!r}")
            continue
        header = headers[key]
        shape = header.shape
        expected = ", ".join("N" if d is None else str(d) for d in spec.dims)
        if header.dtype.name not in spec.dtypes:
            raise FingerprintError(
                f"{path}: member {key!r} has dtype {header.dtype} (not read); expected one of "
                f"{sorted(spec.dtypes)}"
            )
        if len(shape) != len(spec.dims):
            raise FingerprintError(
                f"{path}: member {key!r} declares shape {shape} (not read); expected [{expected}]"
            )
        for axis, (n, bound) in enumerate(zip(shape, spec.dims, strict=True)):
            limit = MAX_POINTS if axis == 0 else MAX_CHANNELS
            if (bound is not None and n != bound) or n > limit:
                raise FingerprintError(
                    f"{path}: member {key!r} declares shape {shape} (not read); expected "
                    f"[{expected}] with N <= {MAX_POINTS} and d <= {MAX_CHANNELS}"
                )
        for axis, other, other_axis in spec.same:
            if other in headers and shape[axis] != headers[other].shape[other_axis]:
                raise FingerprintError(
                    f"{path}: member {key!r} declares shape {shape} (not read); its axis "
                    f"{axis} must match {other!r} {headers[other].shape}"
                )


def _read_member(zf: zipfile.ZipFile, header: _Header, path: Path) -> np.ndarray:
    """The member's array, read into a buffer of its checked size (never pickle)."""
    shape = header.shape[::-1] if header.fortran else header.shape
    array = np.empty(shape, dtype=header.dtype)
    view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")
    with zf.open(header.info) as f:
        f.read(header.offset)
        done = 0
        while done < len(view):
            n = f.readinto(view[done:])
            if not n:
                raise FingerprintError(f"{path}: member {header.info.filename!r} is truncated")
            done += n
        if f.read(1):  # also checks the CRC at the end of the member
            raise FingerprintError(f"{path}: member {header.info.filename!r} is longer")
    if header.fortran:
        array = array.T
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH):
    """A JSON file read within bounds: at most ``max_bytes``, nested at most ``max_depth``
    (counted before parsing, without recursion); errors name the file."""
    try:
        _check_regular_file(path)
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as err:
        raise FingerprintError(f"{path}: unreadable ({_one_line(err)})") from err
    if len(raw) > max_bytes:
        raise FingerprintError(f"{path}: more than {max_bytes} bytes, expected at most {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FingerprintError(f"{path}: not valid UTF-8 ({err})") from err
    depth = json_depth(text)
    if depth > max_depth:
        raise FingerprintError(
            f"{path}: JSON nested deeper than {max_depth} levels ({depth}), not parsed"
        )
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise FingerprintError(f"{path}: not valid JSON ({_one_line(err)})") from err
    if not isinstance(value, dict):
        raise FingerprintError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """The deepest bracket nesting of JSON ``text``, strings left out (no recursion).

    Where ``text`` is not valid JSON the count may be too high, never too low for what a
    parser reads before failing: strings are skipped exactly as JSON defines them.
    """
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def validate_meta(meta: Mapping[str, Any], path: Path) -> None:
    """Check run.json's fields: the required ones present, each field's type (META_TYPES)."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise FingerprintError(f"{path}: missing keys {missing}")
    for key, (expected, check) in META_TYPES.items():
        if key in meta and not check(meta[key]):
            value = _one_line(repr(meta[key]), 80)
            raise FingerprintError(f"{path}: {key!r} is {value}; expected {expected}")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise FingerprintError(
            f"{path}: schema_version {meta['schema_version']!r}, "
            f"this infoprint reads version {SCHEMA_VERSION}"
        )


def _check_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise FingerprintError(f"{path}: file not found") from err
    except OSError as err:
        raise FingerprintError(f"{path}: unreadable ({_one_line(err)})") from err
    if not stat.S_ISREG(mode):
        raise FingerprintError(f"{path}: not a regular file")


def _one_line(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def atomic_write_json(path: Path, values: dict[str, Any]) -> None:
    """Write ``values`` as indented, key-sorted JSON to ``path`` atomically."""
    _atomic_write(path, lambda f: json.dump(values, f, indent=2, sort_keys=True), "w")


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
