"""Export a trained model's encoder to TorchScript, to be fingerprinted without infoprint.

``export_encoder(model, path, example)`` traces ``encode`` (also as ``forward``) and saves
a TorchScript archive: ``torch.jit.load(path).encode(x) -> (mu, logvar)`` then works in
any PyTorch, and ``analyze.py source=encoders`` fingerprints it like a run.

    python -m infoprint.models.export multirun/<sweep>/<job> encoder.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from infoprint.models.builder import MODEL_SPEC_KEY
from infoprint.models.vae import VAE
from infoprint.run.directory import RunDirectory


class _Encoder(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x)


def export_encoder(model: VAE, path: str | Path, observation_shape: tuple[int, ...]) -> Path:
    """Trace ``model``'s encoder on a batch of zeros of ``observation_shape`` and save it."""
    wrapper = _Encoder(model.net).eval()
    example = torch.zeros(2, *observation_shape)
    with torch.no_grad():
        traced = torch.jit.trace_module(wrapper, {"forward": example, "encode": example})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    traced.save(str(path))
    return path


def main(argv: list[str] | None = None) -> None:
    """Export the encoder of a run directory's ``last.ckpt`` (the command in the docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a run directory holding last.ckpt")
    parser.add_argument("output", help="the TorchScript file to write")
    args = parser.parse_args(argv)
    model = RunDirectory(args.run_dir).load_model()
    shape = tuple(model.hparams[MODEL_SPEC_KEY]["observation_shape"])
    print(export_encoder(model, args.output, shape))


if __name__ == "__main__":
    main()
