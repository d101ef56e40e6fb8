"""Other projects' sweeps: output beside the source, their W&B project, traversals with the
user's decoder (``traversals.loader``) or skipped with a note, never an error."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

from foreign import DECODER_MODULE, JOBS, RUNS, foreign_sweep
from infoprint.analysis.hotspot_traversals import CHECKPOINT_PLACES, NoDecoder, load_decoder
from infoprint.analysis.options import AnalysisOptions, LoggerOptions, TraversalOptions
from infoprint.errors import ConfigError
from infoprint.models.builder import NoModelDescriptionError, load_model
from infoprint.sources.directory import DirectorySource
from infoprint.tasks.analyze import analyze
from support import CONF, compose_config


@pytest.fixture
def decoder_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module of the user's (``<name>:load`` for traversals.loader)."""
    name = f"user_decoders_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(DECODER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _analyse(sweep: Path, out: Path, *overrides: str) -> dict:
    cfg = compose_config(
        "analyze",
        [f"source.path={sweep}", "logger=none", "hotspot_fusion.enabled=false", "device=cpu",
         "training.enabled=false", *overrides],
    )  # fmt: skip
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    return analyze(cfg)


# -- traversals ----------------------------------------------------------------------------
def test_a_foreign_checkpoint_is_skipped_with_a_note_not_a_failure(tmp_path: Path) -> None:
    sweep = foreign_sweep(tmp_path / "multiruns" / "2025-01-01_00-00-00")
    summary = _analyse(sweep, tmp_path / "out")
    section = summary["traversals"]
    nmi = [h for h in summary["hotspots"] if h["measure"] == "nmi"]
    assert nmi and summary["failed_steps"] == []
    assert section["made"] == [] and section["missing"] == []
    assert len(section["skipped"]) == len(nmi)
    assert all("holds no infoprint model description" in s for s in section["skipped"])
    (note,) = section["notes"]
    assert note.startswith("traversals skipped: the runs' checkpoints are not infoprint's")
    assert "set traversals.loader=package.module:function" in note and "decode_mean" in note
    assert summary["notes"] == [note]
    report = (tmp_path / "out" / "report.html").read_text()
    assert "Notes (1)" in report and "Failed steps" not in report
    assert "traversals.loader=package.module:function" in report
    assert not (tmp_path / "out" / "traversals.png").exists()


def test_runs_without_any_checkpoint_are_skipped_with_a_note(tmp_path: Path) -> None:
    sweep = foreign_sweep(tmp_path / "sweep")
    for job in JOBS:
        (sweep / job / "checkpoints" / "last.ckpt").unlink()
    summary = _analyse(sweep, tmp_path / "out")
    assert summary["failed_steps"] == [] and summary["traversals"]["made"] == []
    (note,) = summary["traversals"]["notes"]
    assert note.startswith("traversals skipped: the runs have no last checkpoint")


def test_the_loader_draws_traversals_with_the_users_decoder(
    tmp_path: Path, decoder_module: str
) -> None:
    sweep = foreign_sweep(tmp_path / "sweep")
    summary = _analyse(sweep, tmp_path / "out", f"traversals.loader={decoder_module}:load")
    nmi = [h for h in summary["hotspots"] if h["measure"] == "nmi"]
    assert nmi and summary["failed_steps"] == [] and summary["notes"] == []
    section = summary["traversals"]
    assert section["made"] == [f"nmi/{h['hotspot']}" for h in nmi]
    assert section["skipped"] == [] and section["missing"] == []
    out = tmp_path / "out"
    assert (out / "traversals.png").stat().st_size > 1000
    for h in nmi:
        assert (out / f"traversal_nmi_{h['hotspot']}.png").stat().st_size > 1000
    loaded = __import__(decoder_module).LOADED
    assert loaded and all(p.is_absolute() and p.parent == sweep.resolve() for p in loaded)
    assert len(loaded) == len(set(loaded))  # each run's module is loaded once


