"""Export a trained model's encoder, to be fingerprinted without infoprint.

``export_encoder(model, path, observation_shape)`` writes, for a ``.pt2`` path, a
``torch.export`` program whose ``forward`` is ``encode`` (batch size dynamic):
``torch.export.load(path).module()(x) -> (mu, logvar)`` then works in any recent PyTorch,
and ``analyze.py source=encoders`` fingerprints it like a run. For any other suffix it
writes TorchScript (``encode`` also as ``forward``), which torch deprecates (2.13) but
still reads; infoprint reads both.

    python -m infoprint.models.export multirun/<sweep>/<job> encoder.pt2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from infoprint.models.builder import MODEL_SPEC_KEY, load_model
from infoprint.models.vae import VAE
from infoprint.store.layout import CHECKPOINT_FILE


class _Encoder(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(x)


def export_encoder(model: VAE, path: str | Path, observation_shape: tuple[int, ...]) -> Path:
    """Export ``model``'s encoder (on a batch of zeros of ``observation_shape``) to ``path``:
    a ``torch.export`` program for ``.pt2``, else a (deprecated) TorchScript trace."""
    wrapper = _Encoder(model.net).eval()
    example = torch.zeros(2, *observation_shape)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        if path.suffix == ".pt2":
            batch = torch.export.Dim("batch", min=1)
            program = torch.export.export(wrapper, (example,), dynamic_shapes=({0: batch},))
            torch.export.save(program, str(path))
        else:
            traced = torch.jit.trace_module(wrapper, {"forward": example, "encode": example})
            traced.save(str(path))
    return path


def main(argv: list[str] | None = None) -> None:
    """Export the encoder of a run directory's ``last.ckpt`` (the command in the docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a run directory holding last.ckpt")
    parser.add_argument(
        "output", help="the file to write: .pt2 (torch.export) or TorchScript (any other suffix)"
    )
    args = parser.parse_args(argv)
    model = load_model(Path(args.run_dir) / CHECKPOINT_FILE)
    shape = tuple(model.hparams[MODEL_SPEC_KEY]["observation_shape"])
    print(export_encoder(model, args.output, shape))


if __name__ == "__main__":
    main()
