"""Encoders from anywhere as runs: ``torch.export`` programs, TorchScript files, or
importable ``module:function``s.

See ``docs/architecture.md`` §7. Each entry of ``encoders`` is a ``torch.export`` archive
(``.pt2``, ``torch.export.save``; what :mod:`infoprint.models.export` writes), a
TorchScript file (``torch.jit.save``; deprecated by torch, still read while torch reads
it) or ``package.module:function`` returning a ``torch.nn.Module``. The module's
``encode(x)`` method is used when it has one, else its ``forward``; either must return
``(mu, logvar)`` of shape [B, d] each.

Files are hostile (:mod:`infoprint.sources.op_policy`): a ``.pt2`` archive is checked
before ``torch.export.load`` sees it (no pickled payload, allowed ops only) and its graph
again after; a TorchScript archive whose code defines ``__setstate__`` (which
``torch.jit.load`` runs while loading) is refused unloaded, and the inlined graph of the
method to be called must use allowed ops only. A refused or broken file is a skipped run
naming the file. A ``module:function`` entry is different: it is Python code the user
chose to run, imported and called as such, with no check.
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
from infoprint.sources.op_policy import (
    check_exported_program,
    check_pt2_archive,
    check_torch_graph,
    check_torchscript_archive,
)


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
        if path.is_file() and path.suffix == ".pt2":
            digest = files_digest([path])
            name, load = path.stem, lambda: _encode_of(_load_exported(path), entry)
        elif path.is_file():
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
    """A checked TorchScript module: nothing of it has run (see the module docstring)."""
    check_torchscript_archive(path)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # not a TorchScript archive
        raise ModelError(f"{path}: not a TorchScript file ({type(err).__name__}: {err})") from err
    method = "encode" if hasattr(module, "encode") else "forward"
    try:
        graph = getattr(module, method).inlined_graph
    except (AttributeError, RuntimeError) as err:
        raise ModelError(f"{path}: no TorchScript graph for {method} ({err})") from err
    check_torch_graph(graph, f"{path} ({method})")
    return module


def _load_exported(path: Path) -> torch.nn.Module:
    """A checked ``torch.export`` program as a module whose ``forward`` is the encoder."""
    check_pt2_archive(path)
    try:
        program = torch.export.load(str(path))
    except Exception as err:
        raise ModelError(f"{path}: not a torch.export archive ({type(err).__name__})") from None
    check_exported_program(program, str(path))
    return program.module()


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
    if not isinstance(module, torch.fx.GraphModule):  # an unlifted export has no eval mode
        module.eval()
    encode = getattr(module, "encode", None) or module.forward

    def checked(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            out = encode(x)
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise ModelError(
                f"{entry}: encode failed on the probe images ({type(err).__name__}: {first})"
            ) from None
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise ModelError(
                f"{entry}: encode(x) must return (mu, logvar), got {type(out).__name__}"
            )
        check_outputs(out[0], out[1], x.shape[0], entry)
        return out[0], out[1]

    return checked
