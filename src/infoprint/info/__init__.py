"""Pure-tensor information maths of infoprint (no Lightning, Hydra, W&B or files).

Implements Murphy, Dillavou & Bassett, "Comparing the information content of
probabilistic representation spaces", TMLR 2025 (arXiv 2405.21042): Bhattacharyya
coefficients between Gaussian posteriors (Sec. 3), information, joint information, NMI and
VI of channels (Sec. 3), pairwise comparison of many channels by batched GEMM
(docs/architecture.md §5) in chunks planned within a memory budget (the engine,
docs/architecture.md §6), the Monte Carlo comparison of whole latent spaces (Sec. 4.3) and
the fusion of weak learners into one embedding with its continuity metric (Sec. 4.4).
"""

from .bhattacharyya import bhattacharyya_coefficient, bhattacharyya_distance
from .channels import (
    ChannelGroups,
    ChannelSet,
    DiscreteChannels,
    GaussianChannels,
    GaussianSpaces,
)
from .device import resolve_device
from .engine import DEFAULT_MEMORY_BUDGET, PairwisePlan, plan_pairwise
from .fusion import (
    FUSION_INITS,
    FUSION_OBJECTIVES,
    FUSION_OPTIMIZERS,
    FusedSpace,
    FusionTarget,
    adjacent_distances,
    continuity,
    fuse,
)
from .measures import (
    Comparison,
    compare,
    information,
    nmi_from_bits,
    nmi_from_mutual,
    self_joint_information,
    vi_from_bits,
)
from .montecarlo import (
    MonteCarloComparison,
    MonteCarloInformation,
    montecarlo_compare,
    montecarlo_information,
)
from .pairwise import PairwiseInformation, pairwise_information, pairwise_joint_information

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "FUSION_INITS",
    "FUSION_OBJECTIVES",
    "FUSION_OPTIMIZERS",
    "ChannelGroups",
    "ChannelSet",
    "Comparison",
    "DiscreteChannels",
    "FusedSpace",
    "FusionTarget",
    "GaussianChannels",
    "GaussianSpaces",
    "MonteCarloComparison",
    "MonteCarloInformation",
    "PairwiseInformation",
    "PairwisePlan",
    "adjacent_distances",
    "bhattacharyya_coefficient",
    "bhattacharyya_distance",
    "compare",
    "continuity",
    "fuse",
    "information",
    "montecarlo_compare",
    "montecarlo_information",
    "nmi_from_bits",
    "nmi_from_mutual",
    "pairwise_information",
    "pairwise_joint_information",
    "plan_pairwise",
    "resolve_device",
    "self_joint_information",
    "vi_from_bits",
]
