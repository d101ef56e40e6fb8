"""Encoders from anywhere as runs: TorchScript files or importable ``module:function``s.

See ``docs/architecture.md`` §7. Each entry of ``encoders`` is either a TorchScript file
(``torch.jit.save``; e.g. one exported with :func:`infoprint.models.export.export_encoder`)
or ``package.module:function`` returning a ``torch.nn.Module``. The module's ``encode(x)``
method is used when it has one, else its ``forward``; either must return
``(mu, logvar)`` of shape [B, d] each. A file that is not such an encoder is skipped with
the reason; a TorchScript file is loaded by torch's TorchScript loader, never unpickled.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from infoprint.fingerprint.probe import ProbeSet
from infoprint.fingerprint.stage import ExternalRun, ModelError, check_outputs, files_digest
from infoprint.models.inference import Encoder
from infoprint.sources.base import SkippedRun
from infoprint.sources.external import ExternalSource


class EncoderSource(ExternalSource):
    """TorchScript files or ``module:function`` factories, fingerprinted on ``data``."""

    kind = "encoders"

    def __init__(self, encoders: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(encoders, str):
            encoders = [encoders]
        if not encoders:
            raise ValueError("source.encoders is empty: list TorchScript files or module:function")
        self.encoders = [str(e) for e in encoders]

    def describe(self) -> str:
        shown = ", ".join(self.encoders[:3]) + (", ..." if len(self.encoders) > 3 else "")
        return f"{len(self.encoders)} encoders ({shown})"

    def runs(self) -> Iterator[ExternalRun | SkippedRun]:
        for index, entry in enumerate(self.encoders):
            try:
                yield self._run(index, entry)
            except ModelError as err:
                yield SkippedRun(entry, str(err))

    def _run(self, index: int, entry: str) -> ExternalRun:
        path = Path(entry)
        if path.is_file():
            digest = files_digest([path])
            name, load = path.stem, lambda: _encode_of(_load_script(path), entry)
        elif ":" in entry and not path.suffix:
            digest = entry
            name, load = entry.rpartition(":")[2], lambda: _encode_of(_call_factory(entry), entry)
        else:
            raise ModelError(f"{entry}: no such file, and not a module:function")
        return ExternalRun(
            run_id=f"enc-{digest[:8] if path.is_file() else name}-{index}",
            sweep="encoders",
            job_num=index,
            model=name,
            hyperparameters={},
            seed=None,
            dataset=getattr(self.dataset, "name", "?"),
            provenance={"source": "encoders", "path": entry, "digest": digest},
            load=load,
        )

    def check(self, run: ExternalRun, probe: ProbeSet) -> None:
        """Try the encoder on two probe points before encoding them all."""
        encode = run.load()
        with torch.no_grad():
            out = encode(torch.from_numpy(probe.images[:2]))
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise ModelError(f"{run.provenance['path']}: encode(x) must return (mu, logvar)")
        check_outputs(out[0], out[1], 2, run.provenance["path"])


def _load_script(path: Path) -> torch.nn.Module:
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # not a TorchScript archive
        raise ModelError(f"{path}: not a TorchScript file ({type(err).__name__}: {err})") from err


def _call_factory(entry: str) -> torch.nn.Module:
    module_name, _, function = entry.partition(":")
    try:
        made = getattr(importlib.import_module(module_name), function)()
    except (ImportError, AttributeError) as err:
        raise ModelError(f"{entry}: cannot import ({err})") from err
    if not isinstance(made, torch.nn.Module):
        raise ModelError(f"{entry}: returned {type(made).__name__}, expected a torch.nn.Module")
    return made


def _encode_of(module: torch.nn.Module, entry: str) -> Encoder:
    module.eval()
    encode = getattr(module, "encode", None) or module.forward

    def checked(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            out = encode(x)
        except Exception as err:
            raise ModelError(f"{entry}: encode failed on the probe images ({err})") from err
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise ModelError(
                f"{entry}: encode(x) must return (mu, logvar), got {type(out).__name__}"
            )
        check_outputs(out[0], out[1], x.shape[0], entry)
        return out[0], out[1]

    return checked
