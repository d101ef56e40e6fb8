"""The analysis's cache of run-pair blocks: what makes a rerun incremental (docs §10.4).

An ensemble's structure (:mod:`infoprint.analysis.ensemble`) is made of blocks that each
depend on one or two channel sets only (:mod:`infoprint.info.blocks`): the information of
every channel of a run, and I(U;V) between the kept channels of two runs (or of a run and
the ground-truth factors). This cache keeps them in the analysis folder, so that a rerun
after more runs land (a SLURM array half done, a sweep extended by 10 seeds) computes only
the blocks of the new runs, and its results equal a full analysis bit for bit.

It also keeps each hotspot's fused channel (:mod:`infoprint.analysis.hotspot_fusion`),
keyed by its members' channels: a hotspot that keeps its members is not fused again.

Layout: ``<analysis>/cache/<scope>/blocks.npz`` and ``<scope>/fused-<key>.npz``. The scope
(:func:`cache_scope`) is a digest of everything an entry's bits depend on besides its
sets: :data:`CACHE_VERSION`, the probe set (digest, N), the options (threshold; the fusion
settings and workers), dtype, device kind, torch's version and CPU kernels
(``torch.backends.cpu.get_cpu_capability()``, ``MKL_ENABLE_INSTRUCTIONS``). A set's key is
the SHA-256 of its arrays (:func:`set_key`). No file name comes from a file.

The file is read as hostile (:func:`~infoprint.store.records.load_arrays`: no pickle,
bounded shapes) and checked whole (sizes that add up, pairs inside the table, finite
values); a file that does not match is ignored with a warning, never trusted. An entry is
used only where its shape is the one the analysis expects. What an analysis used is
written atomically into its own (staging) folder, so that the published analysis carries
its cache and a failed one leaves the previous cache as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from infoprint.store.atomic import atomic_savez
from infoprint.store.records import MAX_CHANNELS, ArraySpec, RecordError, load_arrays

log = logging.getLogger(__name__)

CACHE_DIR = "cache"
"""The cache's folder in an analysis folder."""

BLOCKS_FILE = "blocks.npz"

FUSED_PREFIX = "fused-"
"""A fused hotspot's file: ``<scope>/fused-<members' key>.npz``."""

CACHE_VERSION = 2
"""Raised whenever the way a block or a fused hotspot is computed changes (old caches are
then ignored). 2: fusion steps in the product form, information by triangles (issue 26)."""

_DIGEST = 32

_SPECS = {
    "set_keys": ArraySpec(frozenset({"uint8"}), (None, _DIGEST)),
    "widths": ArraySpec(frozenset({"int64"}), (None,), same=((0, "set_keys", 0),)),
    "information": ArraySpec(frozenset({"float64"}), (None,)),
    "pairs": ArraySpec(frozenset({"int64"}), (None, 2)),
    "shapes": ArraySpec(frozenset({"int64"}), (None, 2), same=((0, "pairs", 0),)),
    "mutual": ArraySpec(frozenset({"float64"}), (None,)),
}

PairKey = tuple[bytes, bytes]


def set_key(*arrays: np.ndarray) -> bytes:
    """SHA-256 of arrays (dtype, shape and bytes of each): the key of a channel set."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.digest()


def cache_scope(kind: str, dtype: torch.dtype, device: torch.device, **values: object) -> str:
    """The scope of ``kind`` entries computed with ``values`` (JSON-able) in ``dtype`` on
    ``device`` with this machine's torch and CPU kernels."""
    values = {
        "kind": kind,
        "version": CACHE_VERSION,
        "dtype": str(dtype),
        "device": device.type,
        "torch": torch.__version__,
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "mkl": os.environ.get("MKL_ENABLE_INSTRUCTIONS", ""),
        **values,
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:24]


