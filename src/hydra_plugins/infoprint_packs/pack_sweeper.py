"""Hydra's basic sweeper, grouping the seeds of a sweep into packs when ``pack`` > 1.

The rule is :func:`infoprint.tasks.sweeper.pack_jobs` (``docs/architecture.md`` §9); this
module only makes it a Hydra plugin (Hydra instantiates sweepers from ``hydra_plugins``
only). ``conf/train.yaml`` selects it: ``hydra.sweeper._target_``.
"""

from __future__ import annotations

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.types import Override

from infoprint.errors import ConfigError
from infoprint.tasks.sweeper import PACK_KEY, pack_jobs


class PackSweeper(BasicSweeper):
    """:class:`BasicSweeper` whose jobs are packs of seeds when the config's ``pack`` > 1."""

    def split_arguments(  # type: ignore[override]  (an instance method: it reads the config)
        self, overrides: list[Override], max_batch_size: int | None
    ) -> list[list[list[str]]]:
        assert self.config is not None
        if any(o.get_key_element() == PACK_KEY and o.is_sweep_override() for o in overrides):
            raise ConfigError("pack cannot be swept: give it one value, e.g. pack=10")
        size = int(self.config.get(PACK_KEY) or 1)
        if size == 1:
            return BasicSweeper.split_arguments(overrides, max_batch_size)
        jobs = BasicSweeper.split_arguments(overrides, None)[0]
        packed = pack_jobs(jobs, size, int(self.config.seed))
        chunk = max_batch_size if max_batch_size and max_batch_size > 0 else len(packed)
        return [packed[i : i + chunk] for i in range(0, len(packed), chunk)]
