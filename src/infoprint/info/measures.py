"""Information, joint information, NMI and VI of channels, in bits.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 3, as written in
docs/architecture.md §5:

* I(U)   = −(1/N) Σ_i log2((1/N) Σ_j C_ij)                  (information of a channel)
* I(UU') = the same with C∘C                                (two independent reads of U)
* I(UV)  = the same with C_U∘C_V                            (joint, :mod:`.pairwise`)
* NMI(U, V) = (I_U + I_V − I_UV) / sqrt((2 I_U − I_UU')(2 I_V − I_VV'))
* VI(U, V)  = 2 I_UV − I_UU' − I_VV'

The NMI denominator uses I(U;U') = 2 I_U − I_UU', the information shared by two reads of
U. When a channel carries (almost) no information this is ~0 and the ratio is undefined;
NMI is then defined as 0 (see :func:`nmi_from_mutual`).

:func:`compare` takes NMI's and VI's terms I(U;V) = I_U + I_V − I_UV and I(U;U') straight
from the pairwise pass (:func:`~infoprint.info.pairwise.pairwise_information`), which
computes them from centred coefficient rows to the dtype's relative precision: for a
channel just above 0.01 bits I(U;U') is ~1e-4 bits, and forming it as 2 I_U − I_UU' from
float32 values near log2 N would cost ~1e-2 of its NMI.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    ChunkTurns,
    CoefficientRows,
    checked_itemsize,
    coefficient_buffers,
    pass_limits,
    plan_information,
    run_pass,
)
from .pairwise import PairwiseOptions, pairwise_information

if TYPE_CHECKING:  # typing.Unpack is Python 3.11+; annotations are never evaluated
    from typing import Unpack

__all__ = [
    "Comparison",
    "compare",
    "information",
    "nmi_from_bits",
    "nmi_from_mutual",
    "self_joint_information",
    "vi_from_bits",
]

NMI_MIN_BITS = 1e-6
"""Channels whose I(U;U') = 2 I_U − I_UU' is at or below this many bits get NMI 0."""


def information(
    channels: ChannelSet,
    *,
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    copies: int = 1,
    workers: int | None = None,
) -> Tensor:
    """Information of every channel in bits, ``[M]`` on the CPU in ``dtype``.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3:
    ``I(U) = −(1/N) Σ_i log2((1/N) Σ_j C_ij)``; 0 ≤ I(U) ≤ log2 N. For a discrete channel
    this is the entropy of its values on the probe set.

    ``copies=2`` gives I(UU') (coefficients C∘C, two independent reads of the channel);
    in general the coefficients are raised to the power ``copies``. ``memory_budget`` and
    ``workers`` as in :func:`~infoprint.info.pairwise.pairwise_joint_information`.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1; got {copies}")
    (out,) = information_powers(
        channels,
        (int(copies),),
        device=device,
        dtype=dtype,
        memory_budget=memory_budget,
        workers=workers,
    )
    return out


def information_powers(
    channels: ChannelSet,
    powers: tuple[int, ...],
    *,
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    workers: int | None = None,
) -> list[Tensor]:
    """``information(channels, copies=p)`` for every p in ``powers`` (ascending), one pass.

    One engine pass over chunks of probe rows (docs/architecture.md §6), planned by
    :func:`~infoprint.info.engine.plan_information`. Sums ``log2`` of the row means in
    float64, so the result keeps the dtype's relative precision rather than log2 N's; the
    chunks' sums join in chunk order, so a call repeats to the bit (same plan and workers).
    """
    channels = as_channel_set(channels)
    itemsize = checked_itemsize(dtype)
    dev = resolve_device(device)
    n, m = channels.n_points, channels.n_channels
    limits = pass_limits(dev, workers)
    rows_per_chunk = plan_information(
        n,
        m,
        len(powers),
        itemsize=itemsize,
        memory_budget=memory_budget,
        buffers=coefficient_buffers(channels),
        **limits,
    )
    accs = [torch.zeros(m, device=dev, dtype=torch.float64) for _ in powers]
    turns = ChunkTurns()

    def work(coefficient_rows: CoefficientRows, rows: slice) -> None:
        c = coefficient_rows(rows)  # [B, M, N]
        prev, parts = 1, []
        for p in powers:
            if p != prev:
                c.pow_(p / prev)  # C^p, in place
                prev = p
            # log2 of the row means (not of sums near N), summed in float64: [B, M] -> [M]
            parts.append(c.sum(-1).to(torch.float64).mul_(1.0 / n).log2_().sum(0))

        def add() -> None:
            for acc, part in zip(accs, parts, strict=True):
                acc.add_(part)

        turns.add(rows.start // rows_per_chunk, add)  # the same sums in the same order

    make_rows = partial(CoefficientRows, channels, rows_per_chunk, dev, dtype)
    run_pass((channels,), dev, dtype, (n, rows_per_chunk, limits["workers"]), make_rows, work)
    return [acc.div_(-n).to(dtype).cpu() for acc in accs]


def self_joint_information(channels: ChannelSet, **kwargs: object) -> Tensor:
    """I(UU') per channel (coefficients C∘C): ``information(channels, copies=2, ...)``."""
    return information(channels, copies=2, **kwargs)  # type: ignore[arg-type]


def nmi_from_bits(
    info_a: Tensor,
    info_b: Tensor,
    self_a: Tensor,
    self_b: Tensor,
    joint: Tensor,
    *,
    min_bits: float = NMI_MIN_BITS,
) -> Tensor:
    """NMI(U, V) = (I_U + I_V − I_UV) / sqrt((2 I_U − I_UU')(2 I_V − I_VV')), ``[M, L]``.

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 3: :func:`nmi_from_mutual` of
    I(U;V) = I_U + I_V − I_UV, I(U;U') = 2 I_U − I_UU' and I(V;V') = 2 I_V − I_VV'. These
    differences inherit the inputs' absolute rounding (in float32 ~1e-6 bits near log2 N);
    :func:`compare` takes them from the pairwise pass directly instead.
    """
    mutual = info_a[:, None] + info_b[None, :] - joint
    return nmi_from_mutual(mutual, 2.0 * info_a - self_a, 2.0 * info_b - self_b, min_bits=min_bits)


def nmi_from_mutual(
    mutual: Tensor, shared_a: Tensor, shared_b: Tensor, *, min_bits: float = NMI_MIN_BITS
) -> Tensor:
    """NMI(U, V) = I(U;V) / sqrt(I(U;U') I(V;V')), ``[M, L]``, from ``mutual [M, L]``,
    ``shared_a [M]`` = I(U;U') = 2 I_U − I_UU' and ``shared_b [L]`` = I(V;V').

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 3. Where either I(U;U') or I(V;V') is
    ≤ ``min_bits`` (a channel carrying ~0 bits; also guards against negative values from
    rounding) NMI is defined as 0.

    Values are not clipped. For discrete channels NMI = I(F;G)/sqrt(H(F) H(G)) lies in
    [0, 1] exactly, but with the Bhattacharyya estimates of Gaussian channels it can leave
    that interval (e.g. 1.09 when V separates the probe points and U is a blurred copy;
    slightly negative when the information sits in the variances only). VI ≥ 0 always
    holds (Cauchy–Schwarz on every probe row).
    """
    ok = (shared_a[:, None] > min_bits) & (shared_b[None, :] > min_bits)
    den = torch.where(ok, shared_a[:, None] * shared_b[None, :], torch.ones_like(mutual))
    return torch.where(ok, mutual / den.sqrt(), torch.zeros_like(mutual))


def vi_from_bits(self_a: Tensor, self_b: Tensor, joint: Tensor) -> Tensor:
    """VI(U, V) = 2 I_UV − I_UU' − I_VV', ``[M, L]`` (Murphy et al., TMLR 2025, Sec. 3)."""
    return 2.0 * joint - self_a[:, None] - self_b[None, :]


@dataclass
class Comparison:
    """All-pairs comparison of channel set A (M channels) with B (L channels), in bits.

    All tensors are on the CPU in float64 (computed in the requested dtype, then widened).
    In self mode (``compare(a)``) B is A and ``joint``'s diagonal equals ``self_a``.

    Attributes:
        information_a: ``[M]`` I(U).
        information_b: ``[L]`` I(V).
        self_a: ``[M]`` I(UU') (two reads of the same channel, C∘C).
        self_b: ``[L]`` I(VV').
        joint: ``[M, L]`` I(UV).
        nmi: ``[M, L]`` normalised mutual information (0 where a channel carries ~0 bits;
            not clipped to [0, 1], see :func:`nmi_from_bits`).
        vi: ``[M, L]`` variation of information, bits.
    """

    information_a: Tensor
    information_b: Tensor
    self_a: Tensor
    self_b: Tensor
    joint: Tensor
    nmi: Tensor
    vi: Tensor

    @property
    def mutual_information(self) -> Tensor:
        """``[M, L]`` I(U;V) = I_U + I_V − I_UV in bits."""
        return self.information_a[:, None] + self.information_b[None, :] - self.joint


def compare(
    a: ChannelSet,
    b: ChannelSet | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    min_bits: float = NMI_MIN_BITS,
    **options: Unpack[PairwiseOptions],
) -> Comparison:
    """Information, joint information, NMI and VI of every channel of A with every one of B.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; docs/architecture.md §5.
    ``b=None`` compares A with itself (one symmetric pairwise pass), else one pass over
    both sets (:func:`~infoprint.info.pairwise.pairwise_information`); NMI and VI are
    formed from its I(U;V) and I(U;U') directly. ``dtype`` and the ``options`` (``device``,
    ``memory_budget``, ``progress``, ``tile``, ``workers``) as in
    :func:`~infoprint.info.pairwise.pairwise_joint_information`; ``min_bits`` as in
    :func:`nmi_from_mutual`. Returns float64 CPU tensors.
    """
    bits = pairwise_information(a, b, dtype=dtype, **options)
    info_a, info_b, ua, ub, mutual = (
        t.to(torch.float64)
        for t in (bits.information_a, bits.information_b, bits.shared_a, bits.shared_b, bits.mutual)
    )
    joint = info_a[:, None] + info_b[None, :] - mutual
    nmi = nmi_from_mutual(mutual, ua, ub, min_bits=min_bits)
    vi = ua[:, None] + ub[None, :] - 2.0 * mutual  # = 2 I_UV − I_UU' − I_VV'
    return Comparison(info_a, info_b, 2.0 * info_a - ua, 2.0 * info_b - ub, joint, nmi, vi)
