"""Fusion options: the paper's ensemble sizes and early errors that name the fusion key."""

from __future__ import annotations

import numpy as np
import pytest

from infoprint.analysis.fusion import FusionOptions, ensemble_sizes
from infoprint.tasks.analyze import analyze
from support import compose_config


@pytest.mark.parametrize(
    ("n_runs", "expected"),
    [
        (1, [1]),
        (2, [2]),
        (4, [2, 3, 4]),
        (20, [2, 3, 5, 10, 20]),
        (40, [2, 3, 5, 10, 20, 40]),
        (50, [2, 3, 5, 10, 20, 50]),
        (250, [2, 3, 5, 10, 20, 50, 100, 200, 250]),
    ],
)
def test_auto_sizes_run_up_to_the_whole_sweep(n_runs: int, expected: list[int]) -> None:
    assert ensemble_sizes("auto", n_runs).tolist() == expected


def test_listed_sizes_are_sorted_distinct_and_capped_at_the_sweep() -> None:
    sizes = ensemble_sizes([20, 2, 5, 100, 2], n_runs=12)
    assert sizes.dtype == np.int64 and sizes.tolist() == [2, 5, 12]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"sizes": "all"}, "fusion.sizes"),
        ({"sizes": []}, "fusion.sizes"),
        ({"sizes": [0, 2]}, "fusion.sizes"),
        ({"objectives": ["kl"]}, "fusion.objectives"),
        ({"objectives": []}, "fusion.objectives"),
        ({"optimizer": "lbfgs"}, "fusion.optimizer must be one of"),
        ({"init": "pca"}, "fusion.init must be one of"),
        ({"repeats": 0}, "fusion.repeats"),
        ({"dim": 0}, "fusion.dim"),
        ({"steps": -1}, "fusion.steps"),
        ({"steps": 2.5}, "fusion.steps"),
        ({"lr": 0.0}, "fusion.lr"),
        ({"init_scale": -1.0}, "fusion.init_scale"),
        ({"closed": "yes"}, "fusion.closed"),
        ({"seed": -3}, "fusion.seed"),
        ({"repeats": True}, "fusion.repeats"),
        ({"dim": 0, "config_key": "hotspot_fusion"}, "hotspot_fusion.dim"),
    ],
)
def test_bad_fusion_options_name_the_key(option: dict, message: str) -> None:
    FusionOptions()  # the defaults are valid
    with pytest.raises(ValueError, match=message):
        FusionOptions(**option)


def test_analyze_rejects_a_bad_fusion_option_before_reading_any_run(tmp_path) -> None:
    cfg = compose_config(
        "analyze",
        [
            f"source.path={tmp_path / 'no-such-sweep'}",
            f"paths.output_dir={tmp_path / 'out'}",
            "fusion.enabled=true",
            "fusion.optimizer=lbfgs",
        ],
    )
    with pytest.raises(ValueError, match="fusion.optimizer must be one of"):
        analyze(cfg)
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("hotspot_fusion.objective=kl", "hotspot_fusion.objective must be one of"),
        ("hotspot_fusion.measure=cka", "hotspot_fusion.measure must be one of"),
        ("hotspot_fusion.steps=-1", "hotspot_fusion.steps"),
    ],
)
def test_analyze_rejects_a_bad_hotspot_fusion_option_early(tmp_path, override, message) -> None:
    cfg = compose_config(
        "analyze", [f"source.path={tmp_path / 'none'}", f"paths.output_dir={tmp_path}", override]
    )
    with pytest.raises(ValueError, match=message):
        analyze(cfg)
