"""The course of training: when do hotspots form, and when do repeat runs disagree?

Murphy, Dillavou & Bassett (TMLR 2025), Sec. 4.3: repeat runs end with consistent latent
spaces "even though there is often a point during training with substantial variety
across repeat runs". From the runs' snapshot series (:mod:`infoprint.fingerprint.snapshots`)
at the steps every run has, per ensemble:

- each run's per-channel information against step;
- whole-latent-space NMI and VI between every pair of runs at every step (Monte Carlo,
  Sec. 4.3, with standard errors): median and quartiles over run pairs, and the step of
  least agreement (highest median VI);
- the channel structure at every step: channels kept (information ≥ threshold), OPTICS
  hotspots of the primary channel measure (−ln NMI;
  :data:`~infoprint.analysis.measures.PRIMARY_MEASURE`), the fraction of kept channels in
  hotspots;
- for every final hotspot of that measure, the first step at which its member channels agree:
  the mean NMI between its members at that step reaches ``agreement`` (default 0.5: half of the
  members' information shared on average) and stays there at every later step.

Runs without snapshots, or whose series lack a step the others have, are named in
``notes``; the final-fingerprint analysis is unaffected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from infoprint.analysis.ensemble import ensemble_structure
from infoprint.analysis.hotspots import Hotspot, cluster
from infoprint.analysis.measures import PRIMARY_MEASURE, channel_measure
from infoprint.analysis.outputs import Table
from infoprint.analysis.whole_space import compare_whole_spaces
from infoprint.fingerprint.record import Fingerprint
from infoprint.fingerprint.snapshots import SnapshotSeries
from infoprint.info import GaussianChannels, compare, information
from infoprint.store.layout import SNAPSHOTS_FILE
from infoprint.store.records import RecordError

_PRIMARY = channel_measure(PRIMARY_MEASURE)  # its hotspots are followed through training


@dataclass
class StepQuantities:
    """What the course of training measures at every step (arrays indexed [step, ...])."""

    information: list[np.ndarray]
    nmi: np.ndarray
    nmi_se: np.ndarray
    vi: np.ndarray
    vi_se: np.ndarray
    kept: np.ndarray
    n_hotspots: np.ndarray
    in_hotspots: np.ndarray


@dataclass
class TrainingCourse:
    """Everything the training step reports, by run and step."""

    steps: np.ndarray  # [S]
    run_ids: list[str]
    at: StepQuantities
    formation: list[tuple[int, int | None, float]]  # (hotspot, first agreeing step, final NMI)
    agreement: float
    notes: list[str] = field(default_factory=list)

    def pair_quantiles(self, which: str) -> np.ndarray:
        """[S, 3]: 25 %, 50 % and 75 % of the run-pair values of ``nmi`` or ``vi``."""
        values = getattr(self.at, which)
        upper = np.triu_indices(len(self.run_ids), 1)
        return np.quantile(values[:, upper[0], upper[1]], [0.25, 0.5, 0.75], axis=1).T

    @property
    def least_agreement_step(self) -> int:
        """The step where repeat runs differ most: the highest median VI over run pairs
        (early in training, when the posteriors still sit on the prior, NMI is 0 for lack
        of information, not for disagreement; VI is 0 there)."""
        return int(self.steps[int(np.argmax(self.pair_quantiles("vi")[:, 1]))])


def load_series(fingerprints: Sequence[Fingerprint]) -> tuple[dict[str, SnapshotSeries], list[str]]:
    """The snapshot series of the runs that have one on their own probe set, and notes."""
    series, notes = {}, []
    for fp in fingerprints:
        if fp.path is None or not (Path(fp.path) / SNAPSHOTS_FILE).is_file():
            notes.append(f"run {fp.run_id}: no snapshots")
            continue
        try:
            loaded = SnapshotSeries.load(Path(fp.path))
        except RecordError as err:
            notes.append(f"run {fp.run_id}: {err}")
            continue
        if loaded.probe_digest != fp.probe_digest:
            notes.append(f"run {fp.run_id}: snapshots of another probe set than its fingerprint")
            continue
        series[fp.run_id] = loaded
    return series, notes


def common_steps(series: dict[str, SnapshotSeries], notes: list[str]) -> np.ndarray:
    """Steps every run has; runs missing steps the others have are noted."""
    steps = set.intersection(*(set(s.steps.tolist()) for s in series.values()))
    for run_id, s in series.items():
        missing = sorted(set(s.steps.tolist()) - steps)
        if missing:
            notes.append(f"run {run_id}: steps {missing[:5]} not shared by all runs, left out")
    return np.array(sorted(steps), dtype=np.int64)


def _at(fp: Fingerprint, series: SnapshotSeries, step: int) -> Fingerprint:
    mu, logvar = series.at(step)
    return replace(
        fp, mu=mu, logvar=logvar, embedding_mu=None, embedding_logvar=None, embedding_index=None
    )


def _hotspot_agreement(hotspot: Hotspot, at: dict[str, SnapshotSeries], step: int) -> float:
    """Mean NMI between the hotspot's member channels at ``step``."""
    members = [at[run_id].at(step) for run_id, _, _ in hotspot.members]
    channels = [channel for _, _, channel in hotspot.members]
    mu = np.stack([m[0][:, c] for m, c in zip(members, channels, strict=True)], axis=1)
    logvar = np.stack([m[1][:, c] for m, c in zip(members, channels, strict=True)], axis=1)
    nmi = compare(GaussianChannels(mu, logvar), device="cpu", dtype=torch.float64).nmi.numpy()
    n = len(nmi)
    return float((nmi.sum() - np.trace(nmi)) / (n * (n - 1))) if n > 1 else 1.0


