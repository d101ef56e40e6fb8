"""How a sweep's jobs become packs of seeds (``pack=K``): the pack sweeper's rule.

``docs/architecture.md`` §9 (packs). ``python train.py -m seed='range(0,50)' pack=10``
expands the sweep as Hydra's basic sweeper does (the same 50 jobs, the same job numbers),
then groups the jobs that differ only in ``seed`` into packs of ``pack`` members and
launches one job per pack, whatever the launcher (basic, joblib, submitit): a pack job
carries its members' seeds and job numbers (``pack_seeds``, ``pack_jobs``) and writes
each member's run to the directory that member's job has without packs, so a sweep run
again with another ``pack`` (or none) finds the same runs. The pack job's own directory
is ``pack-<first member's job number>``. With ``pack=1`` (the default) nothing changes.
The sweeper itself is a Hydra plugin, ``hydra_plugins.infoprint_packs.pack_sweeper``
(Hydra loads sweepers only from that package).
"""

from __future__ import annotations

from collections.abc import Sequence

SEED_KEY = "seed"
PACK_KEY = "pack"


def _key(override: str) -> str:
    return override.partition("=")[0].lstrip("+~")


def pack_jobs(jobs: Sequence[Sequence[str]], size: int, default_seed: int) -> list[list[str]]:
    """The jobs of a sweep (override lists, in job-number order) packed ``size`` seeds per
    job: jobs that differ only in ``seed`` share packs, in job-number order."""
    groups: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for num, job in enumerate(jobs):
        seed, rest = default_seed, []
        for override in job:
            if _key(override) == SEED_KEY:
                seed = int(override.partition("=")[2])
            else:
                rest.append(override)
        groups.setdefault(tuple(rest), []).append((num, seed))
    packed = []
    for rest, members in groups.items():
        for i in range(0, len(members), size):
            nums, seeds = zip(*members[i : i + size], strict=True)
            packed.append(
                [
                    *rest,
                    f"{SEED_KEY}={seeds[0]}",
                    f"pack_seeds=[{','.join(map(str, seeds))}]",
                    f"pack_jobs=[{','.join(map(str, nums))}]",
                    f"hydra.sweep.subdir=pack-{nums[0]}",
                ]
            )
    return packed
