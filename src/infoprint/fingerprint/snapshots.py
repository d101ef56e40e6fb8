"""Fingerprints during training: a run's snapshot series (``docs/architecture.md`` §4).

The paper (Sec. 4.3) finds repeat runs consistent at the end of training "even though
there is often a point during training with substantial variety across repeat runs". A
snapshot is the full fingerprint (every channel's posterior on the probe set) at one
training step; a run keeps its series in ``snapshots.npz``, pickle-free::

    steps     [S] int64, strictly increasing
    mu        [S, N, d] float32
    logvar    [S, N, d] float32
    probe_digest  0-d unicode: the probe set all snapshots were taken on

A resumed run first drops the snapshots taken after the step it resumes from (that stretch
is trained again; one at that very step shares the checkpoint's weights and stays), so the
series has no gaps and no duplicates. Every write is atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infoprint.fingerprint.record import LOGVAR_BOUND, MU_BOUND, FingerprintError
from infoprint.store.atomic import atomic_savez
from infoprint.store.layout import SNAPSHOTS_FILE
from infoprint.store.records import load_arrays


@dataclass
class SnapshotSeries:
    """Fingerprints of one run at increasing training steps, on one probe set."""

    steps: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    probe_digest: str

    @classmethod
    def empty(cls, probe_digest: str, n_points: int, dim: int) -> SnapshotSeries:
        return cls(
            steps=np.zeros(0, np.int64),
            mu=np.zeros((0, n_points, dim), np.float32),
            logvar=np.zeros((0, n_points, dim), np.float32),
            probe_digest=probe_digest,
        )

    def __len__(self) -> int:
        return len(self.steps)

    def append(self, step: int, mu: np.ndarray, logvar: np.ndarray) -> None:
        if len(self) and step <= int(self.steps[-1]):
            raise ValueError(f"snapshot step {step} is not after the last one ({self.steps[-1]})")
        self.steps = np.append(self.steps, np.int64(step))
        self.mu = np.concatenate([self.mu, mu[None].astype(np.float32)])
        self.logvar = np.concatenate([self.logvar, logvar[None].astype(np.float32)])

    def before(self, step: int) -> SnapshotSeries:
        """The snapshots taken before ``step`` (what a run resumed at ``step`` keeps)."""
        keep = self.steps < step
        return SnapshotSeries(self.steps[keep], self.mu[keep], self.logvar[keep], self.probe_digest)

    def at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        (index,) = np.flatnonzero(self.steps == step)
        return self.mu[index], self.logvar[index]

    def save(self, directory: Path) -> Path:
        path = Path(directory) / SNAPSHOTS_FILE
        arrays = {"steps": self.steps, "mu": self.mu, "logvar": self.logvar}
        return atomic_savez(path, {**arrays, "probe_digest": np.array(self.probe_digest)}, False)

    @classmethod
    def load(cls, directory: Path) -> SnapshotSeries:
        """Load and validate ``snapshots.npz`` (errors name the file)."""
        path = Path(directory) / SNAPSHOTS_FILE
        if not path.is_file():
            raise FingerprintError(f"{path}: file not found")
        arrays = load_arrays(path)
        missing = sorted({"steps", "mu", "logvar", "probe_digest"} - set(arrays))
        if missing:
            raise FingerprintError(f"{path}: missing arrays {missing}")
        series = cls(arrays["steps"], arrays["mu"], arrays["logvar"], str(arrays["probe_digest"]))
        series.validate(path)
        return series

    def validate(self, path: Path) -> None:
        s = len(self.steps)
        if self.steps.ndim != 1 or self.steps.dtype.kind not in "iu":
            raise FingerprintError(f"{path}: steps must be integer [S]")
        if np.any(np.diff(self.steps) <= 0):
            raise FingerprintError(
                f"{path}: steps are not strictly increasing: {self.steps.tolist()}"
            )
        if self.mu.ndim != 3 or self.mu.shape != self.logvar.shape or self.mu.shape[0] != s:
            raise FingerprintError(
                f"{path}: mu and logvar must both be [{s}, N, d], got {self.mu.shape} and "
                f"{self.logvar.shape}"
            )
        for name, values, bound in (
            ("mu", self.mu, MU_BOUND),
            ("logvar", self.logvar, LOGVAR_BOUND),
        ):
            if not np.isfinite(values).all() or (values.size and np.abs(values).max() > bound):
                raise FingerprintError(f"{path}: {name} is not finite or outside ±{bound:g}")


@dataclass(frozen=True)
class SnapshotSchedule:
    """When to snapshot: every ``every_n_steps`` steps and at ``steps``; step 0 (the
    initialisation) and the final step are always in a non-empty schedule."""

    every_n_steps: int = 0
    steps: frozenset[int] = frozenset()

    @classmethod
    def parse(
        cls, every_n_steps: int, steps: str | list[int] | None, max_steps: int
    ) -> SnapshotSchedule:
        """``steps``: a list of steps, or ``"log:K"`` for K log-spaced steps in [1, max_steps]."""
        if every_n_steps < 0:
            raise ValueError(f"fingerprint.every_n_steps must be >= 0, got {every_n_steps}")
        if isinstance(steps, str):
            kind, _, count = steps.partition(":")
            if kind != "log" or not count.isdigit() or int(count) < 1:
                raise ValueError(
                    f"fingerprint.snapshot_steps: {steps!r}; expected a list or 'log:K'"
                )
            spaced = np.unique(np.round(np.logspace(0, np.log10(max(max_steps, 1)), int(count))))
            chosen = frozenset(int(s) for s in spaced)
        else:
            chosen = frozenset(int(s) for s in (steps or ()))
            if any(s < 0 for s in chosen):
                raise ValueError(f"fingerprint.snapshot_steps must be >= 0, got {sorted(chosen)}")
        return cls(int(every_n_steps), chosen)

    @property
    def active(self) -> bool:
        return bool(self.every_n_steps or self.steps)

    def due(self, step: int) -> bool:
        return step in self.steps or (self.every_n_steps > 0 and step % self.every_n_steps == 0)
