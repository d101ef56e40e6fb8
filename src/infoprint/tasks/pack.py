"""A pack job: the runs ``seed=s`` of several seeds trained together in one process.

``docs/architecture.md`` §9 (packs). ``python train.py -m seed='range(0,50)' pack=10``
makes :class:`~infoprint.tasks.sweeper.PackSweeper` launch 5 jobs; each gets the seeds and
job numbers of its members (``pack_seeds``, ``pack_jobs``) and :func:`train_pack` writes
every member's ordinary run directory, ``multirun/<sweep>/<job num>/``, the directory the
member's job has without packs. Its own directory, ``multirun/<sweep>/pack-<first job>/``,
holds the pack's log and ``pack.json`` (members and their outcome).

Per member, as the lone job: the rerun plan of its directory (skip a finished run, resume
an unfinished one from ``last.ckpt``); then the pack trains the members that start at the
same step in lockstep (:class:`~infoprint.models.pack.Pack`), writing each member's
``last.ckpt`` every ``callbacks.checkpoint.every_n_train_steps`` steps; then each member
is finished by the lone job's own code: a Trainer restores its final checkpoint (written
in Lightning's layout, :mod:`infoprint.run.checkpoint`), whose fit-end callbacks write the
fingerprint, metrics and images, with the member's training log replayed into its CSV log
and its own W&B run (group = sweep). A member whose loss turns non-finite gets its
``error.txt`` and leaves the pack; the others go on, and the job fails at the end naming
the failed members.

Member s is prepared exactly as the lone job prepares ``seed=s``:
``pl.seed_everything(s)``, the data module and the model (:func:`~infoprint.tasks.train.build`),
then the training loader's iterator, whose creation draws from torch's global generator as
Lightning's does. The state of torch's generator at that point becomes the member's own
:class:`torch.Generator`, from which its reparameterisation noise is drawn step by step as
the lone run draws it; so member s equals the lone run to rounding (1e-5 in float64,
``tests/integration/test_packs.py``). Precision: ``trainer.precision`` 32 (default) or
64 (``64-true``, as Lightning's double-precision plugin: built in float32, converted).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from infoprint.models.pack import MembersFailed, Pack, pack_dtype
from infoprint.models.vae import VAE
from infoprint.run.checkpoint import training_checkpoint
from infoprint.run.context import RunContext
from infoprint.run.directory import Attempt, RunDirectory
from infoprint.store.atomic import atomic_write_json
from infoprint.store.checkpoint import read_checkpoint, save_checkpoint
from infoprint.store.layout import CONFIG_TREE_FILE, PACK_FILE
from infoprint.tasks.config import check_pack_config, check_train_config, rerun_mode
from infoprint.tasks.terminal import show_config, silence_third_party_noise
from infoprint.tasks.train import TREE_FIRST, build, fit_run, train

log = logging.getLogger(__name__)

_DTYPES = {
    "32": torch.float32,
    "32-true": torch.float32,
    "64": torch.float64,
    "64-true": torch.float64,
}


@dataclass(eq=False)
class Member:
    """One run of a pack: its config, model, context, batches, noise and training log."""

    cfg: DictConfig
    model: VAE
    context: RunContext
    datamodule: pl.LightningDataModule
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]]
    generator: torch.Generator
    start: int = 0
    optimizer_state: dict[str, Any] | None = None
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    error: Exception | None = None

    @property
    def directory(self) -> RunDirectory:
        return self.context.directory


@dataclass(frozen=True)
class Schedule:
    """When the pack logs (Lightning's rule), saves checkpoints and reports progress."""

    log_every: int = 50
    checkpoint_every: int | None = None
    progress_every: int = 0


def member_config(cfg: DictConfig, seed: int, output_dir: Path | None = None) -> DictConfig:
    """``cfg`` as the lone job of ``seed`` sees it (a copy): its seed, no pack keys, and,
    when given, its run directory."""
    member = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(member):
        member.seed = int(seed)
        member.sweep_name = str(cfg.sweep_name)  # resolved once, shared by every member
        member.pack, member.pack_seeds, member.pack_jobs = 1, None, None
        if output_dir is not None:
            member.paths.output_dir = str(output_dir)
    return member


def precision_dtype(cfg: DictConfig) -> torch.dtype:
    return pack_dtype(OmegaConf.select(cfg, "trainer.precision", default="32-true"))


def prepare_member(
    cfg: DictConfig, checkpoint: dict[str, Any] | None = None, job_num: int | None = None
) -> Member:
    """The lone run's start for ``cfg.seed`` (job ``job_num``): seeded, built, its loader
    started; restored from ``checkpoint`` (weights, optimiser state, step) when resuming."""
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    datamodule, model, context = build(cfg, job_num)
    member = Member(
        cfg, model, context, datamodule, iter(datamodule.train_dataloader()), torch.Generator()
    )
    member.generator.set_state(torch.get_rng_state())
    if checkpoint is not None:
        model.load_state_dict(checkpoint["state_dict"])
        member.optimizer_state = checkpoint["optimizer_states"][0]
        member.start = int(checkpoint["global_step"])
    model.to(precision_dtype(cfg)).train()
    return member


def _log_row(logs: dict[str, torch.Tensor], k: int) -> dict[str, float]:
    return {"epoch": 0, **{name: float(value[k]) for name, value in logs.items()}}


def _report(live: Sequence[Member], step: int, max_steps: int, started: float, first: int):
    rate = (step - first) / max(time.perf_counter() - started, 1e-9)
    seeds = ",".join(str(m.context.seed) for m in live)
    log.info(
        "pack (seeds %s): step %d/%d (%.0f%%), %.1f steps/s, ~%.0f s left",
        seeds,
        step,
        max_steps,
        100 * step / max_steps,
        rate,
        (max_steps - step) / max(rate, 1e-9),
    )


def _save_checkpoints(pack: Pack, live: Sequence[Member], step: int) -> None:
    models = pack.members()
    for k, member in enumerate(live):
        state = training_checkpoint(models[k], pack.optimizer_state(k), step)
        save_checkpoint(state, member.directory.checkpoint)


def train_members(
    members: Sequence[Member],
    max_steps: int,
    schedule: Schedule = Schedule(),
    device: torch.device | str = "cpu",
) -> tuple[Pack | None, list[Member]]:
    """Train ``members`` (all at the same start step) together up to ``max_steps``.

    Returns the pack and the members still in it, in its order; a member whose loss is
    not finite leaves with its error in ``member.error``.
    """
    dtype = precision_dtype(members[0].cfg)
    live = list(members)
    pack = Pack([m.model for m in live], device)
    if live[0].optimizer_state is not None:
        pack.load_optimizer_states([m.optimizer_state for m in live])
    latent, first, started = live[0].model.latent_dim, live[0].start, time.perf_counter()
    for step in range(first, max_steps):
        x = torch.stack([next(m.batches)[0] for m in live]).to(device, dtype)
        shape = (x.shape[1], latent)
        noise = torch.stack(
            [torch.randn(shape, dtype=dtype, generator=m.generator) for m in live]
        ).to(device)
        while True:
            try:
                logs = pack.step(x, noise, step)
                break
            except MembersFailed as failed:
                for k, error in failed.errors.items():
                    live[k].error = error
                keep = [k for k in range(len(live)) if k not in failed.errors]
                if not keep:
                    return None, []
                pack, live = pack.without(set(failed.errors)), [live[k] for k in keep]
                x, noise = x[keep], noise[keep]
        if (step + 1) % schedule.log_every == 0:
            for k, member in enumerate(live):
                member.history.append((step, _log_row(logs, k)))
        if schedule.checkpoint_every and (step + 1) % schedule.checkpoint_every == 0:
            _save_checkpoints(pack, live, step + 1)
        if schedule.progress_every and (step + 1) % schedule.progress_every == 0:
            _report(live, step + 1, max_steps, started, first)
    pack.members()
    return pack, live


def pack_device(cfg: DictConfig) -> torch.device:
    """Where the pack trains: the GPU when ``trainer.accelerator`` allows it and one is
    there (as Lightning's ``auto``), else the CPU."""
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="auto"))
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def _schedule(cfg: DictConfig) -> Schedule:
    steps = int(cfg.trainer.max_steps)
    every = OmegaConf.select(cfg, "callbacks.checkpoint.every_n_train_steps", default=None)
    return Schedule(
        log_every=int(OmegaConf.select(cfg, "trainer.log_every_n_steps", default=50)),
        checkpoint_every=int(every) if every else None,
        progress_every=max(1, steps // 20),
    )


def _fail(member_cfg: DictConfig, error: BaseException, outcome: dict[str, Any]) -> None:
    """Record a member's failure in its error.txt (its directory is its lone job's)."""
    text = "".join(traceback.format_exception(error))
    RunDirectory(member_cfg.paths.output_dir).write_error(text)
    outcome.update(status="failed", error=f"{type(error).__name__}: {error}")
    log.error("pack member seed=%s failed: %s", member_cfg.seed, error)


def _begin(member_cfg: DictConfig, attempt: Attempt, job_num: int) -> Member:
    """Start a member as the lone job starts: resume from its checkpoint, or afresh."""
    run_dir = RunDirectory(member_cfg.paths.output_dir)
    checkpoint = None
    if attempt.checkpoint is not None:
        checkpoint = read_checkpoint(attempt.checkpoint)
    elif rerun_mode(member_cfg) == "overwrite":
        run_dir.remove_results()
    member = prepare_member(member_cfg, checkpoint, job_num)
    show_config(member_cfg, run_dir.config_tree_file, first=TREE_FIRST, echo=False)
    if checkpoint is not None:
        run_dir.check_same_run(
            member.context.identity(),
            checkpoint.get("hyper_parameters", {}).get("run", {}),
            attempt.checkpoint,
        )
    run_dir.archive_error()
    return member


def _finish(member: Member, pack: Pack | None, k: int, max_steps: int) -> str:
    """Write the member's final checkpoint; the lone job's code does the rest."""
    run_dir, keep = member.directory, member.cfg.get("callbacks", {}).get("checkpoint")
    if pack is not None:
        state = training_checkpoint(member.model, pack.optimizer_state(k), max_steps)
        save_checkpoint(state, run_dir.checkpoint)
    resumed = member.start if member.start > 0 else None
    fit_run(
        member.cfg,
        run_dir,
        member.datamodule,
        member.model,
        member.context,
        run_dir.checkpoint,
        resumed,
        member.history,
    )
    if keep is None and pack is not None:
        run_dir.checkpoint.unlink(missing_ok=True)
    return "trained" if resumed is None else "resumed"


class PackMembersFailed(RuntimeError):
    """Some members of a pack failed (each has its error.txt); the others finished."""


def _train_group(group: list[tuple[Member, dict]], max_steps: int, device: torch.device) -> None:
    """Train members that start at the same step as one pack, then finish each."""
    members = [member for member, _ in group]
    pack, live = None, members
    if members[0].start < max_steps:
        try:
            pack, live = train_members(members, max_steps, _schedule(members[0].cfg), device)
        except Exception as error:  # the pack as a whole failed: every member records it
            for member, outcome in group:
                _fail(member.cfg, error, outcome)
            return
    for member, outcome in group:
        try:
            if member.error is not None:
                raise member.error
            k = next(i for i, m in enumerate(live) if m is member)
            outcome.update(status=_finish(member, pack, k, max_steps), run_id=member.context.run_id)
        except Exception as error:
            _fail(member.cfg, error, outcome)


def _train_waiting(waiting: list[tuple[DictConfig, Attempt, dict]], cfg: DictConfig) -> None:
    """Start every member to train, then train them in packs by their start step."""
    started: list[tuple[Member, dict]] = []
    for member_cfg, attempt, outcome in waiting:
        try:
            started.append((_begin(member_cfg, attempt, outcome["job"]), outcome))
        except Exception as error:
            _fail(member_cfg, error, outcome)
    device = pack_device(cfg)
    for start in sorted({member.start for member, _ in started}):
        group = [(member, outcome) for member, outcome in started if member.start == start]
        _train_group(group, int(cfg.trainer.max_steps), device)


def train_pack(cfg: DictConfig) -> dict[str, Any]:
    """Train the members of a pack job (``pack_seeds``, ``pack_jobs``), each in its own run
    directory beside the pack's; returns the pack directory and the members' outcomes.
    Raises :class:`PackMembersFailed` after the others finished if some members failed."""
    silence_third_party_noise()
    check_train_config(cfg)
    check_pack_config(cfg)
    pack_dir = Path(cfg.paths.output_dir)
    RunDirectory(pack_dir).adopt_hydra_record()  # the pack job's own record
    show_config(cfg, pack_dir / CONFIG_TREE_FILE, first=TREE_FIRST)
    if cfg.get("torch_threads"):
        torch.set_num_threads(int(cfg.torch_threads))
    outcomes, waiting = [], []
    for seed, job in zip(cfg.pack_seeds, cfg.pack_jobs, strict=True):
        member_cfg = member_config(cfg, seed, pack_dir.parent / str(job))
        outcome: dict[str, Any] = {
            "seed": int(seed),
            "job": int(job),
            "output_dir": str(member_cfg.paths.output_dir),
        }
        outcomes.append(outcome)
        atomic_write_json(pack_dir / PACK_FILE, {"members": outcomes})
        run_dir = RunDirectory(member_cfg.paths.output_dir)
        run_dir.path.mkdir(parents=True, exist_ok=True)
        attempt = run_dir.plan(rerun_mode(member_cfg))
        if attempt.skip:
            try:  # a finished run: the lone job's own skip (and identity check)
                outcome.update(train(member_cfg))
            except Exception as error:
                _fail(member_cfg, error, outcome)
        else:
            waiting.append((member_cfg, attempt, outcome))
    _train_waiting(waiting, cfg)
    atomic_write_json(pack_dir / PACK_FILE, {"members": outcomes})
    failed = [o for o in outcomes if o.get("status") == "failed"]
    if failed:
        raise PackMembersFailed(
            f"{len(failed)} of {len(outcomes)} pack members failed (the others finished): "
            + "; ".join(f"{o['output_dir']}: {o['error']}" for o in failed)
        )
    return {"output_dir": str(pack_dir), "members": outcomes}
