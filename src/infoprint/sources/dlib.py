"""disentanglement_lib's 10,800 pretrained models as runs (Locatello et al. 2019).

See ``docs/architecture.md`` §7. The release (``unsupervised_study_v1``, one zip per model
number, unpacked as ``<path>/<number>/``) holds for each model ``model/tfhub``, a TF Hub
module whose ``gaussian_encoder`` signature maps ``images`` [B, 64, 64, C] in [0, 1]
(channels last) to ``mean`` and ``logvar``, and ``model/results/json/train_config.json``
(or ``model/results/gin/train.gin``), the model's gin bindings.

A model's method, hyper-parameter value, dataset and seed follow from its number as in
disentanglement_lib's ``config/unsupervised_study_v1/sweep.py``, whose grid is the
product (slowest first) of 7 datasets × 36 model settings × 50 seeds:
``number = 1800·dataset + 300·method + 50·value + seed``, with the datasets in the order
dsprites_full, color_dsprites, noisy_dsprites, scream_dsprites, smallnorb, cars3d
(shapes3d, the seventh, was not released) and the methods β-VAE, FactorVAE, DIP-VAE-I,
DIP-VAE-II, β-TCVAE, AnnealedVAE, six values each. Where the folder holds its gin record,
the two must agree, or the model is skipped with the reason.

TensorFlow (``pip install 'infoprint[tf]'``) is imported only here. A module's files are
hostile until checked: its ``saved_model.pb`` is parsed first, without TF's loader, and a
module with any op outside :data:`infoprint.sources.op_policy.TF_ENCODER_OPS` (in any
graph, init op or function) is skipped, naming the file and the op
(:func:`~infoprint.sources.op_policy.check_saved_model`). Only then is it loaded with
``tf.saved_model.load`` (what ``tensorflow_hub.load`` does for both the TF1 Hub format and
SavedModels), which restores variables and runs its (checked) init ops. Any error while
loading or evaluating one model skips that model with a one-line reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.stage import ExternalRun, ModelError, files_digest
from infoprint.models.inference import Encoder
from infoprint.sources.base import SkippedRun
from infoprint.sources.external import ExternalSource, one_line
from infoprint.sources.op_policy import check_saved_model

N_MODELS = 10_800
DATASETS = (
    "dsprites_full",
    "color_dsprites",
    "noisy_dsprites",
    "scream_dsprites",
    "smallnorb",
    "cars3d",
)


@dataclass(frozen=True)
class Method:
    """One of the study's six methods: our name, its gin name and swept value."""

    name: str
    gin_name: str
    gin_key: str
    key: str
    values: tuple[float, ...]


_ONE_TO_FIFTY = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
METHODS = (
    Method("beta_vae", "beta_vae", "vae.beta", "beta", (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)),
    Method(
        "factor_vae",
        "factor_vae",
        "factor_vae.gamma",
        "gamma",
        (10.0, 20.0, 30.0, 40.0, 50.0, 100.0),
    ),
    Method("dip_vae_i", "dip_vae_i", "dip_vae.lambda_od", "lambda_od", _ONE_TO_FIFTY),
    Method("dip_vae_ii", "dip_vae_ii", "dip_vae.lambda_od", "lambda_od", _ONE_TO_FIFTY),
    Method(
        "beta_tcvae", "beta_tc_vae", "beta_tc_vae.beta", "beta", (1.0, 2.0, 4.0, 6.0, 8.0, 10.0)
    ),
    Method(
        "annealed_vae",
        "annealed_vae",
        "annealed_vae.c_max",
        "c_max",
        (5.0, 10.0, 25.0, 50.0, 75.0, 100.0),
    ),
)
"""In the order of the release's 300-model blocks (sweep.py's ``get_default_models``)."""
PROBE_DATASETS = {
    "dsprites_full": ("dsprites", "sprites"),
    "color_dsprites": ("color_dsprites",),
    "noisy_dsprites": ("noisy_dsprites",),
    "scream_dsprites": ("scream_dsprites",),
    "smallnorb": ("smallnorb",),
    "cars3d": ("cars3d",),
}
"""infoprint datasets whose images a model trained on each dlib dataset can be probed on."""
SIGNATURE = "gaussian_encoder"


