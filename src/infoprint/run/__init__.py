"""Runs: a run's identity (:mod:`infoprint.run.context`), its directory's file names
(:mod:`infoprint.store.layout`) and the directory itself (:mod:`infoprint.run.directory`).

See ``docs/architecture.md`` §3. Import from the submodules.
"""
