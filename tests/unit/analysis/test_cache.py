"""The analysis cache: an incremental analysis equals a full one bit for bit, computes only
the new runs' blocks, and a cache that does not check out is ignored, never trusted."""

import logging

import numpy as np
import pytest
import torch

from infoprint.analysis import structure_blocks
from infoprint.analysis.cache import BLOCKS_FILE, BlockCache
from infoprint.analysis.ensemble import ensemble_structure
from infoprint.fingerprint.record import Fingerprint

N = 200


def _ensemble(n_runs: int) -> list[Fingerprint]:
    """Runs of 3-5 channels: two factors with each run's own noise, a dead channel."""
    rng = np.random.default_rng(0)
    factors = np.stack([np.arange(N) % 8, (np.arange(N) // 8) % 5], axis=1)
    runs = []
    for r in range(n_runs):
        k = 3 + r % 3
        mu = rng.normal(size=(N, k))
        mu[:, 0] = factors[:, 0] + 0.3 * rng.normal(size=N)
        mu[:, 1] = 2.0 * factors[:, 1] + 0.5 * rng.normal(size=N)
        mu[:, 2] = 0.01 * rng.normal(size=N)  # dead: below the threshold
        logvar = np.full((N, k), -2.0)
        logvar[:, 2] = 0.0
        meta = {"run_id": f"run{r}", "job_num": r, "probe_digest": "d" * 64,
                "factor_names": ["a", "b"]}  # fmt: skip
        runs.append(Fingerprint(mu.astype(np.float32), logvar.astype(np.float32),
                                np.arange(N), factors, meta))  # fmt: skip
    return runs


def _arrays(s):
    return [s.information, s.nmi, s.vi, s.factor_nmi, s.factor_information, s.all_information]


def _equal_bits(a, b) -> None:
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
    assert list(a.run_ids) == list(b.run_ids) and list(a.channels) == list(b.channels)


def _counting(monkeypatch) -> list[tuple[int, int]]:
    """Observe how many sets and pairs of sets each pass computes (the real pass runs)."""
    computed: list[tuple[int, int]] = []
    real = structure_blocks.run_pair_information

    def observed(sets, pairs, **kw):
        computed.append((len(sets), len(pairs)))
        return real(sets, pairs, **kw)

    monkeypatch.setattr(structure_blocks, "run_pair_information", observed)
    return computed


def test_an_incremental_analysis_equals_a_full_one_bit_for_bit(tmp_path, monkeypatch):
    runs = _ensemble(7)
    full = ensemble_structure(runs, device="cpu")
    first = BlockCache(tmp_path / "a")
    ensemble_structure(runs[:5], device="cpu", cache=first)
    first.save()
    computed = _counting(monkeypatch)
    second = BlockCache(tmp_path / "b", previous=[tmp_path / "a"])
    grown = ensemble_structure(runs, device="cpu", cache=second)
    _equal_bits(grown, full)
    # the information of the 2 new runs, then their pairs: with each of the 5 old runs,
    # with each other and themselves (3), and with the factors (2), over all 7 runs and
    # the factors
    assert computed == [(2, 0), (8, 5 * 2 + 3 + 2)]
    second.save()
    computed.clear()
    again = ensemble_structure(runs, device="cpu", cache=BlockCache(tmp_path / "b"))
    _equal_bits(again, full)
    assert computed == []  # everything from the cache


def test_the_order_of_the_runs_changes_no_bit(tmp_path):
    runs = _ensemble(5)
    cache = BlockCache(tmp_path)
    forward = ensemble_structure(runs, device="cpu", cache=cache)
    backward = ensemble_structure(runs[::-1], device="cpu")
    order = np.argsort([r for r in backward.run_ids], kind="stable")
    fwd_order = np.argsort([r for r in forward.run_ids], kind="stable")
    assert np.array_equal(
        forward.nmi[np.ix_(fwd_order, fwd_order)], backward.nmi[np.ix_(order, order)]
    )
    assert np.array_equal(
        forward.vi[np.ix_(fwd_order, fwd_order)], backward.vi[np.ix_(order, order)]
    )


def _saved(tmp_path, runs) -> BlockCache:
    cache = BlockCache(tmp_path / "old")
    ensemble_structure(runs, device="cpu", cache=cache)
    cache.save()
    return cache


def _tamper(path, **changes) -> None:
    with np.load(path) as f:
        arrays = dict(f)
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize("damage", ["garbage", "pairs", "nan", "shapes", "pickle"])
def test_a_cache_that_does_not_check_out_is_ignored(tmp_path, damage, caplog, monkeypatch):
    runs = _ensemble(4)
    full = ensemble_structure(runs, device="cpu")
    _saved(tmp_path, runs)
    (path,) = (tmp_path / "old").rglob(BLOCKS_FILE)
    if damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not a zip")
    elif damage == "pairs":
        with np.load(path) as f:
            _tamper(path, pairs=f["pairs"] + 100)
    elif damage == "nan":
        with np.load(path) as f:
            _tamper(path, mutual=np.full_like(f["mutual"], np.nan))
    elif damage == "shapes":
        with np.load(path) as f:
            _tamper(path, shapes=f["shapes"] + 1)
    else:
        with np.load(path) as f:
            arrays = dict(f)
        np.savez(path, **{**arrays, "mutual": np.array([object()], dtype=object)})
    computed = _counting(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="infoprint.analysis.cache"):
        rerun = ensemble_structure(
            runs, device="cpu", cache=BlockCache(tmp_path / "new", [tmp_path / "old"])
        )
    _equal_bits(rerun, full)
    assert computed == [(5, 0), (5, 4 * 5 // 2 + 4 + 1)]  # everything computed again
    assert "ignored the analysis cache" in caplog.text and str(path) in caplog.text


def test_blocks_of_other_options_are_not_used(tmp_path, monkeypatch):
    runs = _ensemble(3)
    cache = _saved(tmp_path, runs)
    computed = _counting(monkeypatch)
    ensemble_structure(
        runs, device="cpu", threshold=0.02, cache=BlockCache(tmp_path / "new", [cache.folder])
    )
    ensemble_structure(
        runs, device="cpu", dtype=torch.float64, cache=BlockCache(tmp_path / "new2", [cache.folder])
    )
    assert computed == [(4, 0), (4, 3 * 4 // 2 + 3 + 1)] * 2


def test_a_hotspot_keeping_its_members_is_not_fused_again(tmp_path, monkeypatch):
    from infoprint.analysis import hotspot_fusion
    from infoprint.analysis.hotspots import cluster, hotspots

    runs = _ensemble(6)
    structure = ensemble_structure(runs, device="cpu")
    found = hotspots(structure, cluster(structure, "nmi", 3, 0.05))
    assert found
    settings = {"steps": 5, "lr": 0.1, "device": "cpu"}
    fresh = hotspot_fusion.fuse_hotspots(runs, found, **settings)
    again = hotspot_fusion.fuse_hotspots(runs, found, **settings)
    cache = BlockCache(tmp_path / "a")
    hotspot_fusion.fuse_hotspots(runs, found, cache=cache, **settings)
    cache.save()
    fused_files = sorted((tmp_path / "a").rglob("fused-*.npz"))
    assert len(fused_files) == len(fresh)
    calls: list[int] = []
    real = hotspot_fusion.fuse_channels
    monkeypatch.setattr(
        hotspot_fusion, "fuse_channels", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    cached = hotspot_fusion.fuse_hotspots(
        runs, found, cache=BlockCache(tmp_path / "b", [tmp_path / "a"]), **settings
    )
    assert calls == []
    for a, b, c in zip(fresh, again, cached, strict=True):  # fusion repeats to the bit
        for x in (b, c):
            assert torch.equal(a.space.mu, x.space.mu) and torch.equal(
                a.space.logvar, x.space.logvar
            )
            assert (
                np.array_equal(a.factor_nmi, x.factor_nmi)
                and a.best_factor_nmi == x.best_factor_nmi
            )
            assert a.space.information == x.space.information and torch.equal(
                a.space.trace, x.space.trace
            )
    # other settings: fused again; a damaged file: ignored with a warning, fused again
    hotspot_fusion.fuse_hotspots(
        runs, found, cache=BlockCache(tmp_path / "c", [tmp_path / "a"]), **{**settings, "steps": 6}
    )
    assert len(calls) == len(fresh)
    fused_files[0].write_bytes(b"not an npz")
    hotspot_fusion.fuse_hotspots(
        runs, found, cache=BlockCache(tmp_path / "d", [tmp_path / "a"]), **settings
    )
    assert len(calls) == len(fresh) + 1


def test_an_ensemble_too_large_for_the_pair_pass_falls_back_to_the_tiled_pass(tmp_path, caplog):
    runs = _ensemble(6)
    exact = ensemble_structure(runs, device="cpu")
    cache = BlockCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="infoprint.analysis.structure_blocks"):
        tiled = ensemble_structure(runs, device="cpu", memory_budget=2**20, cache=cache)
    assert "does not fit memory_budget=1048576 bytes" in caplog.text
    for x, y in zip(_arrays(tiled), _arrays(exact), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    assert list(tiled.channels) == list(exact.channels)
    cache.save()
    (path,) = tmp_path.rglob(BLOCKS_FILE)  # the information only: pairs are not cached
    with np.load(path) as f:
        assert len(f["pairs"]) == 0 and len(f["widths"]) == 7
