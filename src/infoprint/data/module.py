"""LightningDataModule over any image dataset: i.i.d. uniform training batches.

disentanglement_lib trains on minibatches of independent uniform draws from the dataset
(Locatello et al. 2019), not on epochs; training length is set in steps
(``trainer.max_steps``). Batches are gathered in the loader workers, each seeded from the
run's seed and its worker id, so a run is reproducible for a fixed ``num_workers``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from infoprint.data.base import ImageDataset, gather


def physical_memory() -> int:
    """Bytes of memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class UniformBatches(IterableDataset):
    """Endless stream of (images, factors) batches drawn uniformly with replacement."""

    def __init__(self, dataset: ImageDataset, batch_size: int, seed: int) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        worker = get_worker_info()
        rng = np.random.default_rng([self.seed, worker.id if worker else 0])
        n = len(self.dataset)
        while True:
            images, factors = gather(self.dataset, rng.integers(0, n, size=self.batch_size))
            yield torch.from_numpy(images), torch.from_numpy(factors)


class GroundTruthDataModule(pl.LightningDataModule):
    """Training data for one run; ``dataset`` is also what the probe set is drawn from."""

    def __init__(
        self, dataset: ImageDataset, batch_size: int = 64, seed: int = 0, num_workers: int = 0
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0, got {num_workers}")
        batch_bytes = batch_size * math.prod(dataset.observation_shape) * 4
        if batch_bytes > physical_memory() // 4:
            raise ValueError(
                f"data.batch_size={batch_size}: one batch of float32 observations "
                f"{tuple(dataset.observation_shape)} takes {batch_bytes / 2**30:.1f} GiB, over "
                f"a quarter of this machine's {physical_memory() / 2**30:.0f} GiB of memory"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers

    def fingerprint_dataset(self) -> ImageDataset:
        """The probe set's dataset (the fingerprint callback's hook): the training data."""
        return self.dataset

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            UniformBatches(self.dataset, self.batch_size, self.seed),
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