def _per_step(runs, series, steps, threshold, min_samples, xi, n_samples, seed, device):
    """Information, whole-space NMI / VI and channel structure at every step."""
    R, S = len(runs), len(steps)
    q = StepQuantities(
        information=[np.zeros((S, fp.n_channels)) for fp in runs],
        nmi=np.zeros((S, R, R)),
        nmi_se=np.zeros((S, R, R)),
        vi=np.zeros((S, R, R)),
        vi_se=np.zeros((S, R, R)),
        kept=np.zeros(S, int),
        n_hotspots=np.zeros(S, int),
        in_hotspots=np.zeros(S),
    )
    for s, step in enumerate(steps.tolist()):
        at_step = [_at(fp, series[fp.run_id], step) for fp in runs]
        for r, fp in enumerate(at_step):
            q.information[r][s] = information(GaussianChannels(fp.mu, fp.logvar), device="cpu")
        whole = compare_whole_spaces(at_step, n_samples=n_samples, seed=seed, device=device)
        q.nmi[s], q.nmi_se[s], q.vi[s], q.vi_se[s] = whole.nmi, whole.nmi_se, whole.vi, whole.vi_se
        structure = ensemble_structure(at_step, threshold=threshold, device=device)
        q.kept[s] = structure.n_channels
        clustering = cluster(structure, PRIMARY_MEASURE, min_samples, xi)
        if clustering is not None and len(clustering.labels):
            q.n_hotspots[s] = len(set(clustering.labels.tolist()) - {-1})
            q.in_hotspots[s] = float(np.mean(clustering.labels >= 0))
    return q


def _formation(final_hotspots, by_id, series, steps, agreement):
    """(hotspot, first step from which its members agree for good, final mean NMI)."""
    formation = []
    for hotspot in final_hotspots:
        if hotspot.measure != PRIMARY_MEASURE or any(m[0] not in by_id for m in hotspot.members):
            continue
        agree = np.array([_hotspot_agreement(hotspot, series, st) for st in steps.tolist()])
        below = np.flatnonzero(agree < agreement)
        first = 0 if not len(below) else int(below[-1]) + 1
        step = int(steps[first]) if first < len(steps) else None
        formation.append((hotspot.hotspot, step, float(agree[-1])))
    return formation


