"""Channel measures: how the ensemble's channels are compared before OPTICS clusters them.

Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3 and 4.1: every kept
channel of an ensemble is compared with every other by normalised mutual information
(NMI, 1 = the same information) and by variation of information (VI = H(U|V) + H(V|U),
bits, 0 = the same information); OPTICS clusters the channels on the distances −ln NMI and
VI, and its dense clusters are the hotspots.

:data:`CHANNEL_MEASURES` is the one registry of those measures. Each
:class:`ChannelMeasure` declares the matrix it reads from an
:class:`~infoprint.analysis.ensemble.EnsembleStructure`, its distance for OPTICS, how the
structure figure draws and captions it, and the names of what it adds to ``results.npz``,
``hotspots.csv`` and ``study.csv``; hotspots, results, the structure step and figures, the
study and the course of training read it. Adding a measure is one entry here, its test and
its line in ``docs/architecture.md`` (§10); ``clustering.measures`` then accepts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from infoprint.analysis.ensemble import EnsembleStructure
from infoprint.registry import Registry

NMI_FLOOR = 1e-6  # −ln NMI is capped at −ln(1e-6) ≈ 13.8 for unrelated channels


_STRUCTURE_PARTS = (
    "Top: OPTICS reachability in cluster order; a valley of coloured bars is a hotspot "
    "(grey: in none). Middle: the {symbol} matrix in the same order; {squares}. Right: each "
    "channel's best NMI with a ground-truth factor, coloured by that factor."
)


@dataclass(frozen=True)
class ChannelMeasure:
    """One way to compare two channels, and everything the analysis needs to show it.

    The column names it contributes are ``<name>_<quantity>`` (:meth:`column`):
    ``results.npz`` holds its matrix as ``<name>`` and, when it is clustered,
    ``<name>_ordering``, ``<name>_reachability`` and ``<name>_labels``; ``hotspots.csv``
    names it in its ``measure`` column; ``study.csv`` has ``<name>_hotspots``,
    ``<name>_sizes``, ``<name>_frac_channels`` and ``<name>_frac_information``.

    Left out, ``symbol`` is the name in capitals, ``matrix`` the
    :class:`~infoprint.analysis.ensemble.EnsembleStructure` attribute of that name and
    ``distance_name`` the symbol."""

    name: str  # in clustering.measures, results.npz, the tables and the figure names
    distance: Callable[[np.ndarray], np.ndarray]  # matrix -> non-negative OPTICS distance
    higher_is_closer: bool  # NMI: 1 is the same information; VI: 0 is
    colour_map: str  # matplotlib's name; drawn so that close channels are bright
    compared_by: str  # the caption's "Channels of all runs compared by ..."
    squares: str  # the caption's reading of the reordered matrix
    symbol: str = ""  # in titles and captions: "NMI hotspots"
    units: str = ""  # of its values, "" for none: the colour bar reads "VI (bits)"
    matrix: Callable[[EnsembleStructure], np.ndarray] | None = None  # [M, M], kept channels
    distance_name: str = ""  # how captions name that distance: "−ln NMI"
    value_range: tuple[float, float | None] = (0.0, None)  # colour scale; None: the maximum

    def __post_init__(self) -> None:
        symbol = self.symbol or self.name.upper()
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "distance_name", self.distance_name or symbol)
        object.__setattr__(self, "matrix", self.matrix or attrgetter(self.name))

    @property
    def caption(self) -> str:
        """The caption of its structure figure (``structure_<name>.png``)."""
        parts = _STRUCTURE_PARTS.format(symbol=self.symbol, squares=self.squares)
        return f"Channels of all runs compared by {self.compared_by}. {parts}"

    @property
    def label(self) -> str:
        """The symbol with its units, for axes and colour bars: ``VI (bits)``."""
        return f"{self.symbol} ({self.units})" if self.units else self.symbol

    @property
    def colours(self) -> str:
        """The colour map oriented so that close channels are at its bright end."""
        return self.colour_map if self.higher_is_closer else f"{self.colour_map}_r"

    def column(self, quantity: str) -> str:
        """The name of its ``quantity`` in results.npz and the tables: ``nmi_ordering``."""
        return f"{self.name}_{quantity}"


CHANNEL_MEASURES: Registry[ChannelMeasure] = Registry("channel measure")
"""Every channel measure by name; ``clustering.measures`` chooses among them."""


def register(measure: ChannelMeasure) -> ChannelMeasure:
    """Add ``measure`` to :data:`CHANNEL_MEASURES` under its name."""
    return CHANNEL_MEASURES.add(measure.name, measure)


def _neg_log_nmi(nmi: np.ndarray) -> np.ndarray:
    """−ln NMI (paper Sec. 4.1): 0 for the same information, large for unrelated channels."""
    return -np.log(np.clip(nmi, NMI_FLOOR, 1.0))


def _vi_distance(vi: np.ndarray) -> np.ndarray:
    """VI is a metric (paper Sec. 3); estimates a hair below 0 are clipped."""
    return np.clip(vi, 0.0, None)


register(
    ChannelMeasure(
        name="nmi",
        distance=_neg_log_nmi,
        distance_name="−ln NMI",
        value_range=(0.0, 1.0),
        higher_is_closer=True,
        colour_map="viridis",
        compared_by="NMI (1 = the same information, 0 = nothing shared)",
        squares="bright squares on the diagonal are groups of channels that many runs learn alike",
    )
)
register(
    ChannelMeasure(
        name="vi",
        units="bits",
        distance=_vi_distance,
        higher_is_closer=False,
        colour_map="magma",
        compared_by="variation of information (VI, bits; 0 = the same information, bright = close)",
        squares="bright squares on the diagonal are hotspots",
    )
)


DEFAULT_MEASURES = ("nmi", "vi")
"""The measures clustered when ``clustering.measures`` is not given (conf/analyze.yaml)."""

PRIMARY_MEASURE = "nmi"
"""The measure whose hotspots the study, the course of training, the traversals and the
hotspot fusion use unless told otherwise (the paper's Fig. 3-4 are on NMI)."""


def channel_measure(name: str) -> ChannelMeasure:
    """The registered measure ``name``; a ConfigError naming the registered ones otherwise."""
    return CHANNEL_MEASURES[name]
