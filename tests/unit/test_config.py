"""Every config group composes, and bad values fail early naming the key."""

import pytest
import torch
from omegaconf import open_dict

from infoprint.tasks import resolvers
from infoprint.tasks.config import ConfigError, check_train_config
from infoprint.tasks.resolvers import fast_precision
from support import CONF, compose_config

OUT = "paths.output_dir=run"  # Hydra's runtime folder, which a composed config lacks


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["experiment=demo"],
        ["net=mlp", "logger=none", "callbacks=none", "trainer=smoke"],
        ["data.dataset.resolution=32", "seed=0"],
    ],
)
def test_train_config_composes_and_validates(overrides):
    cfg = compose_config("train", [*overrides, "sweep_name=s", OUT])
    check_train_config(cfg)
    assert cfg.model._target_.startswith("infoprint.models.objectives.")


def test_demo_experiment_values():
    cfg = compose_config("train", ["experiment=demo"], hydra=True)
    assert cfg.data.dataset.resolution == 32
    assert cfg.model.beta == 16.0 and cfg.torch_threads == 1 and cfg.data.batch_size == 32
    assert cfg.model.beta_start == 48.0 and cfg.model.beta_steps == 3000
    assert list(cfg.data.dataset.position_margins) == [0.05, 0.18]
    assert cfg.trainer.precision == "32-true"  # on every CPU: bf16 rounds per CPU (README)
    assert cfg.fingerprint.seed == 0  # the probe seed is not the training seed
    analysis = cfg.hydra.callbacks.analyze_sweep
    assert analysis.enabled and list(analysis.overrides) == [
        "clustering.min_samples=4",
        "clustering.xi=0.5",
    ]


@pytest.mark.parametrize(("cuda", "bf16_units", "expected"), [
    (False, False, "32-true"), (False, True, "bf16-mixed"), (True, False, "bf16-mixed")
])  # fmt: skip
def test_fast_precision_uses_bf16_only_where_there_are_units_for_it(
    cuda, bf16_units, expected, monkeypatch
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(resolvers, "cpu_has_bf16_units", lambda: bf16_units)
    assert fast_precision() == expected
    cfg = compose_config("train", ["trainer.precision=${fast_precision:}"])
    assert cfg.trainer.precision == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("seed", -1, "seed must be a non-negative integer"),
        ("seed", None, "'seed' is missing"),
        ("sweep_name", "a/b", "sweep_name"),
        ("fingerprint.size", 1, "fingerprint.size must be >= 2"),
        ("trainer.max_steps", 0, "trainer.max_steps"),
        ("optim.lr", -1.0, "optim.lr"),
    ],
)
def test_bad_values_name_the_key(key, value, message):
    cfg = compose_config("train", ["sweep_name=s"])
    with open_dict(cfg):
        parent, _, leaf = key.rpartition(".")
        (cfg[parent] if parent else cfg)[leaf] = value
    with pytest.raises(ConfigError, match=message):
        check_train_config(cfg)


def test_seed_zero_is_valid():
    check_train_config(compose_config("train", ["seed=0", "sweep_name=s", OUT]))


def test_every_yaml_in_a_group_composes():
    for group in ("data", "model", "net", "trainer", "logger", "callbacks", "experiment"):
        for option in sorted(p.stem for p in (CONF / group).glob("*.yaml")):
            cfg = compose_config("train", [f"{group}={option}", "sweep_name=s", OUT])
            check_train_config(cfg)
    for option in ("dir", "wandb"):
        cfg = compose_config("analyze", [f"source={option}"])
        assert cfg.source._target_.startswith("infoprint.sources.")


@pytest.mark.parametrize("cap", ["AVX2", "avx512_core", "AVX512_CORE_VNNI"])
def test_a_cpu_held_below_bf16_instructions_trains_in_float32(cap, monkeypatch):
    """Emulating another CPU's kernels (ONEDNN_MAX_CPU_ISA) also emulates its choice."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert not resolvers.cpu_has_bf16_units()
    assert fast_precision() == "32-true"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    hardware = resolvers.cpu_has_bf16_units()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert resolvers.cpu_has_bf16_units() == hardware
