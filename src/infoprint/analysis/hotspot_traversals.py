"""What a hotspot encodes: decode a traversal along its representative channel.

For each hotspot, the representative is the member channel closest to the hotspot's
medoid (smallest summed distance to the other members, in the distance the hotspot was
found with) whose run can be decoded; the other members are tried in that order when a
run cannot be. A run's decoder is, by default, its model rebuilt from its ``last.ckpt``
(in the run folder or in ``checkpoints/``, where Lightning's ModelCheckpoint puts it;
loaded with ``weights_only=True``; the checkpoint describes its model); a run
refingerprinted from its checkpoint (``source=checkpoints``) is decoded by that checkpoint,
which its fingerprint names with the file's sha256 (a checkpoint changed since is refused,
not decoded). A run without a
checkpoint, or whose checkpoint is another project's (no infoprint model description), is
skipped with a note, not a failure, unless ``traversals.loader`` names a function of the
run directory that returns the run's module: then that module's ``traversals.decoder``
method decodes. The channel sweeps the range its posterior means span on the probe set
while the other channels stay at a probe image's posterior mean (Murphy, Dillavou &
Bassett 2025, Sec. 4; Higgins et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoprint.analysis.decoding import Decoder, is_image_shape, traversals
from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering, Hotspot, distance_matrix
from infoprint.fingerprint.record import Fingerprint
from infoprint.fingerprint.stage import files_digest
from infoprint.run.directory import RunDirectory
from infoprint.store.checkpoint import CheckpointError
from infoprint.store.layout import CHECKPOINT_FILE

CHECKPOINT_PLACES = (CHECKPOINT_FILE, f"checkpoints/{CHECKPOINT_FILE}")
"""Where a run's last checkpoint is looked for, in order: infoprint's run folder, then
Lightning's ModelCheckpoint default (lightning-hydra-template's ``checkpoints/``)."""

Loader = Callable[[Path], Any]
"""``traversals.loader``: the run directory -> the run's module (a torch module)."""


class TraversalUnavailable(RuntimeError):
    """The run's decoder cannot be rebuilt (no or unreadable checkpoint, no image data);
    ``path`` is the file or job directory concerned."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class NotAnImage(TraversalUnavailable):
    """The run's data are not images: there is nothing to draw (not a failure)."""


class NoDecoder(TraversalUnavailable):
    """No decoder infoprint can rebuild and no ``traversals.loader``: the run has no
    checkpoint (``reason="no_checkpoint"``) or another project's (``"foreign"``). Skipped
    with a note, not a failure."""

    def __init__(self, message: str, path: Path, reason: str) -> None:
        super().__init__(message, path)
        self.reason = reason


@dataclass
class HotspotTraversal:
    hotspot: Hotspot
    run_id: str
    job: int
    channel: int
    values: np.ndarray  # [K] channel values traversed
    images: np.ndarray  # [B, K, C, H, W]: one row per base probe point
    reconstructions: np.ndarray  # [B, C, H, W]: the base points decoded unchanged


def members_by_centrality(
    structure: EnsembleStructure, clustering: Clustering, label: int
) -> list[int]:
    """Indices (into the kept channels) of the hotspot's members, closest to its medoid
    first (smallest summed distance to the other members; ties in channel order)."""
    members = np.flatnonzero(clustering.labels == label)
    d = distance_matrix(structure, clustering.measure)[np.ix_(members, members)]
    return [int(m) for m in members[np.argsort(d.sum(axis=1), kind="stable")]]


def representative(structure: EnsembleStructure, clustering: Clustering, label: int) -> int:
    """Index (into the kept channels) of the hotspot member closest to its medoid."""
    return members_by_centrality(structure, clustering, label)[0]


def find_checkpoint(job_dir: Path) -> Path | None:
    """The run's last checkpoint (see :data:`CHECKPOINT_PLACES`), or None."""
    found = (Path(job_dir) / place for place in CHECKPOINT_PLACES)
    return next((path for path in found if path.is_file()), None)


def load_decoder(
    job_dir: Path, loader: Loader | None = None, decoder: str = "decode_mean"
) -> Decoder:
    """The run's decoder: codes [n, d] -> images [n, C, H, W] on the CPU.

    Its module is ``loader(job_dir)`` when a loader is given, else the model rebuilt from
    the run's last checkpoint; ``decoder`` names the module's decoding method."""
    job_dir = Path(job_dir)
    run = RunDirectory(job_dir)
    _check_image(run.load_fingerprint().meta.get("observation_shape"), run.fingerprint_file)
    return _module_decoder(job_dir, find_checkpoint(job_dir), loader, decoder)


def _check_image(shape: Any, where: Path) -> None:
    if shape is not None and not is_image_shape(shape):
        raise NotAnImage(f"{where}: observation shape {shape} is not an image", where)


