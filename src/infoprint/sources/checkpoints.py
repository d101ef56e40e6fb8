"""Our own checkpoints, refingerprinted on another probe set (e.g. the paper's 1,000
points after training with 500).

See ``docs/architecture.md`` §7. Every ``last.ckpt`` below ``path`` is rebuilt with
:func:`infoprint.models.builder.load_model` (``weights_only=True``; the checkpoint describes
its model) and fingerprinted on the probe set of ``data``. A checkpoint trained on another
dataset than the probe set's, or on another observation shape, is skipped with the reason.

Run directories are found as the directory source finds them
(:func:`infoprint.sources.directory.find_job_dirs`), and a second copy of a run (the same run
id in two folders, e.g. ``0 (copy)/`` or ``.ipynb_checkpoints/2``) is skipped, the first
in path order kept. ``run.json`` is read as untrusted: a ``run_id`` that is not a plain
name (it names the cache folder) or a ``job_num`` that is not an integer skips the run,
naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.stage import ExternalRun, ModelError, check_run_id, files_digest
from infoprint.models.builder import MODEL_SPEC_KEY
from infoprint.run.directory import RunDirectory
from infoprint.sources.base import SkippedRun
from infoprint.sources.directory import find_job_dirs
from infoprint.sources.external import ExternalSource, one_line
from infoprint.store.checkpoint import CheckpointError, read_checkpoint
from infoprint.store.layout import CHECKPOINT_FILE


class CheckpointSource(ExternalSource):
    """Every ``last.ckpt`` below ``path`` (a sweep, several, or one run directory)."""

    kind = "checkpoints"

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"source.path {self.path}: no such file or directory")

    def describe(self) -> str:
        return f"checkpoints below {self.path.resolve()}"

    def _checkpoints(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        jobs = find_job_dirs(self.path)
        return [job / CHECKPOINT_FILE for job in jobs if (job / CHECKPOINT_FILE).is_file()]

    def runs(self) -> Iterator[ExternalRun | SkippedRun]:
        seen: dict[str, Path] = {}
        for index, checkpoint in enumerate(self._checkpoints()):
            try:
                run = self._run(index, checkpoint)
            except (CheckpointError, ModelError) as err:
                yield SkippedRun(str(checkpoint), str(err))
                continue
            except Exception as err:  # an unreadable checkpoint is one skipped run
                yield SkippedRun(str(checkpoint), f"{checkpoint}: {one_line(err)}")
                continue
            if run.run_id in seen:
                yield SkippedRun(
                    str(checkpoint),
                    f"run {run.run_id} again (first read from {seen[run.run_id]}): a copied "
                    f"job folder; counted once",
                )
                continue
            seen[run.run_id] = checkpoint
            yield run

    def _run(self, index: int, checkpoint: Path) -> ExternalRun:
        ckpt = read_checkpoint(checkpoint)
        hparams = ckpt.get("hyper_parameters") or {}
        identity, spec = hparams.get("run") or {}, hparams.get(MODEL_SPEC_KEY)
        if spec is None:
            raise ModelError(
                f"{checkpoint}: holds no infoprint model description (hyper_parameters."
                f"{MODEL_SPEC_KEY}): not written by infoprint's training (a model of another "
                f"project), or by an infoprint from before descriptions were stored; "
                f"source=checkpoints rebuilds only infoprint's models. Fingerprint other "
                f"models with the fingerprint callback during training, or with "
                f"source=encoders (TorchScript files or module:function factories)"
            )
        run_dir = RunDirectory(checkpoint.parent)
        previous = _run_json(run_dir)
        run_id = previous.get("run_id") or f"ckpt-{files_digest([checkpoint])[:8]}"
        check_run_id(run_id, run_dir.run_file)
        job_num = previous.get("job_num", index)
        if isinstance(job_num, bool) or not isinstance(job_num, int | str):
            job_num = None
        try:
            job_num = int(job_num)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ModelError(
                f"{run_dir.run_file}: job_num {str(previous.get('job_num'))[:40]!r} is not an "
                f"integer"
            ) from None
        return ExternalRun(
            run_id=run_id,
            sweep=str(previous.get("sweep") or "checkpoints"),
            job_num=job_num,
            model=str(identity.get("model", "?")),
            hyperparameters=dict(identity.get("hyperparameters") or {}),
            seed=identity.get("seed"),
            dataset=str(identity.get("dataset", "?")),
            provenance={
                "source": "checkpoints",
                "path": str(checkpoint),
                "digest": files_digest([checkpoint]),
                "steps": int(ckpt.get("global_step", 0)),
                "observation_shape": list(spec["observation_shape"]),
            },
            load=lambda: run_dir.load_model().encode,
        )

    def check(self, run: ExternalRun, probe: ProbeSet) -> None:
        name = getattr(self.dataset, "name", "?")
        if run.dataset != name:
            raise ModelError(
                f"{run.provenance['path']}: trained on dataset {run.dataset!r}, the probe set "
                f"is from {name!r}"
            )
        shape = list(probe.images.shape[1:])
        if run.provenance["observation_shape"] != shape:
            raise ModelError(
                f"{run.provenance['path']}: trained on observations of shape "
                f"{run.provenance['observation_shape']}, the probe images are {shape}"
            )


def _run_json(run_dir: RunDirectory) -> dict[str, Any]:
    try:
        meta = json.loads(run_dir.run_file.read_text()) if run_dir.run_file.is_file() else {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return meta if isinstance(meta, dict) else {}
