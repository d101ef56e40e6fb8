"""Channel sets: M channels observed on the same N probe points.

Murphy, Dillavou & Bassett, "Comparing the information content of probabilistic
representation spaces", TMLR 2025 (arXiv 2405.21042), Sec. 3: a channel U maps each probe
point x_i to a posterior; its Bhattacharyya coefficient matrix C_ij = exp(−D_B(i, j))
determines every information measure. docs/architecture.md §5 stacks the matrices of M
channels as T[i, a, j] = C_a[i, j].

A channel set never builds the full ``[M, N, N]`` tensor; it yields rows of it on demand:
``coefficient_rows(rows, device, dtype) -> [B, M, N]`` with entry ``[r, a, j] = C_a[i_r, j]``.

Implementations here:

* :class:`GaussianChannels` — every column of ``mu [N, M]`` is a 1-D Gaussian channel
  (the per-latent-dimension fingerprint of the paper's Sec. 4.1 / 4.2).
* :class:`GaussianSpaces` — each of R channels is a whole d-dimensional diagonal Gaussian
  space (distance summed over d), e.g. the full latent space of each run of a sweep.
* :class:`ChannelGroups` — arbitrary subsets of the dimensions of one diagonal Gaussian
  space (distance summed over each subset's dimensions).
* :class:`DiscreteChannels` — ground-truth factors as channels: C_ij = 1 when points i and j
  share the factor's value, else 0 (docs/architecture.md §5). Their information is the
  factor's entropy on the probe set.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from .bhattacharyya import coefficient_1d_into, distance_1d, exponent_cap, flush_tiny

__all__ = [
    "CPU_BLOCK_ELEMS",
    "ChannelGroups",
    "ChannelSet",
    "DiscreteChannels",
    "GaussianChannels",
    "GaussianSpaces",
    "as_channel_set",
]

ArrayLike = Tensor | np.ndarray

CPU_BLOCK_ELEMS = 2**18
"""Elements per block when building coefficient rows on the CPU (1 MiB in float32): the
block and its scratch fill a 2 MiB L2 cache through the ~10 elementwise passes of the build
(blocks of 2**20 elements built ~25 % slower); against 2**17, one worker builds as fast and
two 1.2x faster (larger torch calls wait less for the Python lock, ``info/triangles.py``)."""


@runtime_checkable
class ChannelSet(Protocol):
    """M channels on N probe points that produce rows of their coefficient matrices.

    ``coefficient_rows(rows, device, dtype)`` returns a ``[B, M, N]`` tensor on ``device``
    in ``dtype`` whose entry ``[r, a, j]`` is ``C_a[i_r, j]`` for the probe rows
    ``i_r`` in ``rows`` (a contiguous slice of ``range(N)`` with step 1). Coefficients must
    lie in [0, 1] with C_a[i, i] = 1 (this keeps every row sum ≥ 1, so logs are finite).

    Optional attributes read by the chunk planner:

    * ``coefficient_buffers`` (default 2): how many ``[B, M, N]`` buffers
      ``coefficient_rows`` needs at its peak, including the result;
    * ``supports_out`` (default False): ``coefficient_rows`` accepts ``out=`` (a
      ``[B, M, N]`` tensor to fill and return), so one buffer is reused for all chunks;
    * ``supports_columns`` (default False): and ``columns=`` (a slice of the points), for
      a ``[B, M, len(columns)]`` block (the information pass then builds only one
      triangle of each symmetric C_a, :mod:`.blocks`);
    * ``prepare(device, dtype)``: fill any cache of converted parameters, called by the
      engine before its worker threads share the set.
    """

    @property
    def n_points(self) -> int: ...

    @property
    def n_channels(self) -> int: ...

    def coefficient_rows(self, rows: slice, device: torch.device, dtype: torch.dtype) -> Tensor:
        """``[B, M, N]`` coefficient rows ``C_a[i, :]`` for ``i`` in ``rows``, all channels."""
        ...


def _float_tensor(x: ArrayLike, name: str, ndim: int) -> Tensor:
    t = torch.as_tensor(x)
    if t.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        t = t.to(torch.float32)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return t.detach()


def _gaussian_params(mu: ArrayLike, logvar: ArrayLike, ndim: int) -> tuple[Tensor, Tensor]:
    """``mu`` and ``logvar`` as finite float tensors of ``ndim`` dimensions and one shape."""
    m = _float_tensor(mu, "mu", ndim)
    lv = _float_tensor(logvar, "logvar", ndim)
    if m.shape != lv.shape:
        raise ValueError(f"mu and logvar shapes differ: {tuple(m.shape)} vs {tuple(lv.shape)}")
    return m, lv


def _check_out(
    out: Tensor | None, shape: tuple[int, ...], device: torch.device, dtype: torch.dtype
) -> Tensor:
    if out is None:
        return torch.empty(shape, device=device, dtype=dtype)
    if tuple(out.shape) != shape or out.dtype != dtype or out.device != torch.device(device):
        raise ValueError(
            f"out must be a {dtype} tensor of shape {shape} on {device}; got {out.dtype} "
            f"{tuple(out.shape)} on {out.device}"
        )
    return out


class _Cached:
    """Per-(device, dtype) cache of converted parameter tensors, plus a CPU scratch buffer.

    ``supports_out``: ``coefficient_rows`` accepts ``out=`` (a ``[B, M, N]`` tensor to
    write into), which lets the engine reuse one buffer for all chunks; ``supports_columns``:
    and ``columns=`` (a slice of the probe points: a ``[B, M, len(columns)]`` block).
    """

    supports_out = True
    supports_columns = True
    points_axis = 0
    channels_axis = 1

    def __init__(self) -> None:
        self._cache: dict[tuple[torch.device, torch.dtype], tuple[Tensor, ...]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def _stored(self) -> Tensor:
        """The stored tensor whose axes ``points_axis`` and ``channels_axis`` run over the
        probe points and the channels."""
        raise NotImplementedError

    @property
    def n_points(self) -> int:
        return int(self._stored().shape[self.points_axis])

    @property
    def n_channels(self) -> int:
        return int(self._stored().shape[self.channels_axis])

    def _scratch(self, numel: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        """Flat scratch of at least ``numel`` elements. On the CPU (where it is small, a
        cache-sized block) one is kept per thread between calls, to avoid re-faulting
        pages every chunk; elsewhere a fresh one is allocated."""
        if torch.device(device).type != "cpu":
            return torch.empty(numel, device=device, dtype=dtype)
        buf = getattr(self._local, "scratch", None)
        if buf is None or buf.numel() < numel or buf.dtype != dtype:
            buf = self._local.scratch = torch.empty(numel, dtype=dtype)
        return buf

    def prepare(self, device: torch.device, dtype: torch.dtype) -> None:
        """Convert the parameters for ``device``/``dtype`` now (the engine calls this before
        its worker threads share the set)."""
        self._get(device, dtype)

    def _get(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        key = (torch.device(device), dtype)
        with self._lock:
            if key not in self._cache:
                self._cache.clear()  # keep at most one converted copy alive
                self._cache[key] = self._convert(torch.device(device), dtype)
            return self._cache[key]

    def _convert(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def coefficient_rows(
        self,
        rows: slice,
        device: torch.device,
        dtype: torch.dtype,
        out: Tensor | None = None,
        columns: slice = slice(None),
    ) -> Tensor:
        """``[B, M, N]`` coefficient rows ``C_a[i, :]`` for ``i`` in ``rows``, all channels,
        written into ``out`` when given (sets without ``supports_out`` override this); with
        ``columns`` only those points: ``[B, M, len(columns)]`` (``supports_columns``)."""
        device = torch.device(device)
        params = self._get(device, dtype)
        n, m = self.n_points, self.n_channels
        shape = (len(range(n)[rows]), m, len(range(n)[columns]))
        out = _check_out(out, shape, device, dtype)
        return flush_tiny(self._fill(out, rows, columns, *params))

    def _fill(self, out: Tensor, rows: slice, columns: slice, *params: Tensor) -> Tensor:
        """Write the rows ``rows`` (points ``columns``) into ``out [B, M, len(columns)]``
        from the converted parameters."""
        raise NotImplementedError


class _DiagonalGaussian(_Cached):
    """Channels given by diagonal Gaussian parameters ``mu``/``logvar`` of one shape
    (``ndim`` dimensions), with the probe points on axis ``points_axis`` and the channels on
    ``channels_axis``."""

    ndim = 2

    def __init__(self, mu: ArrayLike, logvar: ArrayLike) -> None:
        super().__init__()
        self.mu, self.logvar = _gaussian_params(mu, logvar, self.ndim)

    def _stored(self) -> Tensor:
        return self.mu

    def _moved(self, device: torch.device, dtype: torch.dtype, *axes: int) -> tuple[Tensor, Tensor]:
        """``mu`` and ``logvar`` on ``device`` in ``dtype``, axes permuted to ``axes``."""
        mu, lv = (t.to(device=device, dtype=dtype) for t in (self.mu, self.logvar))
        return mu.permute(*axes).contiguous(), lv.permute(*axes).contiguous()


class GaussianChannels(_DiagonalGaussian):
    """Each column of ``mu``/``logvar`` ``[N, M]`` is a 1-D Gaussian channel.

    ``C_a[i, j] = exp(−D_B)`` between N(mu[i, a], e^{logvar[i, a]}) and
    N(mu[j, a], e^{logvar[j, a]}); Murphy, Dillavou & Bassett (TMLR 2025), Sec. 3, in the
    product form sqrt(2 σ_i σ_j / (v_i + v_j)) exp(−Δμ² / (4 (v_i + v_j))). Variances are
    formed as exp(logvar): in float32 keep |logvar| below ~80 (else use float64).

    On the CPU a small scratch block (≤ 512 KiB in float32) is kept per calling thread
    between calls and reused.
    """

    coefficient_buffers = 2

    def _convert(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        mu, lv = self._moved(device, dtype, 1, 0)  # [M, N]
        q = lv.mul(0.25).exp_()  # v^(1/4)
        return mu, q, q.mul(math.sqrt(2.0)), lv.exp()

    def _fill(self, out: Tensor, rows: slice, columns: slice, *params: Tensor) -> Tensor:
        mu_r, q2_r, v_r = (t[:, rows].T[:, :, None] for t in (params[0], params[2], params[3]))
        mu, q, v = (t[:, columns] for t in (params[0], params[1], params[3]))  # [M, n]
        b, m, n = out.shape
        # On the CPU build the rows in channel blocks that stay in cache (the ~10
        # elementwise passes are memory-bound otherwise); on a GPU in one block.
        block = m if out.device.type != "cpu" else max(1, min(m, CPU_BLOCK_ELEMS // (b * n)))
        tmp = self._scratch(b * block * n, out.device, out.dtype)
        for a0 in range(0, m, block):
            a = slice(a0, min(a0 + block, m))
            w = a.stop - a.start
            coefficient_1d_into(
                out[:, a], tmp[: b * w * n].view(b, w, n), mu_r[:, a], q2_r[:, a], v_r[:, a],
                mu[None, a], q[None, a], v[None, a],
            )  # fmt: skip
        return out

    def __repr__(self) -> str:
        return f"GaussianChannels(n_points={self.n_points}, n_channels={self.n_channels})"


class ChannelGroups(_DiagonalGaussian):
    """Channels that are subsets of the dimensions of one diagonal Gaussian space.

    ``groups[g]`` lists the dimensions of ``mu [N, D]`` forming channel g; its distance is
    the sum of the 1-D distances over those dimensions (diagonal covariance, Sec. 3 of
    Murphy, Dillavou & Bassett, TMLR 2025). Groups may overlap and differ in size; a
    dimension listed twice in one group counts once.
    """

    supports_out = False

    def __init__(self, mu: ArrayLike, logvar: ArrayLike, groups: Sequence[Sequence[int]]) -> None:
        super().__init__(mu, logvar)
        dims = int(self.mu.shape[1])
        member = torch.zeros(len(groups), dims, dtype=torch.bool)
        for g, group in enumerate(groups):
            idx = [int(k) for k in group]
            if not idx:
                raise ValueError(f"group {g} is empty")
            if min(idx) < 0 or max(idx) >= dims:
                raise ValueError(f"group {g} = {idx} has dimensions outside 0..{dims - 1}")
            member[g, idx] = True
        if len(groups) == 0:
            raise ValueError("groups is empty")
        self.groups = [list(map(int, g)) for g in groups]
        used = torch.nonzero(member.any(0)).flatten()
        self._used = used
        # for each used dimension, the groups that contain it
        self._by_dim = [torch.nonzero(member[:, k]).flatten().tolist() for k in used.tolist()]

    @property
    def n_channels(self) -> int:
        return len(self.groups)

    @property
    def coefficient_buffers(self) -> int:  # type: ignore[override]
        # the [B, G, N] result plus two [B, N] scratch rows per dimension
        return 2 if self.n_channels >= 2 else 3

    def _convert(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        mu = self.mu[:, self._used].to(device=device, dtype=dtype).T.contiguous()  # [D', N]
        lv = self.logvar[:, self._used].to(device=device, dtype=dtype).T.contiguous()
        return mu, lv, lv.exp()

    def coefficient_rows(self, rows: slice, device: torch.device, dtype: torch.dtype) -> Tensor:
        mu, lv, v = self._get(device, dtype)
        b = mu[0, rows].shape[0]
        out = torch.zeros(b, self.n_channels, self.n_points, device=device, dtype=dtype)
        for k, groups in enumerate(self._by_dim):
            dk = distance_1d(
                mu[k, rows][:, None], lv[k, rows][:, None], v[k, rows][:, None],
                mu[k][None], lv[k][None], v[k][None],
            )  # fmt: skip
            for g in groups:  # add dimension k's distance to every group containing it
                out[:, g].add_(dk)
            del dk
        return flush_tiny(out.clamp_(max=exponent_cap(out.dtype)).neg_().exp_())

    def __repr__(self) -> str:
        return f"ChannelGroups(n_points={self.n_points}, groups={self.groups})"


class GaussianSpaces(_DiagonalGaussian):
    """Each of R channels is a whole d-dimensional diagonal Gaussian space.

    ``mu``/``logvar`` are ``[R, N, d]``; channel r's distance sums the 1-D distances over
    its d dimensions (Murphy, Dillavou & Bassett, TMLR 2025, Sec. 3 and Sec. 4.3's
    whole-space comparison, here with the exact Bhattacharyya estimate on the probe set).
    """

    coefficient_buffers = 3
    supports_out = False
    ndim, points_axis, channels_axis = 3, 1, 0

    def _convert(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        mu, lv = self._moved(device, dtype, 2, 0, 1)  # [d, R, N]
        return mu, lv, lv.exp()

    def coefficient_rows(self, rows: slice, device: torch.device, dtype: torch.dtype) -> Tensor:
        mu, lv, v = self._get(device, dtype)
        out: Tensor | None = None
        for k in range(mu.shape[0]):
            dk = distance_1d(
                mu[k][:, rows].T[:, :, None],
                lv[k][:, rows].T[:, :, None],
                v[k][:, rows].T[:, :, None],
                mu[k][None],
                lv[k][None],
                v[k][None],
            )
            out = dk if out is None else out.add_(dk)
            del dk
        assert out is not None
        return flush_tiny(out.clamp_(max=exponent_cap(out.dtype)).neg_().exp_())

    def __repr__(self) -> str:
        r, n, d = self.mu.shape
        return f"GaussianSpaces(n_channels={r}, n_points={n}, dims={d})"


class DiscreteChannels(_Cached):
    """Ground-truth factors as channels: ``labels [N, K]`` integer values, one column each.

    C_ij = 1 if points i and j have the same value of the factor, else 0
    (docs/architecture.md §5), so I(F) is the entropy (bits) of the factor's empirical
    distribution on the probe set and I(FF') = I(F) because C∘C = C.
    """

    coefficient_buffers = 2

    def __init__(self, labels: ArrayLike) -> None:
        super().__init__()
        t = torch.as_tensor(labels)
        if t.ndim == 1:
            t = t[:, None]
        if t.ndim != 2:
            raise ValueError(f"labels must have shape [N, K]; got {tuple(t.shape)}")
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            if t.is_floating_point() and bool((t == t.round()).all()):
                t = t.to(torch.int64)
            elif t.dtype == torch.bool:
                t = t.to(torch.int64)
            else:
                raise ValueError(f"labels must be integers; got dtype {t.dtype}")
        self.labels = t.to(torch.int64)

    def _stored(self) -> Tensor:
        return self.labels

    def _convert(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, ...]:
        return (self.labels.to(device).T.contiguous(),)  # [K, N]

    def _fill(self, out: Tensor, rows: slice, columns: slice, *params: Tensor) -> Tensor:
        (lab,) = params
        return torch.eq(lab[:, rows].T[:, :, None], lab[None, :, columns], out=out)

    def __repr__(self) -> str:
        return f"DiscreteChannels(n_points={self.n_points}, n_channels={self.n_channels})"


def as_channel_set(x: object) -> ChannelSet:
    """Validate that ``x`` is a channel set (duck-typed :class:`ChannelSet`)."""
    if not isinstance(x, ChannelSet):
        raise TypeError(
            f"expected a channel set (GaussianChannels, GaussianSpaces, ChannelGroups, "
            f"DiscreteChannels or any object with n_points, n_channels and "
            f"coefficient_rows); got {type(x).__name__}"
        )
    return x