def fingerprinted_checkpoint(fp: Fingerprint) -> Path | None:
    """The checkpoint a fingerprint of ``source=checkpoints`` was encoded from, or None for
    a fingerprint of any other source.

    Its run.json names the file and its sha256 (read as untrusted: the path is used only
    when a regular file there has that digest). Raises :class:`TraversalUnavailable` when
    the file is gone or has changed since (retrained, overwritten): its decoder would not
    be the encoder's."""
    provenance = fp.meta.get("provenance")
    if not isinstance(provenance, dict) or provenance.get("source") != "checkpoints":
        return None
    path, digest = provenance.get("path"), provenance.get("digest")
    if not (isinstance(path, str) and isinstance(digest, str)):
        raise TraversalUnavailable(
            f"run {fp.run_id}: its fingerprint's provenance names no checkpoint and digest",
            Path(fp.path or "."),
        )
    checkpoint = Path(path)
    if not checkpoint.is_file():
        raise TraversalUnavailable(
            f"{checkpoint}: the checkpoint run {fp.run_id} was fingerprinted from is no longer "
            f"a file there",
            checkpoint,
        )
    if files_digest([checkpoint]) != digest:
        raise TraversalUnavailable(
            f"{checkpoint}: changed since run {fp.run_id} was fingerprinted from it (sha256 "
            f"differs); analyse again to refingerprint it",
            checkpoint,
        )
    return checkpoint


def _module_decoder(
    job_dir: Path, checkpoint: Path | None, loader: Loader | None, decoder: str
) -> Decoder:
    """The decoder of ``loader(job_dir)``'s module, else of the model in ``checkpoint``."""
    from infoprint.models.builder import NoModelDescriptionError, load_model

    if loader is not None:
        try:
            module = loader(job_dir.resolve())
        except Exception as err:
            raise TraversalUnavailable(
                f"{job_dir}: traversals.loader failed ({type(err).__name__}: {err})", job_dir
            ) from err
    else:
        if checkpoint is None:
            places = " or ".join(str(job_dir / place) for place in CHECKPOINT_PLACES)
            raise NoDecoder(f"{job_dir}: no checkpoint ({places})", job_dir, "no_checkpoint")
        try:
            module = load_model(checkpoint)
        except NoModelDescriptionError as err:
            raise NoDecoder(str(err), checkpoint, "foreign") from err
        except CheckpointError as err:
            raise TraversalUnavailable(str(err), checkpoint) from err
    return _decoding(module, decoder, job_dir)