def test_the_decoder_option_names_the_method_and_a_missing_one_is_a_failure(
    tmp_path: Path, decoder_module: str
) -> None:
    sweep = foreign_sweep(tmp_path / "sweep")
    loader = f"traversals.loader={decoder_module}:load"
    summary = _analyse(sweep, tmp_path / "out", loader, "traversals.decoder=render")
    assert summary["traversals"]["made"] and summary["failed_steps"] == []
    summary = _analyse(sweep, tmp_path / "out2", loader, "traversals.decoder=decode")
    failed = summary["failed_steps"]
    assert failed and all(f["step"] == "traversals" for f in failed)
    assert "has no method 'decode' (traversals.decoder)" in failed[0]["message"]
    summary = _analyse(sweep, tmp_path / "out3", f"traversals.loader={decoder_module}:not_a_module")
    assert "has no method 'decode_mean'" in summary["failed_steps"][0]["message"]


def test_a_hotspot_is_drawn_by_the_next_member_whose_run_decodes(
    tmp_path: Path, decoder_module: str
) -> None:
    """Only run seed_3 can be decoded (a loader that refuses the others): every hotspot is
    drawn by its member from that run."""
    sweep = foreign_sweep(tmp_path / "sweep")
    module = tmp_path / "only_last.py"
    module.write_text(
        f"from {decoder_module} import load as _load\n\n"
        "def load(run_dir):\n"
        "    if run_dir.name != 'seed_3':\n"
        "        raise FileNotFoundError(f'{run_dir}: no weights')\n"
        "    return _load(run_dir)\n"
    )
    summary = _analyse(sweep, tmp_path / "out", "traversals.loader=only_last:load")
    nmi = {f"nmi/{h['hotspot']}" for h in summary["hotspots"] if h["measure"] == "nmi"}
    assert nmi and set(summary["traversals"]["made"]) == nmi
    assert summary["failed_steps"] == [] and summary["traversals"]["missing"] == []


def test_load_decoder_finds_lightnings_checkpoint_folder_and_names_the_cause(
    tmp_path: Path,
) -> None:
    sweep = foreign_sweep(tmp_path / "sweep")
    job = sweep / "0"
    assert CHECKPOINT_PLACES == ("last.ckpt", "checkpoints/last.ckpt")
    with pytest.raises(NoDecoder) as raised:
        load_decoder(job)
    assert raised.value.reason == "foreign"
    assert raised.value.path == job / "checkpoints" / "last.ckpt"


# -- messages ------------------------------------------------------------------------------
def test_a_foreign_checkpoint_is_not_blamed_on_an_older_infoprint(tmp_path: Path) -> None:
    sweep = foreign_sweep(tmp_path / "sweep")
    with pytest.raises(NoModelDescriptionError) as raised:
        load_model(sweep / "0" / "checkpoints" / "last.ckpt")
    message = str(raised.value)
    assert "older" not in message and "holds no infoprint model description" in message
    assert "not written by infoprint's training" in message and "traversals.loader" in message


def test_source_checkpoints_skips_a_foreign_checkpoint_saying_what_to_do(tmp_path: Path) -> None:
    from infoprint.fingerprint.stage import ModelError
    from infoprint.sources.checkpoints import CheckpointSource

    sweep = foreign_sweep(tmp_path / "sweep")
    source = CheckpointSource.__new__(CheckpointSource)  # _run needs no probe set
    with pytest.raises(ModelError) as raised:
        source._run(0, sweep / "0" / "checkpoints" / "last.ckpt")
    message = str(raised.value)
    assert "older" not in message and "holds no infoprint model description" in message
    assert "fingerprint callback" in message and "source=encoders" in message


# -- options -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "loader", ["my_module", "my_module:", ":load", "my module:load", "pkg.mod:load:x", "a..b:f"]
)
def test_a_bad_loader_string_names_the_key(loader: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("traversals.loader must be package.module:")):
        TraversalOptions(loader=loader)


