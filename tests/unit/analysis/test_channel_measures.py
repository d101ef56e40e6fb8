"""The channel measures are one registry (``infoprint.analysis.measures``).

NMI and VI keep today's OPTICS distances (Murphy, Dillavou & Bassett, TMLR 2025, Sec. 4.1:
−ln NMI and VI), and a measure registered in a test only (1 − NMI, the fraction of
information two channels do not share) is clustered, written, drawn, captioned and
summarised in a study without any other module knowing it: the proof that adding a
measure touches its registry entry, its test and its docs line only.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from infoprint.analysis.ensemble import EnsembleStructure, ensemble_structure
from infoprint.analysis.hotspots import cluster, distance_matrix, hotspots
from infoprint.analysis.measures import (
    CHANNEL_MEASURES,
    NMI_FLOOR,
    ChannelMeasure,
    channel_measure,
    register,
)
from infoprint.analysis.options import ClusteringOptions, HotspotFusionOptions, TraversalOptions
from infoprint.analysis.results import hotspot_table, write_results
from infoprint.errors import ConfigError
from infoprint.fingerprint.record import Fingerprint
from infoprint.plots.structure import structure_figure
from infoprint.tasks.analyze import analyze
from support import compose_config, factor_fingerprint

N, RUNS = 120, 4


def _unshared(structure: EnsembleStructure) -> np.ndarray:
    return 1.0 - structure.nmi


UNSHARED = ChannelMeasure(
    name="unshared",
    symbol="1 − NMI",
    matrix=_unshared,
    distance=lambda unshared: np.clip(unshared, 0.0, None),
    higher_is_closer=False,
    colour_map="cividis",
    value_range=(0.0, 1.0),
    compared_by="1 − NMI (0 = the same information)",
    squares="bright squares on the diagonal are hotspots",
)


@pytest.fixture
def unshared() -> Iterator[ChannelMeasure]:
    """1 − NMI in the registry for one test."""
    register(UNSHARED)
    yield UNSHARED
    CHANNEL_MEASURES.remove(UNSHARED.name)


def _runs(ensembles: int = 1) -> list[Fingerprint]:
    """``ensembles`` × four runs whose channel 0 is factor a (noisily) and channel 1 factor b;
    the ensembles differ in beta."""
    rng = np.random.default_rng(0)
    a, b = np.arange(N) % 6, (np.arange(N) // 6) % 3
    runs = []
    for e, beta in enumerate([1, 4][:ensembles]):
        for seed in range(RUNS):
            meta = {"run_id": f"r{beta}-{seed}", "job_num": RUNS * e + seed, "seed": seed}
            meta |= {"model": "beta_vae", "hyperparameters": {"beta": beta}, "sweep": "synthetic"}
            runs.append(factor_fingerprint(a, b, rng, **meta))
    return runs


@pytest.fixture(scope="module")
def structure() -> EnsembleStructure:
    return ensemble_structure(_runs(), device="cpu")


def test_an_unknown_measure_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown channel measure 'cosine'; one of: nmi, vi$"):
        channel_measure("cosine")
    with pytest.raises(ConfigError, match="clustering.measures"):
        ClusteringOptions(measures=("nmi", "unshared"))


def test_nmi_and_vi_keep_todays_optics_distances(structure: EnsembleStructure) -> None:
    neg_log = -np.log(np.clip(structure.nmi, NMI_FLOOR, 1.0))
    vi = np.clip(structure.vi, 0.0, None)
    for name, expected in (("nmi", neg_log), ("vi", vi)):
        expected = 0.5 * (expected + expected.T)
        np.fill_diagonal(expected, 0.0)
        np.testing.assert_array_equal(distance_matrix(structure, name), expected)


@pytest.mark.usefixtures("unshared")
@pytest.mark.parametrize("name", ["nmi", "vi", "unshared"])
def test_every_distance_follows_its_measure(structure: EnsembleStructure, name: str) -> None:
    """Non-negative, and closer where the matrix says so (higher or lower values)."""
    measure = channel_measure(name)
    values = np.sort(measure.matrix(structure).ravel())
    distances = measure.distance(values)
    assert (distances >= 0).all() and np.isfinite(distances).all()
    steps = np.diff(distances)
    assert (steps <= 0).all() if measure.higher_is_closer else (steps >= 0).all()


def test_a_registered_measure_is_clustered_written_and_drawn(
    unshared: ChannelMeasure, structure: EnsembleStructure, tmp_path: Path
) -> None:
    assert ClusteringOptions(measures=("nmi", "unshared")).measures == ("nmi", "unshared")
    assert TraversalOptions(measure="unshared").measure == "unshared"
    assert HotspotFusionOptions(measure="unshared").measure == "unshared"
    clustering = cluster(structure, "unshared")
    found = hotspots(structure, clustering)
    assert sorted(h.best_factor for h in found) == ["a", "b"]
    assert all(h.measure == "unshared" and h.n_runs == RUNS for h in found)

    with np.load(write_results(tmp_path, structure, [clustering])) as saved:
        np.testing.assert_array_equal(saved["unshared"], 1.0 - structure.nmi)
        np.testing.assert_array_equal(saved["unshared_labels"], clustering.labels)
        assert {"nmi", "vi", "unshared_ordering", "unshared_reachability"} <= set(saved.files)
    table = hotspot_table(found)
    assert {row[0] for row in table.rows} == {"unshared"}
    assert "OPTICS on −ln NMI or on VI or on 1 − NMI" in table.caption

    figure = structure_figure(structure, clustering)
    matrix_axes = figure.axes[1]
    assert matrix_axes.images[0].get_cmap().name == "cividis_r"  # close channels bright
    assert figure.axes[0].get_title().startswith("1 − NMI structure")


def _sweep(directory: Path, ensembles: int) -> Path:
    for fp in _runs(ensembles):
        fp.save(directory / str(fp.meta["job_num"]))
    return directory


def _analyse(tmp_path: Path, ensembles: int) -> dict:
    cfg = compose_config(
        "analyze",
        [
            f"source.path={_sweep(tmp_path / 'sweep', ensembles)}",
            "logger=none",
            "device=cpu",
            "clustering.measures=[nmi,vi,unshared]",
            "traversals.measure=unshared",
            "hotspot_fusion.measure=unshared",
            "hotspot_fusion.steps=5",
        ],
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
    return analyze(cfg)


@pytest.mark.usefixtures("unshared")
def test_an_analysis_and_a_study_carry_a_registered_measure(tmp_path: Path) -> None:
    found = _analyse(tmp_path, ensembles=2)
    out = tmp_path / "out"
    for name in found["ensembles"]:
        folder = out / "ensembles" / name
        summary = json.loads((folder / "summary.json").read_text())
        assert {h["measure"] for h in summary["hotspots"]} == {"nmi", "vi", "unshared"}
        assert (folder / "structure_unshared.png").is_file()
        with (folder / "hotspot_fusion.csv").open() as f:
            assert {r["measure"] for r in csv.DictReader(f)} == {"unshared"}
        assert html.escape(UNSHARED.caption) in (folder / "report.html").read_text()
    with (out / "study.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["unshared_hotspots"]) for r in rows] == [2, 2]
    assert all(r["unshared_sizes"] == "4;4" for r in rows)
