import lightning.pytorch as L
import torch
from torch import nn
from torch.distributions import Normal


class DigitsVAE(L.LightningModule):
    """A small MLP VAE on 8x8 digits; the encoder returns a Normal posterior."""

    def __init__(self, latent_dim: int = 3, hidden: int = 64, beta: float = 1.0, lr: float = 3e-3):
        super().__init__()
        self.save_hyperparameters()
        self.encoder = nn.Sequential(
            nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 64)
        )

    def encode(self, x):
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return Normal(mu, torch.exp(0.5 * logvar))

    def decode(self, z):
        return torch.sigmoid(self.decoder(z))

    def training_step(self, batch, batch_idx):
        x, _ = batch
        q = self.encode(x)
        z = q.rsample()
        recon = nn.functional.binary_cross_entropy(self.decode(z), x, reduction="sum") / len(x)
        kl = (0.5 * (q.loc**2 + q.scale**2 - 1) - torch.log(q.scale)).sum(1).mean()
        loss = recon + self.hparams.beta * kl
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