def _decoding(module: Any, decoder: str, job_dir: Path) -> Decoder:
    """``module.<decoder>`` in eval mode without gradients: codes go to the module's device
    and dtype, images come back as float32 on the CPU, checked to be [n, C, H, W]."""
    method = getattr(module, decoder, None)
    if not callable(method):
        raise TraversalUnavailable(
            f"{job_dir}: the run's module ({type(module).__name__}) has no method "
            f"{decoder!r} (traversals.decoder) to map codes to images",
            job_dir,
        )
    parameter = None
    if isinstance(module, torch.nn.Module):
        module.eval()
        parameter = next(module.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else None
    name = f"{type(module).__name__}.{decoder}"

    @torch.no_grad()
    def decode(z: torch.Tensor) -> torch.Tensor:
        images = method(z.to(device=device, dtype=dtype or z.dtype))
        if not (
            isinstance(images, torch.Tensor)
            and images.ndim == 4
            and images.shape[0] == len(z)
            and is_image_shape(images.shape[1:])
        ):
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
            raise TraversalUnavailable(
                f"{job_dir}: {name} returned {got} for {len(z)} codes; expected images "
                f"[n, C, H, W] with C = 1 or 3",
                job_dir,
            )
        return images.detach().float().cpu()

    return decode


@dataclass
class DecoderCache:
    """Each run's decoder (or why it has none), made once per analysis step."""

    loader: Loader | None = None
    decoder: str = "decode_mean"
    found: dict[str, Decoder | TraversalUnavailable] = field(default_factory=dict)

    def get(self, fp: Fingerprint) -> Decoder:
        if fp.run_id not in self.found and fp.path is None:  # a run without a folder
            self.found[fp.run_id] = NoDecoder(
                f"run {fp.run_id}: no run folder", Path(), "no_checkpoint"
            )
        if fp.run_id not in self.found:
            try:
                self.found[fp.run_id] = self._load(fp)
            except TraversalUnavailable as err:
                self.found[fp.run_id] = err
        found = self.found[fp.run_id]
        if isinstance(found, TraversalUnavailable):
            raise found
        return found

    def _load(self, fp: Fingerprint) -> Decoder:
        """From the run's folder, or from the checkpoint it was refingerprinted from (a
        folder of that source's cache holds only the fingerprint)."""
        checkpoint = fingerprinted_checkpoint(fp)
        if checkpoint is None:
            return load_decoder(Path(fp.path), self.loader, self.decoder)  # type: ignore[arg-type]
        _check_image(fp.meta["provenance"].get("observation_shape"), checkpoint)
        return _module_decoder(checkpoint.parent, checkpoint, self.loader, self.decoder)

    def failed(self, fp: Fingerprint, err: TraversalUnavailable) -> None:
        """``fp``'s decoder failed while decoding: remember why (and drop its module)."""
        self.found[fp.run_id] = err


def hotspot_traversal(
    structure: EnsembleStructure,
    clustering: Clustering,
    hotspot: Hotspot,
    fingerprints: dict[str, Fingerprint],
    n_bases: int = 3,
    steps: int = 9,
    decoders: DecoderCache | None = None,
) -> HotspotTraversal:
    """Traverse the representative channel of ``hotspot`` from ``n_bases`` probe points:
    the member closest to the medoid whose run decodes (see the module docstring).

    Raises the reason when no member's run decodes: :class:`NotAnImage` at once; else the
    first failure if any, else the first :class:`NoDecoder` (every run skipped)."""
    decoders = decoders or DecoderCache()
    errors: list[TraversalUnavailable] = []
    tried: set[str] = set()
    for index in members_by_centrality(structure, clustering, hotspot.hotspot):
        run_id = str(structure.run_ids[index])
        if run_id in tried:
            continue
        tried.add(run_id)
        fp = fingerprints[run_id]
        try:
            return _traverse(fp, decoders.get(fp), hotspot, structure, index, n_bases, steps)
        except NotAnImage:
            raise
        except TraversalUnavailable as err:
            decoders.failed(fp, err)
            errors.append(err)
    failures = [e for e in errors if not isinstance(e, NoDecoder)]
    raise (failures or errors)[0]


def _traverse(
    fp: Fingerprint,
    decode: Decoder,
    hotspot: Hotspot,
    structure: EnsembleStructure,
    index: int,
    n_bases: int,
    steps: int,
) -> HotspotTraversal:
    channel = int(structure.channels[index])
    mu = torch.from_numpy(fp.mu.astype(np.float32))
    low, high = np.quantile(fp.mu[:, channel], [0.02, 0.98])
    values = torch.linspace(float(low), float(high), steps)
    bases = np.linspace(0, fp.n_points - 1, n_bases).round().astype(int)
    images = np.stack([traversals(decode, mu[b], [channel], values)[0] for b in bases])
    return HotspotTraversal(
        hotspot=hotspot,
        run_id=fp.run_id,
        job=int(structure.jobs[index]),
        channel=channel,
        values=values.numpy(),
        images=images,
        reconstructions=decode(mu[bases]).numpy(),
    )


def hotspot_traversals(
    structure: EnsembleStructure,
    clustering: Clustering,
    found: Sequence[Hotspot],
    fingerprints: Sequence[Fingerprint],
    n_bases: int = 3,
    steps: int = 9,
    loader: Loader | None = None,
    decoder: str = "decode_mean",
) -> tuple[list[HotspotTraversal], list[tuple[Hotspot, TraversalUnavailable]]]:
    """Traversals for every hotspot of ``clustering``; also those left out, and why."""
    by_run = {fp.run_id: fp for fp in fingerprints}
    decoders = DecoderCache(loader, decoder)
    done, missing = [], []
    for hotspot in found:
        if hotspot.measure != clustering.measure:
            continue
        try:
            done.append(
                hotspot_traversal(structure, clustering, hotspot, by_run, n_bases, steps, decoders)
            )
        except TraversalUnavailable as err:
            missing.append((hotspot, err))
    return done, missing


SKIP_REASONS = {
    "foreign": "the runs' checkpoints are not infoprint's (they hold no infoprint model "
    "description)",
    "no_checkpoint": "the runs have no last checkpoint (last.ckpt in the run folder or in "
    "checkpoints/)",
}


def skip_notes(
    skipped: Sequence[tuple[Hotspot, NoDecoder]], n_hotspots: int, decoder: str = "decode_mean"
) -> list[str]:
    """One note per reason the traversals of ``skipped`` hotspots (of ``n_hotspots``) were
    not drawn, saying how to draw them."""
    notes = []
    for reason, text in SKIP_REASONS.items():
        names = [f"{h.measure}/{h.hotspot}" for h, err in skipped if err.reason == reason]
        if not names:
            continue
        which = "" if len(names) == n_hotspots else f" for hotspots {', '.join(names)}"
        notes.append(
            f"traversals skipped{which}: {text}; set traversals.loader=package.module:function "
            f"(run dir -> module with a `{decoder}` method) to draw them"
        )
    return notes
