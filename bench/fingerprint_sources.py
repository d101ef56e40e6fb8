"""Time to fingerprint one model at 1,000 probe points (64 px dSprites), by source.

Each source fingerprints the same architecture, disentanglement_lib's conv encoder
(conv 32-32-64-64, fc 256, 10 latents; random weights), on the same 1,000 probe images of
procedural dSprites at 64 px:

- ``dlib``: a TensorFlow SavedModel with the release's ``gaussian_encoder`` signature, in
  the release's folder layout (TF import and module load included);
- ``encoders``: the TorchScript export of an infoprint ConvNet;
- ``checkpoints``: an infoprint ``last.ckpt`` rebuilt with ``load_model``.

Each is timed cold (a fresh cache: load + encode + information + save) and warm (the
cached record read back), as ratios against the bare torch encode of the same 1,000 images
measured in the same process. Run on a quiet machine; the load is printed.

    python bench/fingerprint_sources.py [--points 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from infoprint.data.sprites import ProceduralSprites
from infoprint.fingerprint.probe import select_probe_set
from infoprint.models.builder import build_model, model_spec
from infoprint.models.export import export_encoder
from infoprint.sources.checkpoints import CheckpointSource
from infoprint.sources.dlib import DlibSource
from infoprint.sources.encoders import EncoderSource


def conv_model():
    spec = model_spec(
        objective={"_target_": "infoprint.models.objectives.BetaVAE", "beta": 1.0},
        net={"_target_": "infoprint.models.nets.ConvNet", "latent_dim": 10},
        likelihood={"_target_": "infoprint.models.likelihoods.Bernoulli"},
        optim={"_target_": "torch.optim.Adam", "lr": 1e-4},
        observation_shape=(1, 64, 64),
        dataset_size=737_280,
    )
    return build_model(spec).eval()


def write_dlib_model(folder: Path) -> None:
    """disentanglement_lib's conv_encoder with random weights, as a gaussian_encoder
    SavedModel in ``<folder>/model/tfhub``."""
    import tensorflow as tf

    layers = [
        tf.keras.layers.Conv2D(32, 4, 2, "same", activation="relu"),
        tf.keras.layers.Conv2D(32, 4, 2, "same", activation="relu"),
        tf.keras.layers.Conv2D(64, 2, 2, "same", activation="relu"),
        tf.keras.layers.Conv2D(64, 2, 2, "same", activation="relu"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(256, activation="relu"),
    ]

    class Encoder(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = tf.keras.Sequential(layers)
            self.body.build([None, 64, 64, 1])
            self.means, self.logvars = tf.keras.layers.Dense(10), tf.keras.layers.Dense(10)
            self.means.build([None, 256])
            self.logvars.build([None, 256])

        @tf.function(input_signature=[tf.TensorSpec([None, 64, 64, 1], tf.float32)])
        def encode(self, images):
            h = self.body(images)
            return {"mean": self.means(h), "logvar": self.logvars(h)}

    module = Encoder()
    tf.saved_model.save(
        module, str(folder / "model" / "tfhub"), signatures={"gaussian_encoder": module.encode}
    )


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, torch threads {torch.get_num_threads()}")
    dataset = ProceduralSprites(resolution=64)
    probe = select_probe_set(dataset, args.points, 0)
    model = conv_model()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_dlib_model(root / "dlib" / "0")
        export_encoder(model, root / "encoder.pt", (1, 64, 64))
        job = root / "run" / "0"
        job.mkdir(parents=True)
        torch.save(
            {
                "state_dict": model.state_dict(),
                "global_step": 0,
                "hyper_parameters": dict(model.hparams) | {"run": {"dataset": "sprites"}},
            },
            job / "last.ckpt",
        )

        def bare():
            with torch.no_grad():
                model.encode(torch.from_numpy(probe.images))

        sources = {
            "dlib": lambda cache: DlibSource(
                path=str(root / "dlib"),
                models="0",
                data=dataset,
                fingerprint={"size": args.points},
                cache_dir=cache,
            ),
            "encoders": lambda cache: EncoderSource(
                encoders=[str(root / "encoder.pt")],
                data=dataset,
                fingerprint={"size": args.points},
                cache_dir=cache,
            ),
            "checkpoints": lambda cache: CheckpointSource(
                path=str(job), data=dataset, fingerprint={"size": args.points}, cache_dir=cache
            ),
        }
        base = statistics.median(timed(bare) for _ in range(args.repeats))
        print(f"bare torch encode of {args.points} images: {base:.3f} s")
        print(f"{'source':<12} {'cold s':>8} {'cold/bare':>10} {'warm s':>8} {'warm/bare':>10}")
        for name, make in sources.items():
            cold, warm = [], []
            for k in range(args.repeats):
                cache = str(root / f"cache-{name}-{k}")
                source = make(cache)
                cold.append(timed(lambda s=source: list(s.iter_fingerprints())))
                assert not source.skipped, source.skipped
                warm.append(timed(lambda s=source: list(s.iter_fingerprints())))
            c, w = statistics.median(cold), statistics.median(warm)
            print(f"{name:<12} {c:>8.2f} {c / base:>10.1f} {w:>8.2f} {w / base:>10.1f}")


if __name__ == "__main__":
    main()
