"""Numba batch-norm kernels (helpers of :mod:`tinygan.backends.numba_cpu`).

Same contract as :mod:`tinygan.backends.reference` (the spec). ``x`` is viewed as (N, C, L)
(L = 1 for BatchNorm1d's (N, C)). Per-channel sums are accumulated in float64 (also for float32
input), two passes (mean, then centred squares), one fused pass to write ``y`` / ``dx``.

Parallel over channels when L > 1 (each channel is N contiguous runs of L); for (N, C) input a
channel is a strided column, so the work is split over blocks of channels and each block walks
the rows with the channels innermost (contiguous, vectorised).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_OPTS = dict(parallel=True, fastmath=True, cache=True, boundscheck=False, nogil=True)
_CB = 256  # channels per block for (N, C) input


@njit(**_OPTS)
def _stats3(x, mean, var):
    """mean/var (biased) per channel of x (N, C, L), float64."""
    n, c, l = x.shape
    m = n * l
    for ch in prange(c):
        s = 0.0
        for nn in range(n):
            row = x[nn, ch]
            for k in range(l):
                s += row[k]
        mu = s / m
        s2 = 0.0
        for nn in range(n):
            row = x[nn, ch]
            for k in range(l):
                d = row[k] - mu
                s2 += d * d
        mean[ch] = mu
        var[ch] = s2 / m


@njit(**_OPTS)
def _stats2(x, mean, var):
    n, c = x.shape
    nb = (c + _CB - 1) // _CB
    for b in prange(nb):
        c0 = b * _CB
        c1 = min(c, c0 + _CB)
        acc = np.zeros(c1 - c0)
        for nn in range(n):
            row = x[nn, c0:c1]
            for k in range(c1 - c0):
                acc[k] += row[k]
        for k in range(c1 - c0):
            mean[c0 + k] = acc[k] / n
            acc[k] = 0.0
        mu = mean[c0:c1]
        for nn in range(n):
            row = x[nn, c0:c1]
            for k in range(c1 - c0):
                d = row[k] - mu[k]
                acc[k] += d * d
        for k in range(c1 - c0):
            var[c0 + k] = acc[k] / n


@njit(**_OPTS)
def _affine3(x, scale, shift, y):
    """y = x * scale[c] + shift[c] for x (N, C, L)."""
    n, c, l = x.shape
    for item in prange(n * c):
        nn = item // c
        ch = item - nn * c
        a = scale[ch]
        b = shift[ch]
        src = x[nn, ch]
        dst = y[nn, ch]
        for k in range(l):
            dst[k] = src[k] * a + b


@njit(**_OPTS)
def _affine2(x, scale, shift, y):
    n, c = x.shape
    for nn in prange(n):
        src = x[nn]
        dst = y[nn]
        for k in range(c):
            dst[k] = src[k] * scale[k] + shift[k]


@njit(**_OPTS)
def _bwd_sums3(dy, x, mean, invstd, sdy, sdyx):
    """sdy = sum(dy), sdyx = sum(dy * xhat) per channel (float64)."""
    n, c, l = x.shape
    for ch in prange(c):
        mu = mean[ch]
        s = 0.0
        s2 = 0.0
        for nn in range(n):
            g = dy[nn, ch]
            xr = x[nn, ch]
            for k in range(l):
                s += g[k]
                s2 += g[k] * (xr[k] - mu)
        sdy[ch] = s
        sdyx[ch] = s2 * invstd[ch]


@njit(**_OPTS)
def _bwd_sums2(dy, x, mean, invstd, sdy, sdyx):
    n, c = x.shape
    nb = (c + _CB - 1) // _CB
    for b in prange(nb):
        c0 = b * _CB
        c1 = min(c, c0 + _CB)
        a1 = np.zeros(c1 - c0)
        a2 = np.zeros(c1 - c0)
        mu = mean[c0:c1]
        for nn in range(n):
            g = dy[nn, c0:c1]
            xr = x[nn, c0:c1]
            for k in range(c1 - c0):
                a1[k] += g[k]
                a2[k] += g[k] * (xr[k] - mu[k])
        for k in range(c1 - c0):
            sdy[c0 + k] = a1[k]
            sdyx[c0 + k] = a2[k] * invstd[c0 + k]


@njit(**_OPTS)
def _bwd_dx3(dy, x, mean, ka, kb, kc, dx):
    """dx = ka[c] * dy + kb[c] * (x - mean[c]) + kc[c] for x (N, C, L)."""
    n, c, l = x.shape
    for item in prange(n * c):
        nn = item // c
        ch = item - nn * c
        a = ka[ch]
        b = kb[ch]
        cc = kc[ch] - b * mean[ch]
        g = dy[nn, ch]
        xr = x[nn, ch]
        dst = dx[nn, ch]
        for k in range(l):
            dst[k] = a * g[k] + b * xr[k] + cc


@njit(**_OPTS)
def _bwd_dx2(dy, x, mean, ka, kb, kc, dx):
    n, c = x.shape
    cc = kc - kb * mean
    for nn in prange(n):
        g = dy[nn]
        xr = x[nn]
        dst = dx[nn]
        for k in range(c):
            dst[k] = ka[k] * g[k] + kb[k] * xr[k] + cc[k]


def _view(a):
    if a.ndim < 2:
        raise ValueError(f"batch norm: expected an input (N, C, ...), got shape {tuple(a.shape)}")
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:  # a read-only array would be a new numba type: one more compile
        a = a.copy()
    if a.ndim == 2:
        return a
    return a.reshape(a.shape[0], a.shape[1], -1)


def batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps):
    xv = _view(x)
    c = x.shape[1]
    dt = x.dtype
    if training:
        m = x.size // c
        if m <= 1:
            raise ValueError(f"batch norm: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(x.shape)}")
        mean64, var64 = np.empty(c), np.empty(c)
        (_stats2 if xv.ndim == 2 else _stats3)(xv, mean64, var64)
        invstd64 = 1.0 / np.sqrt(var64 + eps)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += (momentum * mean64).astype(running_mean.dtype)
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += ((momentum * m / (m - 1)) * var64).astype(running_var.dtype)
        mean, invstd = mean64.astype(dt), invstd64.astype(dt)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch norm: eval mode needs running_mean and running_var")
        mean = running_mean.copy()
        invstd = (1.0 / np.sqrt(running_var + eps)).astype(dt, copy=False)
        mean64, invstd64 = mean.astype(np.float64), invstd.astype(np.float64)
    scale = invstd64 if weight is None else invstd64 * weight
    shift = -mean64 * scale
    if bias is not None:
        shift = shift + bias
    y = np.empty(x.shape, dt)
    yv = y.reshape(xv.shape)
    (_affine2 if xv.ndim == 2 else _affine3)(xv, scale.astype(dt), shift.astype(dt), yv)
    return y, mean, invstd


def batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training):
    xv, dyv = _view(x), _view(dy)
    c = x.shape[1]
    dt = x.dtype
    mean64 = save_mean.astype(np.float64)
    invstd64 = save_invstd.astype(np.float64)
    sdy, sdyx = np.empty(c), np.empty(c)
    (_bwd_sums2 if xv.ndim == 2 else _bwd_sums3)(dyv, xv, mean64, invstd64, sdy, sdyx)
    scale = invstd64 if weight is None else invstd64 * weight
    if training:
        m = x.size // c
        # dx = scale * (dy - sdy/m - xhat * sdyx/m), xhat = (x - mean) * invstd
        ka = scale
        kb = -scale * invstd64 * sdyx / m
        kc = -scale * sdy / m
    else:
        ka, kb, kc = scale, np.zeros(c), np.zeros(c)
    dx = np.empty(x.shape, dt)
    (_bwd_dx2 if xv.ndim == 2 else _bwd_dx3)(dyv, xv, mean64.astype(dt), ka.astype(dt),
                                              kb.astype(dt), kc.astype(dt), dx.reshape(xv.shape))
    return dx, sdyx.astype(dt), sdy.astype(dt)
