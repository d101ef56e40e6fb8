"""Run-pair blocks: the same numbers as the tiled pairwise pass, and the same bits whatever
else a pass holds (other sets, their order, the workers, the groups of pairs)."""

import numpy as np
import pytest
import torch

from infoprint.info import DiscreteChannels, GaussianChannels, compare, information
from infoprint.info import blocks as blocks_module
from infoprint.info.blocks import block_rows, run_pair_information

N = 300


def _runs(n_runs: int, seed: int = 0) -> list[GaussianChannels]:
    """Runs of 2-6 channels mixing 3 shared factors, some blurred to near 0 bits."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(N, 3))
    runs = []
    for _ in range(n_runs):
        k = int(rng.integers(2, 7))
        mu = f @ rng.normal(size=(3, k)) + 0.3 * rng.normal(size=(N, k))
        logvar = np.log(rng.uniform(0.05, 0.5, size=(N, k)))
        logvar[:, 0] = 3.0  # a blurred channel: rows left centred, near the 0.01-bit edge
        runs.append(GaussianChannels(mu.astype(np.float32), logvar.astype(np.float32)))
    return runs


def _all_pairs(n: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(n) for b in range(a, n)]


def test_blocks_match_the_tiled_pass_and_the_float64_reference():
    runs = _runs(5)
    factors = DiscreteChannels(np.random.default_rng(1).integers(0, 4, size=(N, 2)))
    sets = [*runs, factors]
    pairs = _all_pairs(len(runs)) + [(r, len(runs)) for r in range(len(runs))]
    for dtype, tol in ((torch.float32, 5e-6), (torch.float64, 1e-12)):
        bits = run_pair_information(sets, pairs, device="cpu", dtype=dtype)
        offsets = np.cumsum([0, *(r.n_channels for r in runs)])
        mu = np.concatenate([r.mu.numpy() for r in runs], 1)
        lv = np.concatenate([r.logvar.numpy() for r in runs], 1)
        reference = compare(GaussianChannels(mu, lv), device="cpu", dtype=torch.float64)
        with_factors = compare(GaussianChannels(mu, lv), factors, device="cpu", dtype=torch.float64)
        mi = reference.mutual_information.numpy()
        for a, b in _all_pairs(len(runs)):
            block = mi[offsets[a] : offsets[a + 1], offsets[b] : offsets[b + 1]]
            np.testing.assert_allclose(bits.mutual[(a, b)].numpy(), block, rtol=tol, atol=tol)
        for r in range(len(runs)):
            block = with_factors.mutual_information.numpy()[offsets[r] : offsets[r + 1]]
            np.testing.assert_allclose(bits.mutual[(r, len(runs))].numpy(), block, atol=tol)
            info = information(runs[r], device="cpu", dtype=torch.float64).numpy()
            np.testing.assert_allclose(bits.information[r].numpy(), info, rtol=tol, atol=tol)
        assert bits.mutual[(0, 0)].dtype == torch.float64
        # a pass for the information alone builds one triangle of each C_a (half the work)
        alone = run_pair_information(sets, [], device="cpu", dtype=dtype)
        for r in range(len(runs)):
            np.testing.assert_allclose(
                alone.information[r].numpy(), bits.information[r].numpy(), rtol=tol, atol=tol
            )
        entropy = information(factors, device="cpu", dtype=torch.float64).numpy()
        np.testing.assert_allclose(alone.information[-1].numpy(), entropy, rtol=tol)


def test_a_block_has_the_same_bits_whatever_else_the_pass_holds(monkeypatch):
    runs = _runs(9, seed=2)
    full = run_pair_information(runs, _all_pairs(9), device="cpu", workers=1)
    # a subset of the runs, in another order, on two workers, with tiny groups of pairs
    monkeypatch.setattr(blocks_module, "_GROUP_ELEMS", 1)
    subset = [7, 2, 5]
    pairs = [(0, 0), (0, 1), (1, 1), (2, 1), (2, 2), (2, 0)]
    part = run_pair_information([runs[i] for i in subset], pairs, device="cpu", workers=2)
    for a, b in pairs:
        ra, rb = subset[a], subset[b]
        expected = full.mutual[(ra, rb)] if ra <= rb else None
        if expected is None:
            continue  # computed the other way round; the analysis fixes one orientation
        assert torch.equal(part.mutual[(a, b)], expected), (ra, rb)
    for j, i in enumerate(subset):
        assert torch.equal(part.information[j], full.information[i])
    assert block_rows(N) == 32 and block_rows(10**5) == 1
    # the information alone (by triangles, rows summed across chunks) likewise
    alone = run_pair_information(runs, [], device="cpu", workers=1)
    part = run_pair_information([runs[i] for i in subset], [], device="cpu", workers=2)
    for j, i in enumerate(subset):
        assert torch.equal(part.information[j], alone.information[i])


def test_the_pass_refuses_a_budget_it_cannot_keep():
    runs = _runs(3)
    with pytest.raises(ValueError, match="memory_budget=1000 bytes is too small"):
        run_pair_information(runs, _all_pairs(3), device="cpu", memory_budget=1000)
    with pytest.raises(ValueError, match="names a set outside"):
        run_pair_information(runs, [(0, 3)], device="cpu")
