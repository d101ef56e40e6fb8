"""The bottom layer: files only (``docs/architecture.md`` §2, §3, §4).

Every file name of a run directory (:mod:`~infoprint.store.layout`), writing whole or not
at all (:mod:`~infoprint.store.atomic`), reading files we did not write within bounds
(:mod:`~infoprint.store.records`), checkpoints (:mod:`~infoprint.store.checkpoint`) and
replacing a folder whole (:mod:`~infoprint.store.replace`). It imports nothing of
infoprint's. Import from the submodules.
"""
