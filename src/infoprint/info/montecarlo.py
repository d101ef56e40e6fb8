"""Monte Carlo comparison of whole latent spaces, with standard errors.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 4.3, as specified in
docs/architecture.md §5. For a space U with posteriors q(u|x) on an embedding sample
x_1..x_N:

    I(U;X) ≈ (1/S) Σ_s log2[ q(u_s|x_s) / ((1/N) Σ_j q(u_s|x_j)) ],
    x_s ~ uniform{x_1..x_N},  u_s ~ q(u|x_s),

evaluated in log space (running logsumexp over chunks of j). Two reads of one space,
I(UU'), use the space tiled with itself ([u, u'] with independent noise, q(u,u'|x) =
q(u|x) q(u'|x)); two spaces, I(UV), use their concatenation ([u, v], q(u,v|x) =
q(u|x) q(v|x)). NMI and VI then follow Sec. 3 / docs/architecture.md §5.

Implementation: log q_r(u|x_j) for all spaces r and a chunk of samples is computed once;
joint log densities are sums of these, so Σ_j q_a q_b for all pairs (a, b) is a batched GEMM
over samples (shifted by the running max per space, as in a logsumexp). Everything is in
float64 (the quadratic form is expanded into GEMMs, which needs the precision).

Standard errors: every estimate is a mean of per-sample terms; all estimates use the same
samples x_s (common random numbers; I(U), I(UU') and I(UV) also share U's noise), so they
are correlated. The full covariance of (I_U, I_V, I_UU', I_VV', I_UV) is estimated from
the per-sample terms (streaming sums of cross products) and propagated to NMI and VI by
the first-order delta method. No covariance is neglected. Standard errors describe the
Monte Carlo noise only, not the bias of the estimator from a finite embedding sample
(the estimate of I(U;X) cannot exceed log2 N).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .device import DeviceLike, resolve_device
from .engine import DEFAULT_MEMORY_BUDGET, plan_samples
from .measures import NMI_MIN_BITS

__all__ = [
    "MonteCarloComparison",
    "MonteCarloInformation",
    "montecarlo_compare",
    "montecarlo_information",
]

ArrayLike = Tensor | np.ndarray
SpaceLike = tuple[ArrayLike, ArrayLike]

_LN2 = math.log(2.0)
_LOG_2PI = math.log(2.0 * math.pi)
_BLOCK = 256  # samples per block of random numbers (fixed, so results ignore chunking)


@dataclass
class MonteCarloInformation:
    """Monte Carlo information of one space, bits, with standard errors."""

    information: float
    information_se: float
    self_joint: float
    """I(UU') of two independent reads of the space."""
    self_joint_se: float
    n_samples: int
    seed: int


@dataclass
class MonteCarloComparison:
    """Monte Carlo comparison of R whole spaces; bits; float64 CPU tensors.

    ``joint[a, b]`` is I(U_a U_b) for a ≠ b; its diagonal is set to ``self_joint`` so that
    ``nmi`` has ones and ``vi`` zeros (standard error 0) on the diagonal. Where a space
    carries ≤ ``min_bits`` of I(U;U') = 2 I_U − I_UU', NMI and its error are 0.
    """

    information: Tensor  # [R]
    information_se: Tensor
    self_joint: Tensor  # [R] I(UU')
    self_joint_se: Tensor
    joint: Tensor  # [R, R]
    joint_se: Tensor
    nmi: Tensor
    nmi_se: Tensor
    vi: Tensor
    vi_se: Tensor
    n_samples: int
    seed: int


class _Spaces:
    """R diagonal Gaussian spaces on the same N points, stacked as ``[R, N, D]`` float64.

    Spaces with fewer than D = max d_r dimensions are padded with dimensions whose
    posterior is N(0, 1) at every point and whose sample is always 0: they add the same
    constant to log q(u|x_j) for every j and to log q(u_s|x_s), so they cancel in every
    estimate. Means are centred per space (the densities are translation invariant), which
    keeps the GEMM expansion of the quadratic form accurate.
    """

    def __init__(self, pairs: Sequence[SpaceLike], dev: torch.device) -> None:
        mus, lvs = [], []
        for r, (mu, logvar) in enumerate(pairs):
            m = torch.as_tensor(mu).to(device=dev, dtype=torch.float64)
            lv = torch.as_tensor(logvar).to(device=dev, dtype=torch.float64)
            if m.ndim == 1:
                m, lv = m[:, None], lv[:, None]
            if m.ndim != 2 or m.shape != lv.shape:
                raise ValueError(
                    f"space {r}: mu and logvar must both be [N, d]; got {tuple(m.shape)} and "
                    f"{tuple(lv.shape)}"
                )
            if not bool(torch.isfinite(m).all() & torch.isfinite(lv).all()):
                raise ValueError(f"space {r}: mu/logvar contain non-finite values")
            mus.append(m - m.mean(0))
            lvs.append(lv)
        if not mus:
            raise ValueError("no spaces given")
        ns = sorted({int(m.shape[0]) for m in mus})
        if len(ns) != 1:
            raise ValueError(f"spaces are on different embedding samples: N = {ns}")
        self.dims = [int(m.shape[1]) for m in mus]
        self.r, self.n, self.d = len(mus), ns[0], max(self.dims)
        pad = [(0, self.d - k) for k in self.dims]
        self.mu = torch.stack(
            [torch.nn.functional.pad(m, p) for m, p in zip(mus, pad, strict=True)]
        )
        self.logvar = torch.stack(
            [torch.nn.functional.pad(lv, p) for lv, p in zip(lvs, pad, strict=True)]
        )  # [R, N, D]
        self.std = self.logvar.mul(0.5).exp()
        self.inv_var = self.logvar.neg().exp()
        self.mu_iv = self.mu * self.inv_var
        # Σ_d μ²/v + ln v + ln 2π  per space and point: [R, N]
        self.const = (self.mu * self.mu_iv + self.logvar).sum(-1) + self.d * _LOG_2PI

    def log_density(self, u: Tensor, j: slice) -> Tensor:
        """``[R, S, n_j]``: log q_r(u_{r,s} | x_j) for the points j in the slice."""
        quad = torch.bmm(u * u, self.inv_var[:, j].transpose(1, 2))
        quad.baddbmm_(u, self.mu_iv[:, j].transpose(1, 2), alpha=-2.0)
        return quad.add_(self.const[:, None, j]).mul_(-0.5)


def _as_spaces(spaces: Sequence[SpaceLike] | SpaceLike, dev: torch.device) -> _Spaces:
    if isinstance(spaces, tuple) and len(spaces) == 2 and np.ndim(spaces[0]) == 3:
        mu, lv = spaces
        pairs: Sequence[SpaceLike] = [(mu[r], lv[r]) for r in range(len(mu))]
    else:
        pairs = spaces  # type: ignore[assignment]
    return _Spaces(pairs, dev)


def montecarlo_compare(
    spaces: Sequence[SpaceLike] | SpaceLike,
    *,
    n_samples: int = 2000,
    seed: int = 0,
    device: DeviceLike = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    point_chunk: int = 4096,
    min_bits: float = NMI_MIN_BITS,
) -> MonteCarloComparison:
    """Monte Carlo I, I(UU'), joint I, NMI and VI with standard errors for R whole spaces.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.3; docs/architecture.md §5.

    Args:
        spaces: a sequence of ``(mu [N, d_r], logvar [N, d_r])`` (d_r may differ), or a
            pair ``(mu [R, N, d], logvar [R, N, d])``. All on the same N embedding points.
        n_samples: number S of Monte Carlo samples (x_s, u_s).
        seed: seeds a CPU :class:`torch.Generator`; results are reproducible and do not
            depend on the chunking or the device (up to rounding).
        memory_budget: bytes for the per-chunk working set (samples are chunked to fit).
        point_chunk: the sum over j runs in chunks of this many points.
        min_bits: NMI (and its error) is 0 where a space has I(U;U') ≤ ``min_bits``.

    Returns:
        :class:`MonteCarloComparison` with ``[R]`` and ``[R, R]`` float64 CPU tensors.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2; got {n_samples}")
    dev = resolve_device(device)
    sp = _as_spaces(spaces, dev)
    nc = max(1, min(sp.n, int(point_chunk)))
    s_chunk = plan_samples(sp.r, sp.d, nc, memory_budget=memory_budget, max_samples=_BLOCK)
    moments = _Moments(sp.r, dev)
    log_n = math.log(sp.n)
    with torch.no_grad():
        for idx, noise in _sample_chunks(sp, n_samples, seed, s_chunk):
            moments.add(*_sample_terms(sp, idx, noise, nc, log_n))
    return _finish(moments, n_samples, seed, min_bits)


def _block_seed(seed: int, block: int) -> int:
    """A 63-bit seed for one block of samples, derived from (seed, block)."""
    ss = np.random.SeedSequence([int(seed) & (2**63 - 1), block])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _sample_chunks(
    sp: _Spaces, n_samples: int, seed: int, s_chunk: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """``(indices s [b], noise [2, R, b, D])`` for chunks of ``s_chunk`` samples.

    The randomness is drawn per fixed block of :data:`_BLOCK` samples (a CPU generator
    seeded from ``(seed, block)``), so results depend neither on the chunking nor on the
    device. Noise of padded dimensions is 0.
    """
    dev = sp.mu.device
    for blk0 in range(0, n_samples, _BLOCK):
        nb = min(_BLOCK, n_samples - blk0)
        gen = torch.Generator(device="cpu").manual_seed(_block_seed(seed, blk0 // _BLOCK))
        idx_blk = torch.randint(sp.n, (nb,), generator=gen)
        eps_blk = torch.zeros(2, sp.r, nb, sp.d, dtype=torch.float64)
        for r, k in enumerate(sp.dims):
            eps_blk[0, r, :, :k] = torch.randn(nb, k, generator=gen, dtype=torch.float64)
            eps_blk[1, r, :, :k] = torch.randn(nb, k, generator=gen, dtype=torch.float64)
        for c0 in range(0, nb, s_chunk):
            c1 = min(c0 + s_chunk, nb)
            yield idx_blk[c0:c1].to(dev), eps_blk[:, :, c0:c1].to(dev)


class _Moments:
    """Streaming sums over samples of the per-sample terms and of their cross products.

    ``i``: I_r terms, ``s``: I(U_r U_r') terms, ``j``: I(U_a U_b) terms. ``s_*`` are sums,
    ``p_**`` sums of outer products ``[R, R]``, ``q_j*`` sums of products of the joint
    terms with ``j``, ``i`` (of space a) and ``s`` (of space a), elementwise per pair.
    """

    def __init__(self, r: int, dev: torch.device) -> None:
        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, dtype=torch.float64, device=dev)

        self.s_i, self.s_s = zeros(r), zeros(r)
        self.p_ii, self.p_is, self.p_ss = zeros(r, r), zeros(r, r), zeros(r, r)
        self.s_j, self.q_jj, self.q_ji, self.q_js = (zeros(r, r) for _ in range(4))

    def add(self, f_i: Tensor, f_s: Tensor, f_j: Tensor) -> None:
        """Add a chunk of b samples: ``f_i, f_s [b, R]``, ``f_j [b, R, R]``; sums over
        samples are GEMVs with a row of ones."""
        r = f_i.shape[1]
        ones = torch.ones(1, f_i.shape[0], dtype=torch.float64, device=f_i.device)
        fj = f_j.reshape(f_j.shape[0], -1)  # [b, R*R]
        self.s_i += (ones @ f_i)[0]
        self.s_s += (ones @ f_s)[0]
        self.p_ii += f_i.T @ f_i
        self.p_is += f_i.T @ f_s
        self.p_ss += f_s.T @ f_s
        self.s_j += (ones @ fj).view(r, r)
        self.q_jj += (ones @ (fj * fj)).view(r, r)
        self.q_ji += (ones @ (f_j * f_i[:, :, None]).reshape_as(fj)).view(r, r)
        self.q_js += (ones @ (f_j * f_s[:, :, None]).reshape_as(fj)).view(r, r)

    def cpu(self) -> _Moments:
        """These sums, moved to the CPU (in place)."""
        for name, value in vars(self).items():
            setattr(self, name, value.cpu())
        return self


def _sample_terms(
    sp: _Spaces, idx: Tensor, noise: Tensor, nc: int, log_n: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample terms (bits) of I_r [b, R], I(U_r U_r') [b, R] and I(U_a U_b) [b, R, R].

    ``noise`` is ``[2, R, b, D]``: standard normal draws for u and for the second read u'.
    """
    b, r_, n = int(idx.shape[0]), sp.r, sp.n
    f64, dev = torch.float64, idx.device
    mu, std = sp.mu[:, idx], sp.std[:, idx]  # [R, b, D]
    u, u2 = mu + std * noise[0], mu + std * noise[1]
    base = sp.logvar[:, idx].sum(-1) + sp.d * _LOG_2PI  # [R, b]
    own_t = (-0.5 * (noise[0].square().sum(-1) + base)).T  # log q(u_s | x_s): [b, R]
    own2_t = (-0.5 * (noise[1].square().sum(-1) + base)).T
    m1 = torch.full((b, r_), -math.inf, dtype=f64, device=dev)  # running max_j L
    m2 = torch.full_like(m1, -math.inf)  # running max_j (L + L')
    a1 = torch.zeros_like(m1)  # Σ_j exp(L − m1)
    a2 = torch.zeros_like(m1)  # Σ_j exp(L + L' − m2)
    g = torch.zeros(b, r_, r_, dtype=f64, device=dev)  # Σ_j exp(L_a − m1_a + L_b − m1_b)
    for j0 in range(0, n, nc):
        j = slice(j0, min(j0 + nc, n))
        lt = sp.log_density(u, j).transpose(0, 1).contiguous()  # [b, R, nc]
        l2 = sp.log_density(u2, j).transpose(0, 1)
        l2 = l2.add(lt)  # log q(u|x_j) q(u'|x_j): the space tiled with itself, [u, u']
        new1 = torch.maximum(m1, lt.amax(-1))
        new2 = torch.maximum(m2, l2.amax(-1))
        sc1 = torch.exp(m1 - new1)  # rescales the earlier sums (they are 0 on chunk 1)
        a2.mul_(torch.exp(m2 - new2)).add_(l2.sub_(new2[..., None]).exp_().sum(-1))
        del l2
        e = lt.sub_(new1[..., None]).exp_()  # [b, R, nc], max 1 per (s, r)
        a1.mul_(sc1).add_(e.sum(-1))
        g.mul_(sc1[:, :, None] * sc1[:, None, :])
        g.baddbmm_(e, e.transpose(1, 2))  # the concatenated spaces [u_a, u_b], all pairs
        m1, m2 = new1, new2
        del lt, e
    f_i = (own_t - m1 - a1.log() + log_n) / _LN2
    f_s = (own_t + own2_t - m2 - a2.log() + log_n) / _LN2
    own_pair = own_t[:, :, None] + own_t[:, None, :]
    f_j = (own_pair - m1[:, :, None] - m1[:, None, :] - g.log() + log_n) / _LN2
    return f_i, f_s, f_j


def _finish(moments: _Moments, n_samples: int, seed: int, min_bits: float) -> MonteCarloComparison:
    """Means, covariances of the means and delta-method errors; all [R] / [R, R]."""
    m = moments.cpu()
    ia, sa = m.s_i / n_samples, m.s_s / n_samples  # [R]
    sig, var_i, var_s, c_jj = _covariances(m, n_samples)
    r_ = ia.shape[0]
    eye = torch.eye(r_, dtype=torch.bool)
    # the diagonal pair (a, a): J is defined as S_a
    jm = torch.where(eye, sa[:, None].expand(r_, r_), m.s_j / n_samples)
    nmi, ok, grad_nmi = _nmi_with_gradient(ia, sa, jm, min_bits)
    grad_vi = torch.tensor([0.0, 0.0, -1.0, -1.0, 2.0], dtype=torch.float64).expand(r_, r_, 5)
    zero = torch.zeros_like(nmi)
    vi = 2 * jm - sa[:, None] - sa[None, :]
    return MonteCarloComparison(
        information=ia,
        information_se=var_i.clamp(min=0).sqrt(),
        self_joint=sa,
        self_joint_se=var_s.clamp(min=0).sqrt(),
        joint=jm,
        joint_se=torch.where(eye, var_s.sqrt()[:, None].expand(r_, r_), c_jj.clamp(min=0).sqrt()),
        nmi=torch.where(eye & ok, torch.ones_like(nmi), nmi),
        nmi_se=torch.where(ok & ~eye, _delta_se(grad_nmi, sig), zero),
        vi=torch.where(eye, zero, vi),
        vi_se=torch.where(eye, zero, _delta_se(grad_vi, sig)),
        n_samples=n_samples,
        seed=seed,
    )


def _covariances(m: _Moments, n_samples: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Covariance ``[R, R, 5, 5]`` of (I_a, I_b, S_a, S_b, J_ab) for every pair of spaces.

    Estimated from the streaming sums (unbiased, of the sample means); returns it with
    var(I_r), var(S_r) ``[R]`` and var(J_ab) ``[R, R]``. S is I(UU'), J is I(U_a U_b).
    """
    big_s = n_samples

    def cov(pxy: Tensor, sx: Tensor, sy: Tensor) -> Tensor:
        """Covariance of the two sample means from Σxy, Σx, Σy (unbiased)."""
        return (pxy - sx * sy / big_s) / (big_s - 1) / big_s

    c_ii = cov(m.p_ii, m.s_i[:, None], m.s_i[None, :])  # cov(I_a, I_b)
    c_is = cov(m.p_is, m.s_i[:, None], m.s_s[None, :])  # cov(I_a, S_b)
    c_ss = cov(m.p_ss, m.s_s[:, None], m.s_s[None, :])  # cov(S_a, S_b)
    c_jj = cov(m.q_jj, m.s_j, m.s_j)  # var(J_ab)
    c_ja = cov(m.q_ji, m.s_j, m.s_i[:, None])  # cov(J_ab, I_a); cov(J_ab, I_b) = c_ja.T
    c_jsa = cov(m.q_js, m.s_j, m.s_s[:, None])  # cov(J_ab, S_a); cov(J_ab, S_b) = c_jsa.T
    r_ = c_ii.shape[0]
    sig = torch.empty(r_, r_, 5, 5, dtype=torch.float64)
    var_i, var_s, cis_d = torch.diagonal(c_ii), torch.diagonal(c_ss), torch.diagonal(c_is)
    sig[..., 0, 0] = var_i[:, None]
    sig[..., 1, 1] = var_i[None, :]
    sig[..., 2, 2] = var_s[:, None]
    sig[..., 3, 3] = var_s[None, :]
    sig[..., 4, 4] = c_jj
    sig[..., 0, 1] = sig[..., 1, 0] = c_ii
    sig[..., 0, 2] = sig[..., 2, 0] = cis_d[:, None]
    sig[..., 1, 3] = sig[..., 3, 1] = cis_d[None, :]
    sig[..., 0, 3] = sig[..., 3, 0] = c_is  # cov(I_a, S_b)
    sig[..., 1, 2] = sig[..., 2, 1] = c_is.T  # cov(I_b, S_a)
    sig[..., 2, 3] = sig[..., 3, 2] = c_ss
    sig[..., 4, 0] = sig[..., 0, 4] = c_ja
    sig[..., 4, 1] = sig[..., 1, 4] = c_ja.T
    sig[..., 4, 2] = sig[..., 2, 4] = c_jsa
    sig[..., 4, 3] = sig[..., 3, 4] = c_jsa.T
    return sig, var_i, var_s, c_jj


def _nmi_with_gradient(
    ia: Tensor, sa: Tensor, jm: Tensor, min_bits: float
) -> tuple[Tensor, Tensor, Tensor]:
    """NMI ``[R, R]`` (Sec. 3), where it is defined, and its gradient ``[R, R, 5]``.

    The gradient is with respect to (I_a, I_b, S_a, S_b, J_ab); NMI is 0 where a space
    carries ≤ ``min_bits`` of I(U;U') = 2 I − S.
    """
    r_ = ia.shape[0]
    ua = (2 * ia[:, None] - sa[:, None]).expand(r_, r_)
    ub = (2 * ia[None, :] - sa[None, :]).expand(r_, r_)
    num = ia[:, None] + ia[None, :] - jm
    ok = (ua > min_bits) & (ub > min_bits)
    den = torch.where(ok, ua * ub, torch.ones_like(num)).sqrt()
    nmi = torch.where(ok, num / den, torch.zeros_like(num))
    ua_s = torch.where(ok, ua, torch.ones_like(ua))
    ub_s = torch.where(ok, ub, torch.ones_like(ub))
    grad = torch.stack(
        [
            (1 - num / ua_s) / den,
            (1 - num / ub_s) / den,
            num / (2 * ua_s * den),
            num / (2 * ub_s * den),
            -1 / den,
        ],
        -1,
    )
    return nmi, ok, grad


def _delta_se(grad: Tensor, sig: Tensor) -> Tensor:
    """First-order delta-method standard error sqrt(gᵀ Σ g) per pair, ``[R, R]``."""
    return torch.einsum("abk,abkl,abl->ab", grad, sig, grad).clamp_(min=0).sqrt_()


def montecarlo_information(
    mu: ArrayLike,
    logvar: ArrayLike,
    *,
    n_samples: int = 2000,
    seed: int = 0,
    device: DeviceLike = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    point_chunk: int = 4096,
) -> MonteCarloInformation:
    """Monte Carlo I(U;X) and I(UU') of one whole space ``mu/logvar [N, d]``, bits ± s.e.

    Murphy, Dillavou & Bassett (TMLR 2025, arXiv 2405.21042), Sec. 4.3; docs/architecture.md §5.
    """
    c = montecarlo_compare(
        [(mu, logvar)],
        n_samples=n_samples,
        seed=seed,
        device=device,
        memory_budget=memory_budget,
        point_chunk=point_chunk,
    )
    return MonteCarloInformation(
        information=float(c.information[0]),
        information_se=float(c.information_se[0]),
        self_joint=float(c.self_joint[0]),
        self_joint_se=float(c.self_joint_se[0]),
        n_samples=n_samples,
        seed=seed,
    )
