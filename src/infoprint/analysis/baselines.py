"""Other similarity measures next to NMI / VI, run by run (paper Sec. 4.1, Fig. 2).

``docs/architecture.md`` §10. With ``baselines.enabled=true`` the analysis computes, for
every pair of runs (whole latent spaces on the probe set), the chosen measures of
:mod:`infoprint.info.baselines` (CKA, RSA, UDR, the stochastic shape metric) and the
whole-space Monte Carlo NMI and VI (Sec. 4.3), then how well each measure ranks the run
pairs as NMI and VI do (Spearman ρ over the pairs; distances enter negated), and each
run's UDR score (median over the other runs, as disentanglement_lib's ``udr.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from infoprint.analysis.outputs import Table
from infoprint.analysis.whole_space import compare_whole_spaces
from infoprint.fingerprint.record import Fingerprint
from infoprint.info.baselines import DISTANCE_MEASURES, space_matrix
from infoprint.info.baselines_udr import gaussian_kl_per_dim, udr_runs
from infoprint.store.atomic import atomic_savez

BASELINES_FILE = "baselines.npz"
AGREEMENT_COLUMNS = ["measure", "kind", "mean_over_pairs", "rho_with_nmi", "rho_with_neg_vi"]
"""The columns of ``baselines.csv`` (:func:`agreement_table`)."""


@dataclass
class BaselineComparison:
    run_ids: list[str]
    measures: dict[str, np.ndarray]  # name -> [R, R]; "nmi" and "vi" are the Monte Carlo ones
    udr_scores: dict[str, np.ndarray]  # "udr_spearman" / "udr_lasso" -> [R]

    def agreement(self, reference: str) -> dict[str, float | None]:
        """Spearman ρ between each measure and ``reference`` over the off-diagonal pairs."""
        upper = np.triu_indices(len(self.run_ids), 1)
        ref = self._oriented(reference)[upper]
        rho = {}
        for name in self.measures:
            if name in ("nmi", "vi"):
                continue
            values = self._oriented(name)
            pairs = 0.5 * (values + values.T)[upper]  # asymmetric UDR-Lasso: both directions
            ok = np.isfinite(pairs) & np.isfinite(ref)
            enough = ok.sum() >= 3 and np.ptp(pairs[ok]) > 0 and np.ptp(ref[ok]) > 0
            rho[name] = float(spearmanr(pairs[ok], ref[ok]).statistic) if enough else None
        return rho

    def _oriented(self, name: str) -> np.ndarray:
        """Similarities as they are, distances negated (VI and the shape metric)."""
        values = self.measures[name]
        return -values if name == "vi" or name in DISTANCE_MEASURES else values


def compare_baselines(
    fingerprints: Sequence[Fingerprint],
    measures: Sequence[str],
    n_samples: int,
    seed: int,
    device: str,
) -> BaselineComparison:
    """Every measure for every pair of runs, on the probe set."""
    spaces = [(fp.mu, fp.logvar) for fp in fingerprints]
    whole = compare_whole_spaces(
        [_probe_only(fp) for fp in fingerprints], n_samples=n_samples, seed=seed, device=device
    )
    found = {"nmi": whole.nmi, "vi": whole.vi}
    udr_scores = {}
    for name in measures:
        if name.startswith("udr_"):
            codes = [fp.mu.astype(np.float64) for fp in fingerprints]
            kls = [gaussian_kl_per_dim(fp.mu, fp.logvar) for fp in fingerprints]
            found[name], udr_scores[name] = udr_runs(codes, kls=kls, method=name[4:], seed=seed)
        else:
            found[name] = space_matrix(spaces, name)
    return BaselineComparison([fp.run_id for fp in fingerprints], found, udr_scores)


def _probe_only(fp: Fingerprint) -> Fingerprint:
    return replace(fp, embedding_mu=None, embedding_logvar=None, embedding_index=None)


def write_baselines(directory: Path, result: BaselineComparison) -> Path:
    path = directory / BASELINES_FILE
    return atomic_savez(path, {"run_ids": np.asarray(result.run_ids, dtype=str), **result.measures})


def agreement_table(result: BaselineComparison) -> Table:
    """``baselines.csv``: each measure's rank agreement with whole-space NMI and −VI."""
    with_nmi, with_vi = result.agreement("nmi"), result.agreement("vi")
    upper = np.triu_indices(len(result.run_ids), 1)
    rows = [
        [
            name,
            "distance" if name in DISTANCE_MEASURES else "similarity",
            float(np.nanmean(result.measures[name][upper])),
            with_nmi[name],
            with_vi[name],
        ]
        for name in with_nmi
    ]
    return Table(
        name="baselines",
        title="other similarity measures against NMI and VI",
        columns=AGREEMENT_COLUMNS,
        rows=rows,
        caption=(
            "Each measure between every pair of runs (whole latent spaces on the probe set): "
            "its mean over pairs, and Spearman ρ with the whole-space Monte Carlo NMI and −VI "
            "over the pairs (paper Sec. 4.1; distances enter negated). ρ near 1: the measure "
            "ranks run pairs as the information content does."
        ),
        file="baselines.csv",
        terminal=["measure", "rho_with_nmi", "rho_with_neg_vi"],
    )


def udr_table(result: BaselineComparison) -> Table:
    names = sorted(result.udr_scores)
    return Table(
        name="udr",
        title="UDR per run",
        columns=["run_id", *names],
        rows=[
            [run_id, *(float(result.udr_scores[n][r]) for n in names)]
            for r, run_id in enumerate(result.run_ids)
        ],
        caption=(
            "Each run's UDR score (Duan et al. 2020; disentanglement_lib's udr.py): the median "
            "over the other runs of its pairwise UDR; higher = its dimensions are found again, "
            "one to one, in the other runs."
        ),
        file="udr.csv",
    )
