"""FactorVAE: permutation, TC estimate, and two optimisers that each move only their own
parameters, once per step, through a real Lightning Trainer."""

import functools

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from infoprint.models.factor_vae import FactorVAE, permute_dims
from infoprint.models.nets import Discriminator, MLPNet
from infoprint.models.vae import VAE


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny ops on a shared 2-core machine run fastest on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Batches(IterableDataset):
    def __iter__(self):
        g = torch.Generator().manual_seed(0)
        while True:
            yield (torch.rand(16, 12, generator=g) > 0.5).float(), torch.zeros(16, 1)


def factor_vae(vae_lr=1e-3, discriminator_lr=1e-3) -> VAE:
    objective = FactorVAE(
        gamma=10.0,
        latent_dim=3,
        discriminator_hidden=16,
        discriminator_layers=2,
        discriminator_optim=functools.partial(
            torch.optim.Adam, lr=discriminator_lr, betas=(0.5, 0.9)
        ),
    )
    return VAE(
        MLPNet((12,), latent_dim=3, hidden=[16]),
        objective,
        optim=functools.partial(torch.optim.Adam, lr=vae_lr),
    )


def one_step(model: VAE) -> tuple[dict[str, torch.Tensor], pl.Trainer]:
    """Parameter deltas after one Trainer step."""
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    trainer = pl.Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(model, DataLoader(Batches(), batch_size=None))
    deltas = {k: (v.detach() - before[k]).abs().max() for k, v in model.named_parameters()}
    return deltas, trainer


def test_permute_dims_shuffles_each_channel_independently():
    torch.manual_seed(0)
    z = torch.arange(200.0).view(100, 2)
    shuffled = permute_dims(z)
    for k in range(2):
        assert torch.equal(shuffled[:, k].sort().values, z[:, k])
    assert not torch.equal(shuffled, z)
    # Channels are shuffled with different permutations: rows are broken up.
    assert (shuffled[:, 1] - shuffled[:, 0] != 1).any()


def test_discriminator_shape():
    d = Discriminator(latent_dim=10)
    linear = [m for m in d.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [1000] * 6 + [2]
    assert d(torch.randn(5, 10)).shape == (5, 2)


def test_tc_estimate_is_the_mean_logit_difference_without_discriminator_gradients():
    model = factor_vae()
    post = model.posterior(torch.rand(8, 12))
    value, logs = model.objective.regulariser(post, step=0)
    logits = model.objective.discriminator(post.z)
    tc = (logits[:, 0] - logits[:, 1]).mean()
    torch.testing.assert_close(logs["tc"], tc)
    torch.testing.assert_close(value, post.kl + 10.0 * tc)
    value.backward()
    assert all(p.grad is None for p in model.objective.discriminator.parameters())
    assert all(p.grad is not None for p in model.net.encoder.parameters())


def test_adversary_loss_reaches_only_the_discriminator():
    model = factor_vae()
    post = model.posterior(torch.rand(8, 12))
    loss, logs = model.objective.adversary_loss(post)
    assert 0.0 <= logs["discriminator/accuracy"].item() <= 1.0
    loss.backward()
    assert all(p.grad is None for p in model.net.parameters())
    assert all(p.grad is not None for p in model.objective.discriminator.parameters())


@pytest.mark.parametrize("frozen", ["vae", "discriminator"])
def test_each_optimiser_moves_only_its_own_parameters(frozen):
    """One step with the other optimiser's learning rate at 1e-30 (a no-op in float32)."""
    model = factor_vae(
        vae_lr=1e-30 if frozen == "vae" else 1e-3,
        discriminator_lr=1e-30 if frozen == "discriminator" else 1e-3,
    )
    deltas, trainer = one_step(model)
    assert trainer.global_step == 1  # one step, not one per optimiser
    vae = [bool(deltas[k] > 0) for k in deltas if k.startswith("net.")]
    discriminator = [bool(deltas[k] > 0) for k in deltas if k.startswith("objective.")]
    moving, still = (discriminator, vae) if frozen == "vae" else (vae, discriminator)
    assert moving and all(moving)
    assert still and not any(still)