def test_an_unimportable_loader_is_refused_naming_the_key(decoder_module: str) -> None:
    with pytest.raises(ConfigError, match=r"traversals\.loader=no_such_mod:load: cannot import"):
        TraversalOptions(loader="no_such_mod:load")
    with pytest.raises(ConfigError, match=rf"traversals\.loader={decoder_module}:nope: .* no nope"):
        TraversalOptions(loader=f"{decoder_module}:nope")
    with pytest.raises(ConfigError, match=r"traversals\.loader=.*:LOADED: LOADED is not callable"):
        TraversalOptions(loader=f"{decoder_module}:LOADED")
    assert TraversalOptions(loader=f"{decoder_module}:load").load_function().__name__ == "load"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("traversals.loader=nomodule", "traversals.loader must be package.module:function"),
        ("traversals.decoder='decode mean'", "traversals.decoder must be the name of"),
        ("traversals.decoder=null", "traversals.decoder must be the name of"),
        ("+traversals.decode=x", "traversals: unknown option(s) ['traversals.decode']"),
    ],
)
def test_traversal_options_from_the_config_name_their_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        AnalysisOptions.from_config(compose_config("analyze", [override]))
    assert message in str(raised.value)


def test_defaults_of_the_traversal_and_logger_blocks() -> None:
    options = AnalysisOptions.from_config(compose_config("analyze", []))
    assert options.traversals.loader is None and options.traversals.decoder == "decode_mean"
    assert options.logger.project is None  # the runs' own project, filled in at logging


# -- the W&B project -----------------------------------------------------------------------
def _meta(project: str | None, entity: str | None = None) -> dict:
    return {"wandb": {"project": project, "entity": entity, "run_id": "x", "mode": "offline"}}


def test_the_analysis_run_goes_to_the_runs_most_common_project() -> None:
    metas = [_meta("a", "team-a"), _meta("b", "team-b"), _meta("b", None), {"wandb": None}, {}]
    resolved = LoggerOptions().for_runs(metas)
    assert (resolved.project, resolved.entity) == ("b", "team-b")
    assert LoggerOptions().for_runs([{}, {"wandb": None}]).project == "infoprint"
    assert LoggerOptions().for_runs([]).entity is None
    given = LoggerOptions(project="mine").for_runs(metas)
    assert (given.project, given.entity) == ("mine", None)
    given = LoggerOptions(project="a", entity="me").for_runs(metas)
    assert (given.project, given.entity) == ("a", "me")
    assert LoggerOptions(project="a").for_runs(metas).entity == "team-a"
    with pytest.raises(ConfigError, match="logger.project must be a name or null"):
        LoggerOptions(project="")


# -- where the analysis writes -------------------------------------------------------------
def _run_dir(*overrides: str) -> str:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("analyze", overrides=list(overrides), return_hydra_config=True)
    return str(cfg.hydra.run.dir)


TIMESTAMP = r"analysis/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-\d{6}"


def test_the_analysis_writes_beside_a_single_source_path(tmp_path: Path) -> None:
    sweep = tmp_path / "logs" / "train" / "multiruns" / "2025-01-01_00-00-00"
    assert _run_dir(f"source.path={sweep}") == str(sweep / "analysis")
    assert _run_dir("source.path=multirun/it") == "multirun/it/analysis"
    assert _run_dir(f"source.path={sweep}", "hydra.run.dir=elsewhere") == "elsewhere"
    for others in (
        ["source.path=[multirun/a,multirun/b]"],  # several sweeps
        [],  # the latest sweep under source.root
        ["source=wandb", "source.group=g"],
        ["source=checkpoints", f"source.path={sweep}"],
    ):
        assert re.fullmatch(TIMESTAMP, _run_dir(*others)), others
    GlobalHydra.instance().clear()


def test_an_analysis_folder_inside_the_sweep_is_not_read_as_a_run(tmp_path: Path) -> None:
    sweep = foreign_sweep(tmp_path / "sweep")
    analysis = sweep / "analysis"
    _analyse(sweep, analysis)
    (analysis / ".hydra").mkdir()
    (analysis / ".hydra" / "hydra.yaml").write_text("hydra:\n  job:\n    name: analyze\n")
    source = DirectorySource(sweep)
    found = list(source.iter_fingerprints())
    assert sorted(fp.run_id for fp in found) == [f"lit{r}" for r in range(RUNS)]
    assert source.skipped == []
    summary = json.loads((analysis / "summary.json").read_text())
    assert summary["n_runs"] == RUNS
