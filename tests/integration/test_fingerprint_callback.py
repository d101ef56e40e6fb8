"""The fingerprint callback as a drop-in: any module with an encoder, any map-style dataset,
either Lightning package; a wrong contract fails at setup, before a training step."""

from __future__ import annotations

import lightning.pytorch as L
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.distributions import Independent, Normal
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from infoprint.callbacks import FingerprintCallback
from infoprint.callbacks.probe_source import ContractError
from infoprint.fingerprint.capture import posterior_parameters
from infoprint.fingerprint.probe import select_probe_set
from infoprint.fingerprint.record import Fingerprint


def make_module(base: type, method: str = "encode", output: str = "pair") -> type:
    """A tiny Gaussian encoder on vectors of 6, as a module of ``base`` (either package)."""

    class Tiny(base):
        def __init__(self, width: int = 6):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Linear(width, 4)
            self.steps = 0

        def training_step(self, batch, batch_idx):
            self.steps += 1
            x = batch[0] if isinstance(batch, list | tuple) else batch
            return self.net(x).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    def encoder(self, x):
        mu, logvar = self.net(x).chunk(2, dim=1)
        if output == "normal":
            return Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
        return mu, logvar

    setattr(Tiny, method, encoder)
    return Tiny


def trainer(base, root, callback, **kwargs):
    return base.Trainer(
        max_steps=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
        callbacks=[callback],
        **kwargs,
    )


X = torch.rand(64, 6)


@pytest.mark.parametrize("framework", [L, pl], ids=["lightning", "pytorch_lightning"])
def test_plain_dataloaders_and_no_factors(framework, tmp_path):
    framework.seed_everything(7)
    model = make_module(framework.LightningModule)()
    fit = trainer(framework, tmp_path, FingerprintCallback(size=40, seed=1))
    fit.fit(model, DataLoader(TensorDataset(X), batch_size=8))
    fp = Fingerprint.load(tmp_path)
    assert fp.mu.shape == (40, 2) and fp.factors is None and fp.meta["factor_names"] == []
    assert (fp.meta["model"], fp.meta["seed"], fp.meta["dataset"]) == ("Tiny", 7, "TensorDataset")
    assert fp.meta["hyperparameters"] == {"width": 6} and fp.meta["steps"] == 5
    indices = np.sort(np.random.default_rng(1).choice(64, size=40, replace=False))
    expected = model.net(X[indices]).detach()[:, :2].numpy()
    np.testing.assert_allclose(fp.mu, expected, rtol=1e-6, atol=1e-6)  # the probe points


class Shapes(torch.utils.data.Dataset):
    """A user dataset with a ``factors`` table and names, items x only."""

    factor_names = ("size", "hue")

    def __init__(self):
        self.x = torch.rand(50, 6)
        self.factors = np.stack([np.arange(50) % 5, np.arange(50) % 3], axis=1)

    def __len__(self):
        return 50

    def __getitem__(self, i):
        return self.x[i]


def test_a_hook_a_named_encoder_a_normal_posterior_and_a_factor_table(tmp_path):
    module = make_module(L.LightningModule, method="posterior", output="normal")
    data = Shapes()
    module.fingerprint_dataset = lambda self: data
    callback = FingerprintCallback(size=20, encoder="posterior")
    trainer(L, tmp_path, callback).fit(module(), DataLoader(TensorDataset(X), batch_size=8))
    fp = Fingerprint.load(tmp_path)
    assert fp.meta["factor_names"] == ["size", "hue"] and fp.meta["dataset"] == "Shapes"
    np.testing.assert_array_equal(fp.factors, data.factors[fp.probe_index])


def test_a_datamodules_training_set_with_label_items_gives_factors(tmp_path):
    class Data(L.LightningDataModule):
        def train_dataloader(self):
            labels = torch.arange(64) % 4
            return DataLoader(TensorDataset(X, labels), batch_size=8)

    trainer(L, tmp_path, FingerprintCallback(size=30)).fit(
        make_module(L.LightningModule)(), datamodule=Data()
    )
    fp = Fingerprint.load(tmp_path)
    assert fp.meta["factor_names"] == ["factor_0"]
    np.testing.assert_array_equal(fp.factors[:, 0], fp.probe_index % 4)


class Stream(IterableDataset):
    def __iter__(self):
        while True:
            yield torch.rand(6)


@pytest.mark.parametrize(
    ("module", "loader", "message"),
    [
        (
            make_module(L.LightningModule, method="embed"),
            TensorDataset(X),
            r"Tiny has no method 'encode'.*encoder=\.\.\.",
        ),
        (make_module(L.LightningModule), Stream(), r"not a map-style dataset.*fingerprint_dataset"),
        (make_module(L.LightningModule), [("a", 1)] * 8, r"x a tensor or array.*ToTensor"),
    ],
    ids=["no encoder", "iterable data", "not tensors"],
)
def test_a_wrong_contract_fails_before_the_first_step(module, loader, message, tmp_path):
    model = module()
    loader = DataLoader(loader, batch_size=None if isinstance(loader, Stream) else 4)
    with pytest.raises(ContractError, match=message):
        trainer(L, tmp_path, FingerprintCallback(size=4)).fit(model, loader)
    assert model.steps == 0 and not (tmp_path / "fingerprint.npz").exists()


def test_posterior_parameters_and_discrete_factors():
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2)
    got = posterior_parameters(Normal(mu, torch.exp(0.5 * logvar)), "f")
    torch.testing.assert_close(got[0], mu)
    torch.testing.assert_close(got[1], logvar)
    continuous = TensorDataset(X, torch.rand(64))  # not discrete: no factors, still a probe set
    assert select_probe_set(continuous, 10, 0).factors is None
