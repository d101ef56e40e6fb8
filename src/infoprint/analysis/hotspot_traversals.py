"""What a hotspot encodes: decode a traversal along its representative channel.

For each hotspot, the representative is the member channel closest to the hotspot's
medoid (smallest summed distance to the other members, in the distance the hotspot was
found with). Its run's model is rebuilt from the run's ``last.ckpt`` alone (loaded with
``weights_only=True``; the checkpoint describes its model); the channel sweeps the range its
posterior means span on the probe set while the other channels stay at a probe image's
posterior mean (Murphy, Dillavou & Bassett 2025, Sec. 4; Higgins et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from infoprint.analysis.decoding import Decoder, traversals
from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.analysis.hotspots import Clustering, Hotspot, distance_matrix
from infoprint.fingerprint.record import Fingerprint
from infoprint.plots.traversals import is_image_shape
from infoprint.run.directory import CheckpointError, RunDirectory


class TraversalUnavailable(RuntimeError):
    """The run's decoder cannot be rebuilt (no or unreadable checkpoint, no image data);
    ``path`` is the file or job directory concerned."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class NotAnImage(TraversalUnavailable):
    """The run's data are not images: there is nothing to draw (not a failure)."""


@dataclass
class HotspotTraversal:
    hotspot: Hotspot
    run_id: str
    job: int
    channel: int
    values: np.ndarray  # [K] channel values traversed
    images: np.ndarray  # [B, K, C, H, W]: one row per base probe point
    reconstructions: np.ndarray  # [B, C, H, W]: the base points decoded unchanged


def representative(structure: EnsembleStructure, clustering: Clustering, label: int) -> int:
    """Index (into the kept channels) of the hotspot member closest to its medoid."""
    members = np.flatnonzero(clustering.labels == label)
    d = distance_matrix(structure, clustering.measure)[np.ix_(members, members)]
    return int(members[np.argmin(d.sum(axis=1))])


def load_decoder(job_dir: Path) -> Decoder:
    """The run's decoder (mean of the likelihood), rebuilt from its ``last.ckpt``."""
    run = RunDirectory(job_dir)
    shape = run.load_fingerprint().meta.get("observation_shape")
    if shape is None or not is_image_shape(shape):
        raise NotAnImage(
            f"{job_dir}: observation shape {shape} is not an image", run.fingerprint_file
        )
    try:
        model = run.load_model()
    except CheckpointError as err:
        raise TraversalUnavailable(str(err), run.checkpoint) from err

    @torch.no_grad()
    def decode(z: torch.Tensor) -> torch.Tensor:
        return model.decode_mean(z)

    return decode


def hotspot_traversal(
    structure: EnsembleStructure,
    clustering: Clustering,
    hotspot: Hotspot,
    fingerprints: dict[str, Fingerprint],
    n_bases: int = 3,
    steps: int = 9,
) -> HotspotTraversal:
    """Traverse the representative channel of ``hotspot`` from ``n_bases`` probe points."""
    index = representative(structure, clustering, hotspot.hotspot)
    run_id, channel = str(structure.run_ids[index]), int(structure.channels[index])
    fp = fingerprints[run_id]
    decode = load_decoder(fp.path)
    mu = torch.from_numpy(fp.mu.astype(np.float32))
    low, high = np.quantile(fp.mu[:, channel], [0.02, 0.98])
    values = torch.linspace(float(low), float(high), steps)
    bases = np.linspace(0, fp.n_points - 1, n_bases).round().astype(int)
    images = np.stack([traversals(decode, mu[b], [channel], values)[0] for b in bases])
    return HotspotTraversal(
        hotspot=hotspot,
        run_id=run_id,
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
) -> tuple[list[HotspotTraversal], list[tuple[Hotspot, TraversalUnavailable]]]:
    """Traversals for every hotspot of ``clustering``; also those left out, and why."""
    by_run = {fp.run_id: fp for fp in fingerprints}
    done, missing = [], []
    for hotspot in found:
        if hotspot.measure != clustering.measure:
            continue
        try:
            done.append(hotspot_traversal(structure, clustering, hotspot, by_run, n_bases, steps))
        except TraversalUnavailable as err:
            missing.append((hotspot, err))
    return done, missing
