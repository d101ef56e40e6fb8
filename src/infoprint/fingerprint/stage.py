"""Fingerprinting as a stage of its own: models trained anywhere become ordinary runs.

See ``docs/architecture.md`` §4, §7. An :class:`ExternalRun` is a model that infoprint did
not train (a disentanglement_lib TF Hub module, a TorchScript encoder, a checkpoint to be
refingerprinted): its identity (model, hyper-parameters, seed, dataset), its provenance
(where it came from and a digest of its files) and how to load its encoder
``x -> (mu, logvar)``. :func:`fingerprint_run` encodes the probe set with it and writes the
same record a training run writes (``fingerprint.npz`` + ``run.json``), so the analysis,
studies and W&B treat it like any run.

Records are cached under ``<cache>/<run id>/<probe digest>-<size>/``: fingerprinting the
same model (same file digest) on the same probe set again loads the record instead. A run
id read from a file becomes a folder name only when it is a plain name
(:data:`RUN_ID_PATTERN`, not ``.``/``..``); any other id is refused (:class:`ModelError`),
so no record is written outside the cache folder.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from infoprint.fingerprint.capture import fingerprint_encoder
from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.record import Fingerprint
from infoprint.models.inference import Encoder
from infoprint.store.records import RecordError

log = logging.getLogger(__name__)


class ModelError(ValueError):
    """A model cannot be fingerprinted (wrong signature, outputs, data); names the file."""


@dataclass(frozen=True)
class ExternalRun:
    """A model trained elsewhere, as a run: identity, provenance, and its encoder loader."""

    run_id: str
    sweep: str
    job_num: int
    model: str
    hyperparameters: dict[str, Any]
    seed: int | None
    dataset: str
    provenance: dict[str, Any]
    load: Callable[[], Encoder] = field(compare=False, repr=False)

    def meta(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "sweep": self.sweep,
            "job_num": self.job_num,
            "model": self.model,
            "hyperparameters": self.hyperparameters,
            "seed": self.seed,
            "dataset": self.dataset,
            "steps": self.provenance.get("steps"),
            "provenance": self.provenance,
        }


def files_digest(paths: Iterable[Path]) -> str:
    """sha256 over the names and bytes of ``paths`` (files, in sorted order)."""
    h = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        h.update(path.name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")
"""Run ids that may name a cache folder: a plain name, no separators, not ``.``/``..``."""


def check_run_id(run_id: object, where: object) -> str:
    """``run_id`` if it can name a folder in the cache, else :class:`ModelError`."""
    if not (
        isinstance(run_id, str) and RUN_ID_PATTERN.fullmatch(run_id) and run_id not in {".", ".."}
    ):
        raise ModelError(
            f"{where}: run id {str(run_id)[:80]!r} is not a plain name "
            f"(letters, digits, '_', '.', '-'; at most 128)"
        )
    return run_id


def record_directory(cache: Path, run: ExternalRun, probe: ProbeSet) -> Path:
    check_run_id(run.run_id, run.provenance.get("path", run.run_id))
    return Path(cache) / run.run_id / f"{probe.digest[:16]}-{probe.size}"


def fingerprint_run(
    run: ExternalRun,
    probe: ProbeSet,
    cache: Path,
    batch_size: int = 500,
    device: torch.device | str = "cpu",
) -> Fingerprint:
    """The run's fingerprint on ``probe``: from the cache, or encoded and saved there."""
    directory = record_directory(cache, run, probe)
    cached = _cached(directory, run)
    if cached is not None:
        log.info("fingerprint of %s from cache %s", run.run_id, directory)
        return cached
    encode = run.load()
    with torch.no_grad():
        fingerprint = fingerprint_encoder(encode, probe, run.meta(), device, batch_size)
    fingerprint.save(directory)
    return fingerprint


def _cached(directory: Path, run: ExternalRun) -> Fingerprint | None:
    """The record in ``directory`` if it is this model's (same provenance, file digest
    included); None when absent, unreadable or of another version of the model."""
    try:
        cached = Fingerprint.load(directory)
    except RecordError:
        return None
    return cached if cached.meta.get("provenance") == run.provenance else None


def check_outputs(mu: torch.Tensor, logvar: torch.Tensor, n: int, where: str) -> None:
    """Encoder outputs must be two finite [n, d] tensors of the same shape."""
    if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[0] != n:
        raise ModelError(
            f"{where}: expected (mu, logvar) of shape [{n}, d] each, got "
            f"{tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
