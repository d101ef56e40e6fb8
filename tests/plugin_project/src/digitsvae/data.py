import lightning.pytorch as L
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset


class DigitsData(L.LightningDataModule):
    """sklearn's 8x8 digits in [0, 1], items (x, label)."""

    def __init__(self, batch_size: int = 64):
        super().__init__()
        self.batch_size = batch_size
        self.data_train = None

    def setup(self, stage=None):
        digits = load_digits()
        x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
        self.data_train = TensorDataset(x, torch.tensor(digits.target))

    def train_dataloader(self):
        return DataLoader(self.data_train, batch_size=self.batch_size, shuffle=True)