def describe_number(number: int) -> dict[str, Any]:
    """Method, hyper-parameter, dataset and seed of model ``number`` of the release."""
    if not 0 <= number < N_MODELS:
        raise ModelError(f"model number {number} is outside the release (0-{N_MODELS - 1})")
    dataset, rest = divmod(number, 1800)
    method, rest = divmod(rest, 300)
    value, seed = divmod(rest, 50)
    m = METHODS[method]
    return {
        "model": m.name,
        "hyperparameters": {m.key: m.values[value]},
        "dataset": DATASETS[dataset],
        "seed": seed,
        "gin": {
            "model.name": m.gin_name,
            m.gin_key: m.values[value],
            "dataset.name": DATASETS[dataset],
            "model.random_seed": seed,
        },
    }


def parse_models(models: str | int | Sequence[int | str]) -> list[int]:
    """``"0-299"``, ``"0-9,300"``, ``7`` or ``[0, 1, 300]`` -> sorted model numbers."""
    parts = (
        models.split(",")
        if isinstance(models, str)
        else [models]
        if isinstance(models, int)
        else list(models)
    )
    numbers: set[int] = set()
    for part in parts:
        text = str(part).strip()
        if m := re.fullmatch(r"(\d+)\s*-\s*(\d+)", text):
            numbers.update(range(int(m[1]), int(m[2]) + 1))
        elif text.isdigit():
            numbers.add(int(text))
        else:
            raise ValueError(f"source.models: {text!r} is not a number or a range like 0-299")
    return sorted(numbers)


