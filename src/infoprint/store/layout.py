"""The layout of a run directory: every file name a job directory holds, defined once.

See ``docs/architecture.md`` §3. A run directory (one job of a sweep, or one fingerprinted
model) holds::

    .hydra/config.yaml   the composed config (Hydra; absent for models trained elsewhere)
    config_tree.txt      the same config as the tree printed at job start
    run.json             the run's identity, probe digest, information and metrics
    fingerprint.npz      posteriors on the probe set (infoprint.fingerprint.record)
    snapshots.npz        the same at steps during training (infoprint.fingerprint.snapshots)
    last.ckpt            Lightning checkpoint with the model description (plain values)
    error.txt            traceback of a failed attempt (error.<k>.txt: earlier attempts)
    csv/metrics.csv      the training log
    wandb/               the run's W&B files (offline runs and their artifact staging)

A pack job (``docs/architecture.md`` §9) writes its members' run directories and keeps
its own log, config tree and ``pack.json`` (its members and their outcome) in a
directory of its own, which holds no run.
"""

from __future__ import annotations

FINGERPRINT_FILE = "fingerprint.npz"
SNAPSHOTS_FILE = "snapshots.npz"
RUN_FILE = "run.json"
CHECKPOINT_FILE = "last.ckpt"
ERROR_FILE = "error.txt"
CONFIG_TREE_FILE = "config_tree.txt"
HYDRA_DIR = ".hydra"
HYDRA_CONFIG = f"{HYDRA_DIR}/config.yaml"
HYDRA_PENDING = ".hydra-pending"
"""Where Hydra writes a training job's record (conf/train.yaml ``hydra.output_subdir``);
it replaces ``.hydra`` once the job is known to be this folder's run (§3)."""
CSV_DIR = "csv"
PACK_FILE = "pack.json"
WANDB_DIR = "wandb"
SUMMARY_FILE = "summary.json"
"""An analysis's summary (infoprint.pipeline.summary): a folder holding it is no run."""

MARKERS = (RUN_FILE, FINGERPRINT_FILE, ERROR_FILE, HYDRA_DIR, HYDRA_PENDING, CHECKPOINT_FILE)
"""Any of these makes a directory a run directory."""

NOT_RUNS = frozenset({WANDB_DIR, CSV_DIR, HYDRA_DIR, HYDRA_PENDING, "__pycache__", "analysis"})
"""Names of folders beside run directories that hold no runs when they are what their name
says (``infoprint.sources.directory``: an analysis output, W&B files, a CSV log, Python caches);
a sweep of that name is read like any other."""
