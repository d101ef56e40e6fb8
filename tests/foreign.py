"""A sweep of another Lightning+Hydra project, as infoprint's fingerprint callback leaves
it (lightning-hydra-template's layout), and a user module decoding its runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from support import factor_fingerprint

N, RUNS = 120, 4
JOBS = ["0", "1", "2", "seed_3"]  # lightning-hydra-template numbers its jobs; any name works


def foreign_sweep(directory: Path, project: str | None = "my-project") -> Path:
    """A lightning-hydra-template multirun as infoprint's fingerprint callback leaves it:
    per job fingerprint.npz + run.json (model = the user's LightningModule), the user's
    checkpoints/last.ckpt (no infoprint model description), .hydra/ and wandb/."""
    rng = np.random.default_rng(0)
    a, b = np.arange(N) % 6, (np.arange(N) // 6) % 3
    for r, name in enumerate(JOBS):
        job = directory / name
        wandb = {"entity": "my-team", "project": project, "run_id": f"w{r}", "mode": "offline"}
        fp = factor_fingerprint(
            a,
            b,
            rng,
            run_id=f"lit{r}",
            job_num=r,
            sweep="2025-01-01_00-00-00",
            model="LitVAE",
            hyperparameters={"lr": 0.001},
            observation_shape=[1, 4, 4],
            wandb=wandb if project else None,
        )
        fp.save(job)
        (job / "checkpoints").mkdir()
        torch.save(
            {
                "state_dict": {"decoder.weight": torch.ones(16, 2)},
                "hyper_parameters": {"lr": 0.001, "latent_dim": 2},
                "global_step": 100,
                "epoch": 1,
                "pytorch-lightning_version": "2.4.0",
            },
            job / "checkpoints" / "last.ckpt",
        )
        (job / ".hydra").mkdir()
        (job / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    name: train\n")
        (job / "wandb").mkdir()
    return directory


DECODER_MODULE = '''
import torch

LOADED = []


class TinyDecoder(torch.nn.Module):
    """Codes [n, 2] -> 4 x 4 grey images whose brightness follows channel 0."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.5))

    def decode_mean(self, z):
        rows = torch.sigmoid(self.scale * z[:, :1] + torch.linspace(-1, 1, 4))
        return rows[:, None, :, None].expand(-1, 1, 4, 4)

    def render(self, z):
        return self.decode_mean(z)


def load(run_dir):
    assert (run_dir / "checkpoints" / "last.ckpt").is_file(), run_dir
    LOADED.append(run_dir)
    return TinyDecoder()


def not_a_module(run_dir):
    return "nothing"
'''
