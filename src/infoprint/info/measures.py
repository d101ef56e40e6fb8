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
NMI is then defined as 0 (see :func:`nmi_from_bits`).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

from .channels import ChannelSet, as_channel_set
from .device import DeviceLike, resolve_device
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    CoefficientRows,
    check_same_probe_set,
    checked_itemsize,
    coefficient_buffers,
    cpu_chunk_cap,
    cpu_scratch,
    default_workers,
    for_each_chunk,
    plan_information,
    prepare,
    single_threaded_ops,
)
from .pairwise import pairwise_joint_information

__all__ = [
    "Comparison",
    "compare",
    "information",
    "nmi_from_bits",
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
    :func:`~infoprint.info.engine.plan_information`.
    """
    channels = as_channel_set(channels)
    itemsize = checked_itemsize(dtype)
    dev = resolve_device(device)
    n, m = channels.n_points, channels.n_channels
    n_workers = default_workers(dev, workers)
    rows_per_chunk = plan_information(
        n,
        m,
        len(powers),
        itemsize=itemsize,
        memory_budget=memory_budget,
        buffers=coefficient_buffers(channels),
        max_chunk_bytes=cpu_chunk_cap(dev),
        scratch_elems=cpu_scratch(dev),
        workers=n_workers,
    )
    accs = [torch.zeros(m, device=dev, dtype=dtype) for _ in powers]
    lock = threading.Lock()

    def work(coefficient_rows: CoefficientRows, rows: slice) -> None:
        c = coefficient_rows(rows)  # [B, M, N]
        prev = 1
        for acc, p in zip(accs, powers, strict=True):
            if p != prev:
                c.pow_(p / prev)  # C^p, in place
                prev = p
            part = c.sum(-1).log2_().sum(0)  # [B, M] -> [M]: small
            with lock:
                acc.add_(part)

    with torch.no_grad(), single_threaded_ops(dev.type == "cpu"):
        prepare(channels, dev, dtype)
        make_rows = partial(CoefficientRows, channels, rows_per_chunk, dev, dtype)
        for_each_chunk(n, rows_per_chunk, n_workers, make_rows, work)
    return [acc.div_(-n).add_(math.log2(n)).cpu() for acc in accs]


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

    Murphy, Dillavou & Bassett (TMLR 2025), Sec. 3. Where either 2 I_U − I_UU' or
    2 I_V − I_VV' is ≤ ``min_bits`` (a channel carrying ~0 bits; also guards against
    negative values from rounding) NMI is defined as 0.

    Values are not clipped. For discrete channels NMI = I(F;G)/sqrt(H(F) H(G)) lies in
    [0, 1] exactly, but with the Bhattacharyya estimates of Gaussian channels it can leave
    that interval (e.g. 1.09 when V separates the probe points and U is a blurred copy;
    slightly negative when the information sits in the variances only). VI ≥ 0 always
    holds (Cauchy–Schwarz on every probe row).
    """
    ua = 2.0 * info_a - self_a  # I(U;U'), [M]
    ub = 2.0 * info_b - self_b  # [L]
    num = info_a[:, None] + info_b[None, :] - joint
    ok = (ua[:, None] > min_bits) & (ub[None, :] > min_bits)
    den = torch.where(ok, ua[:, None] * ub[None, :], torch.ones_like(num))
    return torch.where(ok, num / den.sqrt(), torch.zeros_like(num))


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
    device: DeviceLike = "auto",
    dtype: torch.dtype = torch.float32,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    min_bits: float = NMI_MIN_BITS,
    workers: int | None = None,
) -> Comparison:
    """Information, joint information, NMI and VI of every channel of A with every one of B.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; docs/architecture.md §5.
    ``b=None`` compares A with itself (one symmetric pairwise pass). ``device``, ``dtype``,
    ``memory_budget`` and ``workers`` as in
    :func:`~infoprint.info.pairwise.pairwise_joint_information`; ``min_bits`` as in
    :func:`nmi_from_bits`. Returns float64 CPU tensors.
    """
    a = as_channel_set(a)
    if b is not None:
        b = as_channel_set(b)
        check_same_probe_set(a, b)
    opts = dict(
        device=resolve_device(device), dtype=dtype, memory_budget=memory_budget, workers=workers
    )
    joint = pairwise_joint_information(a, b, **opts)
    if b is None:
        (info_a,) = information_powers(a, (1,), **opts)
        self_a = torch.diagonal(joint).clone()
        info_b, self_b = info_a, self_a
    else:
        info_a, self_a = information_powers(a, (1, 2), **opts)
        info_b, self_b = information_powers(b, (1, 2), **opts)
    f = [t.to(torch.float64) for t in (info_a, info_b, self_a, self_b, joint)]
    nmi = nmi_from_bits(*f, min_bits=min_bits)
    vi = vi_from_bits(f[2], f[3], f[4])
    return Comparison(f[0], f[1], f[2], f[3], f[4], nmi, vi)
