import functools

import pytest
import torch
from torch.distributions import Bernoulli, Laplace, Normal, kl_divergence

from infoprint.models import likelihoods
from infoprint.models.nets import ConvNet, MLPNet
from infoprint.models.objectives import BetaVAE, Posterior
from infoprint.models.vae import VAE, NonFiniteLossError


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny ops on a shared 2-core machine run fastest on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("channels", "side"), [(1, 64), (1, 32), (3, 64)])
def test_conv_net_shapes(channels, side):
    net = ConvNet((channels, side, side), latent_dim=7)
    mu, logvar = net.encode(torch.rand(5, channels, side, side))
    assert mu.shape == logvar.shape == (5, 7)
    assert net.decode(mu).shape == (5, channels, side, side)


def test_conv_net_rejects_unsupported_shapes():
    with pytest.raises(ValueError, match="multiple of 16"):
        ConvNet((1, 28, 28))
    with pytest.raises(ValueError, match="net=mlp"):
        ConvNet((2,))


def test_mlp_net_any_shape_and_bad_activation():
    net = MLPNet((2,), latent_dim=1, hidden=[8, 8], activation="tanh")
    mu, _ = net.encode(torch.rand(4, 2))
    assert net.decode(mu).shape == (4, 2)
    with pytest.raises(ValueError, match="net.activation"):
        MLPNet((2,), activation="swish")


def test_likelihoods_match_torch_distributions():
    x = torch.rand(6, 1, 4, 4)
    out = torch.randn(6, 1, 4, 4)
    expected = {
        "bernoulli": -Bernoulli(logits=out, validate_args=False).log_prob(x).flatten(1).sum(1),
        "gaussian": -Normal(out, 0.3).log_prob(x).flatten(1).sum(1),
        "laplace": -Laplace(out, 0.3).log_prob(x).flatten(1).sum(1),
    }
    made = {
        "bernoulli": likelihoods.Bernoulli(),
        "gaussian": likelihoods.Gaussian(0.3),
        "laplace": likelihoods.Laplace(0.3),
    }
    for name, want in expected.items():
        torch.testing.assert_close(made[name].nll(x, out), want)
    with pytest.raises(ValueError, match="likelihood.scale"):
        likelihoods.Gaussian(-1.0)


def test_kl_per_channel_is_the_closed_form():
    mu, logvar = torch.randn(16, 3), torch.randn(16, 3)
    post = Posterior(mu=mu, logvar=logvar, z=mu)
    q = Normal(mu, (0.5 * logvar).exp())
    want = kl_divergence(q, Normal(torch.zeros(3), torch.ones(3))).mean(0)
    torch.testing.assert_close(post.kl_per_channel, want)
    loss, _ = BetaVAE(beta=4.0).regulariser(post, step=0)
    torch.testing.assert_close(loss, 4.0 * want.sum())
    with pytest.raises(ValueError, match="model.beta"):
        BetaVAE(beta=-1)


def test_beta_vae_lowers_its_loss():
    torch.manual_seed(0)
    model = VAE(
        MLPNet((16,), latent_dim=2, hidden=[32]),
        BetaVAE(1.0),
        optim=functools.partial(torch.optim.Adam, lr=1e-2),
    )
    optimizer = model.configure_optimizers()
    prototypes = (torch.rand(4, 16) > 0.5).float()
    x = prototypes[torch.arange(64) % 4]

    def loss():
        p = model.posterior(x)
        recon = likelihoods.Bernoulli().nll(x, model.decode(p.z)).mean()
        return recon + model.objective.regulariser(p, 0)[0]

    first = loss().item()
    for _ in range(100):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    assert loss().item() < first - 1.0


def test_non_finite_loss_is_reported_with_the_step():
    model = VAE(MLPNet((4,), latent_dim=1, hidden=[4]), BetaVAE(1.0))
    x = torch.full((2, 4), float("nan"))
    model.log_dict = lambda *a, **k: None
    with pytest.raises(NonFiniteLossError, match="step 0.*optim.lr"):
        model.training_step((x, None), 0)
