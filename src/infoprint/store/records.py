"""Reading files we did not write, within bounds (``docs/architecture.md`` §4).

Every file read is hostile until checked: a JSON file is read only up to
``MAX_JSON_BYTES`` and parsed only when its brackets nest at most ``MAX_JSON_DEPTH`` deep
(counted without recursion); an npz's members are checked from their zip and .npy headers
(names, dtypes, shapes against :class:`ArraySpec` bounds, byte counts against the zip
entry) before any array is read, so no declared size is allocated before it is bounded,
and nothing is unpickled. Every error is a :class:`RecordError` that names the file.
"""

from __future__ import annotations

import json
import math
import re
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class RecordError(ValueError):
    """A file is missing, unreadable, corrupt or not what it should be (the message names
    the file and what was expected)."""


def is_int(value: Any) -> bool:
    """An integer that is not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


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


@dataclass(frozen=True)
class ArraySpec:
    """What an npz member must be: its dtypes, its number of dimensions, the bound of each
    dimension (an int: exactly that; None: anything up to ``MAX_POINTS``/``MAX_CHANNELS``)
    and, by name, dimensions that must equal another member's (``("mu", 0)``)."""

    dtypes: frozenset[str]
    dims: tuple[int | None, ...]
    same: tuple[tuple[int, str, int], ...] = ()
    required: bool = True


def load_arrays(path: Path, specs: Mapping[str, ArraySpec] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an npz file, read without pickle; errors name the file.

    Every member's dtype, shape and size are checked from its zip and .npy headers before
    any array is read: no object (pickle), structured or extended-precision dtype, no
    array over ``MAX_ARRAY_BYTES``, and a byte count that matches the zip entry. With
    ``specs``, members must be the named ones, of the given dtypes and shapes; others are
    refused unread.
    """
    try:
        check_regular_file(path)
        _check_member_count(path)
        with zipfile.ZipFile(path) as zf:
            headers = _read_headers(zf, path, specs)
            if specs is not None:
                _check_specs(headers, specs, path)
            return {key: _read_member(zf, header, path) for key, header in headers.items()}
    except RecordError:
        raise
    except (
        OSError,
        ValueError,
        TypeError,
        KeyError,
        SyntaxError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
    ) as err:
        raise RecordError(f"{path}: unreadable npz ({one_line(err)})") from err


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
        raise RecordError(f"{path}: unreadable npz (not a zip file)")
    entries = record[zipfile._ECD_ENTRIES_TOTAL]
    if entries > MAX_NPZ_MEMBERS:
        raise RecordError(
            f"{path}: {entries} zip members, expected at most {MAX_NPZ_MEMBERS} arrays"
        )


def _read_headers(
    zf: zipfile.ZipFile, path: Path, specs: Mapping[str, ArraySpec] | None
) -> dict[str, _Header]:
    infos = zf.infolist()
    if len(infos) > MAX_NPZ_MEMBERS:
        raise RecordError(f"{path}: {len(infos)} members, expected at most {MAX_NPZ_MEMBERS}")
    keys = [info.filename.removesuffix(".npy") for info in infos]
    if specs is not None:
        unexpected = [
            f"{k} ({info.file_size} bytes)"
            for k, info in zip(keys, infos, strict=True)
            if k not in specs or not info.filename.endswith(".npy")
        ]
        if unexpected:
            raise RecordError(
                f"{path}: unexpected members {unexpected} (not read); expected only {sorted(specs)}"
            )
    if len(set(keys)) != len(keys):
        raise RecordError(f"{path}: a member name appears twice")
    headers = {}
    for key, info in zip(keys, infos, strict=True):
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                read_header = np.lib.format.read_array_header_1_0
            elif version == (2, 0):
                read_header = np.lib.format.read_array_header_2_0
            else:
                raise RecordError(f"{path}: member {key!r}: .npy format {version} not read")
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
        raise RecordError(
            f"{path}: member {key!r} has dtype {dtype} (not read); expected float32/float64, "
            f"integers or text"
        )
    if not all(is_int(n) and n >= 0 for n in shape):
        raise RecordError(f"{path}: member {key!r} declares shape {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise RecordError(
            f"{path}: member {key!r} declares shape {shape} ({nbytes} bytes; at most "
            f"{MAX_ARRAY_BYTES} are read)"
        )
    if header.info.file_size != header.offset + nbytes:
        raise RecordError(
            f"{path}: member {key!r} holds {header.info.file_size - header.offset} data bytes; "
            f"its header declares {dtype} {shape}: {nbytes} bytes"
        )


def _check_specs(headers: dict[str, _Header], specs: Mapping[str, ArraySpec], path: Path) -> None:
    for key, spec in specs.items():
        if key not in headers:
            if spec.required:
                raise RecordError(f"{path}: missing array {key!r}")
            continue
        header = headers[key]
        shape = header.shape
        expected = ", ".join("N" if d is None else str(d) for d in spec.dims)
        if header.dtype.name not in spec.dtypes:
            raise RecordError(
                f"{path}: member {key!r} has dtype {header.dtype} (not read); expected one of "
                f"{sorted(spec.dtypes)}"
            )
        if len(shape) != len(spec.dims):
            raise RecordError(
                f"{path}: member {key!r} declares shape {shape} (not read); expected [{expected}]"
            )
        for axis, (n, bound) in enumerate(zip(shape, spec.dims, strict=True)):
            limit = MAX_POINTS if axis == 0 else MAX_CHANNELS
            if (bound is not None and n != bound) or n > limit:
                raise RecordError(
                    f"{path}: member {key!r} declares shape {shape} (not read); expected "
                    f"[{expected}] with N <= {MAX_POINTS} and d <= {MAX_CHANNELS}"
                )
        for axis, other, other_axis in spec.same:
            if other in headers and shape[axis] != headers[other].shape[other_axis]:
                raise RecordError(
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
                raise RecordError(f"{path}: member {header.info.filename!r} is truncated")
            done += n
        if f.read(1):  # also checks the CRC at the end of the member
            raise RecordError(f"{path}: member {header.info.filename!r} is longer")
    if header.fortran:
        array = array.T
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH):
    """A JSON file read within bounds: at most ``max_bytes``, nested at most ``max_depth``
    (counted before parsing, without recursion); errors name the file."""
    try:
        check_regular_file(path)
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as err:
        raise RecordError(f"{path}: unreadable ({one_line(err)})") from err
    if len(raw) > max_bytes:
        raise RecordError(f"{path}: more than {max_bytes} bytes, expected at most {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(f"{path}: not valid UTF-8 ({err})") from err
    depth = json_depth(text)
    if depth > max_depth:
        raise RecordError(
            f"{path}: JSON nested deeper than {max_depth} levels ({depth}), not parsed"
        )
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise RecordError(f"{path}: not valid JSON ({one_line(err)})") from err
    if not isinstance(value, dict):
        raise RecordError(f"{path}: expected a JSON object, got {type(value).__name__}")
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


def check_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise RecordError(f"{path}: file not found") from err
    except OSError as err:
        raise RecordError(f"{path}: unreadable ({one_line(err)})") from err
    if not stat.S_ISREG(mode):
        raise RecordError(f"{path}: not a regular file")


def one_line(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
