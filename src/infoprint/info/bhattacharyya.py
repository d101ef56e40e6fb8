"""Bhattacharyya distance and coefficient between diagonal Gaussian posteriors.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 3 (Eq. for D_B between
Gaussians), as written in docs/architecture.md §5:

    D_ij = 1/8 Δμᵀ Σ̄⁻¹ Δμ + 1/2 [ln|Σ̄| − 1/2 (ln|Σ_i| + ln|Σ_j|)],   Σ̄ = (Σ_i + Σ_j)/2.

For diagonal covariances the distance is a sum over dimensions. Per dimension, with
variances v = exp(logvar) and δ = logvar_i − logvar_j, it is evaluated in the numerically
stable form

    D = Δμ² / (4 (v_i + v_j)) + 1/2 ln cosh(δ / 2),

since (v_i + v_j)/2 = sqrt(v_i v_j) cosh(δ/2). This gives D_ii = 0 exactly (so C_ii = 1
exactly) and D ≥ 0 without cancellation.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "add_half_log_cosh_",
    "bhattacharyya_coefficient",
    "bhattacharyya_distance",
    "coefficient_1d_into",
    "distance_1d",
]

_LN2 = math.log(2.0)

ArrayLike = Tensor | np.ndarray


def add_half_log_cosh_(out: Tensor, x: Tensor) -> Tensor:
    """In place ``out += 1/2 ln cosh(x)``, stable for large ``|x|``; ``x`` is overwritten.

    Uses ln cosh(x) = |x| + log1p(e^{−2|x|}) − ln 2 and allocates nothing.
    """
    x.abs_()
    out.add_(x, alpha=0.5)
    x.mul_(-2.0).exp_().log1p_().sub_(_LN2)
    return out.add_(x, alpha=0.5)


def _as_tensor(x: ArrayLike, name: str) -> Tensor:
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.ndim < 2:
        raise ValueError(f"{name} must have shape [..., N, d]; got {tuple(t.shape)}")
    return t


def bhattacharyya_distance(
    mu_a: ArrayLike,
    logvar_a: ArrayLike,
    mu_b: ArrayLike | None = None,
    logvar_b: ArrayLike | None = None,
) -> Tensor:
    """Bhattacharyya distances between two sets of diagonal Gaussians, summed over d.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 3; docs/architecture.md §5.

    Args:
        mu_a, logvar_a: ``[..., N, d]`` means and log-variances (tensor or numpy).
        mu_b, logvar_b: ``[..., N_b, d]``; default the ``a`` set itself.

    Returns:
        ``[..., N, N_b]`` tensor of distances (≥ 0) in the dtype/device of ``mu_a``.
        Materialises ``[..., N, N_b]`` once per dimension; for large sets use the chunked
        channel sets in :mod:`infoprint.info.channels`.
    """
    ma = _as_tensor(mu_a, "mu_a")
    la = _as_tensor(logvar_a, "logvar_a").to(ma)
    if (mu_b is None) != (logvar_b is None):
        raise ValueError("give both mu_b and logvar_b, or neither")
    if mu_b is None:
        mb, lb = ma, la
    else:
        mb = _as_tensor(mu_b, "mu_b").to(ma)
        lb = _as_tensor(logvar_b, "logvar_b").to(ma)
    if ma.shape != la.shape or mb.shape != lb.shape:
        raise ValueError(
            f"mean and log-variance shapes differ: {tuple(ma.shape)} vs {tuple(la.shape)}, "
            f"{tuple(mb.shape)} vs {tuple(lb.shape)}"
        )
    if ma.shape[-1] != mb.shape[-1]:
        raise ValueError(f"dimension d differs: {ma.shape[-1]} vs {mb.shape[-1]}")
    va, vb = la.exp(), lb.exp()
    out: Tensor | None = None
    for k in range(ma.shape[-1]):
        dk = distance_1d(
            ma[..., :, None, k],
            la[..., :, None, k],
            va[..., :, None, k],
            mb[..., None, :, k],
            lb[..., None, :, k],
            vb[..., None, :, k],
        )
        out = dk if out is None else out.add_(dk)
    assert out is not None
    return out


def distance_1d(
    mu_i: Tensor, lv_i: Tensor, v_i: Tensor, mu_j: Tensor, lv_j: Tensor, v_j: Tensor
) -> Tensor:
    """Broadcast 1-D Bhattacharyya distance; allocates two broadcast-sized buffers."""
    d = torch.sub(mu_i, mu_j).square_()
    t = torch.add(v_i, v_j)
    d.div_(t).mul_(0.25)
    torch.sub(lv_i, lv_j, out=t)
    add_half_log_cosh_(d, t.mul_(0.5))
    return d.clamp_(min=0.0)


def flush_tiny(coefficients: Tensor) -> Tensor:
    """``coefficients`` with entries below sqrt(smallest normal) of their dtype set to 0, in
    place (~1e-19 in float32, ~1e-154 in float64).

    Their products and squares would be subnormal numbers, which CPUs multiply tens of times
    slower (the pairwise pass ~1.4x, a fusion step ~3x slower in float32); every row sum they
    enter is at least 1 (C[i, i] = 1), so they lie below its rounding by over ten orders of
    magnitude.

    One ``threshold_`` pass at the largest number below that floor: the same result as
    ``masked_fill_(c < floor, 0)`` (NaN kept, −0 kept) at a seventh of its cost on the
    CPU, where the comparison's boolean mask made it the dearest pass of a coefficient row.
    """
    return torch.nn.functional.threshold_(coefficients, _below_flush_floor(coefficients.dtype), 0)


@functools.cache
def _below_flush_floor(dtype: torch.dtype) -> float:
    """The largest number of ``dtype`` below sqrt(smallest normal) (:func:`flush_tiny`)."""
    floor = torch.tensor(torch.finfo(dtype).tiny ** 0.5, dtype=dtype)
    return float(torch.nextafter(floor, floor.new_tensor(-math.inf)))


def exponent_cap(dtype: torch.dtype) -> float:
    """A bound on −x for exp(x) in a coefficient: exp(−cap) is still a normal number, below
    :func:`flush_tiny`'s floor. Capping exponents there gives the same coefficients after
    the flush without ever making a subnormal number (slow to make as well as to use)."""
    return 1.0 - 0.5 * math.log(torch.finfo(dtype).tiny)


def coefficient_1d_into(
    out: Tensor,
    tmp: Tensor,
    mu_i: Tensor,
    q_i: Tensor,
    v_i: Tensor,
    mu_j: Tensor,
    q_j: Tensor,
    v_j: Tensor,
) -> Tensor:
    """Broadcast 1-D Bhattacharyya coefficient written into ``out`` (any strides).

    Uses the product form C = sqrt(2 σ_i σ_j / (v_i + v_j)) · exp(−Δμ² / (4 (v_i + v_j))),
    equivalent to exp(−D) with D as in the module docstring, with one exp per element.
    ``q = v^{1/4}`` (so sqrt(σ_i σ_j) = q_i q_j); ``q_i`` must already carry the factor √2.
    C_ii equals 1 up to a few ulp. ``out`` and the scratch ``tmp`` have the broadcast
    shape; nothing else of that size is allocated.
    """
    torch.add(v_i, v_j, out=tmp).rsqrt_()
    cap = exponent_cap(out.dtype)
    torch.sub(mu_i, mu_j, out=out).mul_(tmp).square_().mul_(-0.25).clamp_(min=-cap).exp_()
    tmp.mul_(q_i).mul_(q_j)
    return out.mul_(tmp)


def bhattacharyya_coefficient(
    mu_a: ArrayLike,
    logvar_a: ArrayLike,
    mu_b: ArrayLike | None = None,
    logvar_b: ArrayLike | None = None,
) -> Tensor:
    """``C = exp(−D_B)`` in (0, 1]; see :func:`bhattacharyya_distance`."""
    return bhattacharyya_distance(mu_a, logvar_a, mu_b, logvar_b).neg_().exp_()
