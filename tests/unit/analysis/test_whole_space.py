import numpy as np

from infoprint.analysis.whole_space import compare_whole_spaces, write_whole_space
from infoprint.plots.whole_space import whole_space_figure
from support import make_fingerprint


def test_copies_of_one_space_match_and_embedding_is_preferred(tmp_path):
    runs = [make_fingerprint(n=64, d=2, seed=0) for _ in range(2)] + [
        make_fingerprint(n=64, d=2, seed=5)
    ]
    for r, fp in enumerate(runs):
        fp.meta["run_id"] = f"r{r}"
        fp.logvar[:] = -12.0  # well separated posteriors: information near log2 N
    result = compare_whole_spaces(runs, n_samples=500, seed=0)
    assert result.sample == "probe" and result.n_points == 64
    np.testing.assert_allclose(result.information, np.log2(64), atol=0.1)
    assert abs(result.nmi[0, 1] - 1.0) < 3 * result.nmi_se[0, 1] + 1e-3
    assert result.vi[0, 1] < 3 * result.vi_se[0, 1] + 1e-3
    # Two spaces that both tell every probe point apart hold the same information.
    assert result.vi[0, 2] < 3 * result.vi_se[0, 2] + 1e-3
    runs[2].logvar[:] = 0.0  # a blurry space: less information, so VI > 0
    blurry = compare_whole_spaces(runs, n_samples=500, seed=0)
    assert blurry.information[2] < 3.0
    assert blurry.vi[0, 2] > 2.0 and blurry.nmi[0, 2] < 0.9

    rng = np.random.default_rng(0)
    for fp in runs:
        fp.embedding_mu = rng.normal(size=(128, 2)).astype(np.float32)
        fp.embedding_logvar = np.full((128, 2), -6.0, np.float32)
        fp.embedding_index = np.arange(128)
    result = compare_whole_spaces(runs, n_samples=200, seed=0)
    assert result.sample == "embedding" and result.n_points == 128
    path = write_whole_space(tmp_path, result)
    assert np.load(path, allow_pickle=False)["nmi"].shape == (3, 3)
    whole_space_figure(result).savefig(tmp_path / "ws.png")