def gin_record(model_dir: Path) -> dict[str, Any] | None:
    """The model's gin bindings from ``results/json/train_config.json`` or ``train.gin``."""
    as_json = model_dir / "results" / "json" / "train_config.json"
    as_gin = model_dir / "results" / "gin" / "train.gin"
    if as_json.is_file():
        try:
            raw = json.loads(as_json.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ModelError(f"{as_json}: unreadable ({err})") from err
    elif as_gin.is_file():
        raw = dict(re.findall(r"^\s*([\w.]+)\s*=\s*(.+?)\s*$", as_gin.read_text(), re.M))
    else:
        return None
    return {k: _gin_value(v) for k, v in raw.items()}


def _gin_value(value: Any) -> Any:
    text = str(value).strip().strip("'\"")
    try:
        return float(text) if "." in text or "e" in text.lower() else int(text)
    except ValueError:
        return text


def check_record(expected: dict[str, Any], record: dict[str, Any], where: Path) -> None:
    for key, want in expected.items():
        if key in record and record[key] != want:
            raise ModelError(
                f"{where}: {key} = {record[key]!r} in the model's gin record but {want!r} for "
                f"its number in the release"
            )


class DlibSource(ExternalSource):
    """Pretrained disentanglement_lib models ``models`` (numbers) below ``path``."""

    kind = "dlib"

    def __init__(self, path: str, models: str | int | Sequence[int | str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        self.models = parse_models(models)
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"source.path {self.path}: no such directory; download models with "
                f"https://storage.googleapis.com/disentanglement_lib/unsupervised_study_v1/"
                f"<number>.zip and unzip each into {self.path}/<number>/"
            )

    def describe(self) -> str:
        return f"disentanglement_lib models {_ranges(self.models)} in {self.path.resolve()}"

    def runs(self) -> Iterator[ExternalRun | SkippedRun]:
        for number in self.models:
            folder = self.path / str(number)
            try:
                yield self._run(number, folder)
            except ModelError as err:
                yield SkippedRun(str(folder), str(err))
            except Exception as err:  # an unreadable folder is one skipped model
                yield SkippedRun(str(folder), f"{folder}: {one_line(err)}")

    def _run(self, number: int, folder: Path) -> ExternalRun:
        described = describe_number(number)
        module = folder / "model" / "tfhub"
        if not module.is_dir():
            raise ModelError(f"{module}: no TF Hub module (expected <path>/<number>/model/tfhub)")
        record = gin_record(folder / "model")
        if record is not None:
            check_record(described["gin"], record, folder / "model" / "results")
        return ExternalRun(
            run_id=f"dlib-{number:05d}",
            sweep="disentanglement_lib",
            job_num=number,
            model=described["model"],
            hyperparameters=described["hyperparameters"],
            seed=described["seed"],
            dataset=described["dataset"],
            provenance={
                "source": "dlib",
                "path": str(folder),
                "number": number,
                "digest": files_digest(p for p in module.rglob("*") if p.is_file()),
            },
            load=lambda: load_tfhub_encoder(module),
        )

    def check(self, run: ExternalRun, probe: ProbeSet) -> None:
        name = getattr(self.dataset, "name", "?")
        if name not in PROBE_DATASETS[run.dataset]:
            raise ModelError(
                f"{run.provenance['path']}: model {run.job_num} was trained on {run.dataset}; "
                f"the probe set is from {name!r} (use one of {PROBE_DATASETS[run.dataset]})"
            )
        _, _, height, width = probe.images.shape
        low, high = float(probe.images.min()), float(probe.images.max())
        if (height, width) != (64, 64) or low < 0.0 or high > 1.0:
            raise ModelError(
                f"{run.provenance['path']}: disentanglement_lib encoders take 64x64 images in "
                f"[0, 1]; the probe images are {height}x{width} in [{low:.3g}, {high:.3g}]"
            )


def load_tfhub_encoder(module: Path) -> Encoder:
    """The module's ``gaussian_encoder`` signature as ``x [B, C, H, W] -> (mu, logvar)``."""
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ImportError(
            "source=dlib needs TensorFlow: pip install 'infoprint[tf]' (tensorflow-cpu)"
        ) from err
    check_saved_model(module)  # before TF runs anything of the module
    try:
        # TF1 Hub modules (the release's format, marked by tfhub_module.pb) keep their
        # inference graph under the empty tag set; SavedModels under their own tags.
        tags = [] if (module / "tfhub_module.pb").is_file() else None
        loaded = tf.saved_model.load(str(module), tags=tags)
    except Exception as err:  # TF raises many types for a missing or foreign module
        raise ModelError(f"{module}: not a loadable TF Hub module ({one_line(err)})") from None
    signature = getattr(loaded, "signatures", {}).get(SIGNATURE)
    if signature is None:
        raise ModelError(f"{module}: no {SIGNATURE!r} signature (has {sorted(loaded.signatures)})")
    _, spec = signature.structured_input_signature
    if "images" not in spec:
        raise ModelError(f"{module}: {SIGNATURE} takes {sorted(spec)}, expected 'images'")
    outputs = set(signature.structured_outputs)
    if not {"mean", "logvar"} <= outputs:
        raise ModelError(
            f"{module}: {SIGNATURE} returns {sorted(outputs)}, expected mean and logvar"
        )
    channels = spec["images"].shape[-1]

    def encode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = np.ascontiguousarray(x.cpu().numpy().transpose(0, 2, 3, 1), dtype=np.float32)
        if channels is not None and images.shape[-1] != channels:
            raise ModelError(
                f"{module}: {SIGNATURE} takes {channels}-channel images, the probe set has "
                f"{images.shape[-1]}"
            )
        try:
            out = signature(images=tf.constant(images))
        except Exception as err:  # InvalidArgumentError and the like: one line, no trace
            raise ModelError(f"{module}: {SIGNATURE} failed ({one_line(err)})") from None
        mu, logvar = (torch.from_numpy(np.array(out[k])) for k in ("mean", "logvar"))
        if mu.ndim != 2 or mu.shape != logvar.shape or mu.shape[0] != images.shape[0]:
            raise ModelError(
                f"{module}: mean {tuple(mu.shape)} and logvar {tuple(logvar.shape)} "
                f"are not [{images.shape[0]}, d] each"
            )
        return mu, logvar

    return encode


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "(none)"
    spans, start, prev = [], numbers[0], numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        spans.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ",".join(spans)