def training_course(
    fingerprints: Sequence[Fingerprint],
    final_hotspots: Sequence[Hotspot],
    *,
    threshold: float = 0.01,
    min_samples: int | str = "auto",
    xi: float = 0.05,
    agreement: float = 0.5,
    n_samples: int = 2000,
    seed: int = 0,
    device: str = "auto",
) -> TrainingCourse | None:
    """The course of training of ``fingerprints`` (None when fewer than 2 runs have
    snapshots); quantities as in the module docstring."""
    series, notes = load_series(fingerprints)
    runs = [fp for fp in fingerprints if fp.run_id in series]
    if len(runs) < 2:
        return None
    steps = common_steps(series, notes)
    q = _per_step(runs, series, steps, threshold, min_samples, xi, n_samples, seed, device)
    by_id = {fp.run_id: fp for fp in runs}
    return TrainingCourse(
        steps=steps,
        run_ids=list(by_id),
        at=q,
        formation=_formation(final_hotspots, by_id, series, steps, agreement),
        agreement=agreement,
        notes=notes,
    )


TRAINING_CAPTIONS = {
    "information": "Each run's channels during training: information (bits) of every channel "
    "against the training step (log scale), one panel per run; channels rise as they start "
    "to encode something and fall back when the run gives them up.",
    "agreement": "Whole latent spaces of repeat runs compared during training (Monte Carlo, "
    "paper Sec. 4.3): NMI (left) and VI (right) between every pair of runs, median and "
    "interquartile band over the pairs; the dashed line marks the step of least agreement.",
    "structure": "The ensemble's channel structure during training: channels above the "
    f"information threshold (all runs together), number of {_PRIMARY.symbol} hotspots, and the "
    "fraction of kept channels inside hotspots.",
}


def training_table(course: TrainingCourse) -> Table:
    """``training.csv``: per step, the run-pair quartiles of NMI and VI and the structure."""
    nmi, vi = course.pair_quantiles("nmi"), course.pair_quantiles("vi")
    rows = [
        [
            int(step),
            *nmi[s].tolist(),
            *vi[s].tolist(),
            int(course.at.kept[s]),
            int(course.at.n_hotspots[s]),
            float(course.at.in_hotspots[s]),
        ]
        for s, step in enumerate(course.steps)
    ]
    return Table(
        name="training",
        title="course of training",
        columns=[
            "step",
            "nmi_q25",
            "nmi_median",
            "nmi_q75",
            "vi_q25",
            "vi_median",
            "vi_q75",
            "channels_kept",
            _PRIMARY.column("hotspots"),
            "frac_in_hotspots",
        ],
        rows=rows,
        caption=(
            "Per snapshot step: whole-space NMI and VI (bits) between runs, quartiles over run "
            f"pairs (Monte Carlo, Sec. 4.3), channels kept, {_PRIMARY.symbol} hotspots and the "
            "fraction of kept channels in them. Least agreement at step "
            f"{course.least_agreement_step}."
        ),
        file="training.csv",
        terminal=["step", "nmi_median", "vi_median", "channels_kept", _PRIMARY.column("hotspots")],
    )


def formation_table(course: TrainingCourse) -> Table:
    """``hotspot_formation.csv``: when each final hotspot's members came to agree."""
    return Table(
        name="hotspot_formation",
        title="when the hotspots formed",
        columns=["hotspot", "first_step", "final_mean_nmi"],
        rows=[[h, s, n] for h, s, n in course.formation],
        caption=(
            f"For every final {_PRIMARY.symbol} hotspot, the first snapshot step from which the "
            f"mean NMI between its member channels stays at or above {course.agreement:g}; "
            "empty = never before the end."
        ),
        file="hotspot_formation.csv",
        terminal=["hotspot", "first_step", "final_mean_nmi"],
    )