class BlockCache:
    """The blocks of earlier analyses (read from ``previous`` folders, first match wins) and
    those of this one, written to ``folder`` by :meth:`save`."""

    def __init__(self, folder: Path, previous: Sequence[Path] = ()) -> None:
        self.folder = Path(folder)
        self.previous = [Path(p) for p in previous]
        self._loaded: dict[str, tuple[dict[bytes, np.ndarray], dict[PairKey, np.ndarray]]] = {}
        self._used: dict[str, tuple[dict[bytes, np.ndarray], dict[PairKey, np.ndarray]]] = {}
        self._fused: dict[tuple[str, bytes], dict[str, np.ndarray]] = {}

    def information(self, scope: str, key: bytes, width: int) -> np.ndarray | None:
        """The stored information ``[width]`` of a set, or ``None``."""
        found = self._load(scope)[0].get(key)
        return found if found is not None and found.shape == (width,) else None

    def mutual(self, scope: str, pair: PairKey, shape: tuple[int, int]) -> np.ndarray | None:
        """The stored I(U;V) block of ``pair`` (two set keys), or ``None``."""
        found = self._load(scope)[1].get(pair)
        return found if found is not None and found.shape == shape else None

    def keep(self, scope: str, information: dict[bytes, np.ndarray],
             mutual: dict[PairKey, np.ndarray]) -> None:  # fmt: skip
        """Record blocks this analysis used (found or computed) for :meth:`save`."""
        used = self._used.setdefault(scope, ({}, {}))
        used[0].update(information)
        used[1].update(mutual)

    def fused(
        self, scope: str, key: bytes, specs: dict[str, ArraySpec]
    ) -> dict[str, np.ndarray] | None:
        """A stored fused hotspot whose arrays are exactly ``specs`` and finite, or
        ``None`` (one that does not check out is ignored with a warning)."""
        name = f"{FUSED_PREFIX}{key.hex()}.npz"
        for folder in (self.folder, *self.previous):
            path = folder / scope / name
            if not path.is_file():
                continue
            try:
                arrays = load_arrays(path, specs)
                if not all(np.isfinite(a).all() for a in arrays.values()):
                    raise RecordError(f"{path}: values not finite")
            except RecordError as err:
                log.warning("ignored the analysis cache %s: %s", path, err)
                continue
            self._fused[(scope, key)] = arrays
            return arrays
        return None

    def keep_fused(self, scope: str, key: bytes, arrays: dict[str, np.ndarray]) -> None:
        """Record a fused hotspot this analysis used, for :meth:`save`."""
        self._fused[(scope, key)] = arrays

    def save(self) -> None:
        """Write every scope's used blocks (one file each) and fused hotspots into
        ``folder``, atomically."""
        for scope, (information, mutual) in self._used.items():
            target = self.folder / scope
            target.mkdir(parents=True, exist_ok=True)
            atomic_savez(target / BLOCKS_FILE, _arrays(information, mutual), compressed=False)
        for (scope, key), arrays in self._fused.items():
            target = self.folder / scope
            target.mkdir(parents=True, exist_ok=True)
            atomic_savez(target / f"{FUSED_PREFIX}{key.hex()}.npz", arrays, compressed=False)

    def _load(self, scope: str) -> tuple[dict[bytes, np.ndarray], dict[PairKey, np.ndarray]]:
        if scope not in self._loaded:
            self._loaded[scope] = ({}, {})
            for folder in (self.folder, *self.previous):
                path = folder / scope / BLOCKS_FILE
                if path.is_file():
                    self._loaded[scope] = _read(path)
                    break
        return self._loaded[scope]


def _arrays(information: dict[bytes, np.ndarray], mutual: dict[PairKey, np.ndarray]) -> dict:
    keys = list(dict.fromkeys([*information, *(k for pair in mutual for k in pair)]))
    index = {k: i for i, k in enumerate(keys)}
    widths = [len(information[k]) if k in information else 0 for k in keys]
    pairs = list(mutual)
    return {
        "set_keys": np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), _DIGEST),
        "widths": np.asarray(widths, np.int64),
        "information": _concat(information[k] for k in keys if k in information),
        "pairs": np.asarray([[index[a], index[b]] for a, b in pairs], np.int64).reshape(-1, 2),
        "shapes": np.asarray([mutual[p].shape for p in pairs], np.int64).reshape(-1, 2),
        "mutual": _concat(mutual[p] for p in pairs),
    }


def _concat(blocks: Iterable[np.ndarray]) -> np.ndarray:
    flat = [np.asarray(b, np.float64).ravel() for b in blocks]
    return np.concatenate(flat) if flat else np.zeros(0)


def _read(path: Path) -> tuple[dict[bytes, np.ndarray], dict[PairKey, np.ndarray]]:
    """The blocks of ``path``, or none (with a warning) when it does not check out whole."""
    try:
        arrays = load_arrays(path, _SPECS)
        return _unpack(arrays, path)
    except RecordError as err:
        log.warning("ignored the analysis cache %s: %s", path, err)
        return {}, {}


def _unpack(
    arrays: dict[str, np.ndarray], path: Path
) -> tuple[dict[bytes, np.ndarray], dict[PairKey, np.ndarray]]:
    keys = [bytes(row) for row in arrays["set_keys"]]
    widths, shapes, pairs = arrays["widths"], arrays["shapes"], arrays["pairs"]
    info, mutual = arrays["information"], arrays["mutual"]
    problems = [
        (len(set(keys)) != len(keys), "a set key appears twice"),
        ((widths < 0).any() or (widths > MAX_CHANNELS).any(), "a width out of bounds"),
        ((shapes < 0).any() or (shapes > MAX_CHANNELS).any(), "a shape out of bounds"),
        (widths.sum() != len(info), "widths do not add up"),
        ((pairs < 0).any() or (pairs >= len(keys)).any(), "a pair names no set"),
        (shapes.prod(1).sum() != len(mutual), "shapes do not add up"),
        (not (np.isfinite(info).all() and np.isfinite(mutual).all()), "values not finite"),
    ]
    for bad, what in problems:
        if bad:
            raise RecordError(f"{path}: {what}")
    ends = np.cumsum(widths)
    information = {k: info[e - w : e] for k, w, e in zip(keys, widths, ends, strict=True) if w > 0}
    blocks, at = {}, 0
    for (a, b), (ka, kb) in zip(pairs.tolist(), shapes.tolist(), strict=True):
        blocks[(keys[a], keys[b])] = mutual[at : at + ka * kb].reshape(ka, kb)
        at += ka * kb
    return information, blocks
