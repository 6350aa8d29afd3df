"""Numba pointwise kernels (helpers of :mod:`tinygan.backends.numba_cpu`): LeakyReLU forward and
backward, dropout's masked scale, a conv's bias add and its gradient (per-channel sums, float64
accumulators) and the Adam update, each one parallel pass.

Same contract as :mod:`tinygan.backends.reference` (the spec). No ``fastmath`` here: the
results are meant to match the spec's to the bit (LeakyReLU, masked scale) or to rounding (Adam),
and ``fastmath`` would allow reassociation. Arrays the kernels cannot take (not float32 / float64,
mixed dtypes, or -- for Adam's in-place state -- not C-contiguous) go to the spec's NumPy code.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import _blas
from . import numpy as numpy_backend
from . import numpy_pointwise as spec

_OPTS = dict(parallel=True, cache=True, boundscheck=False, nogil=True)


@njit(**_OPTS)
def _leaky_fwd(x, y, slope):
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else v * slope


@njit(**_OPTS)
def _leaky_bwd(x, g, dx, slope):
    for i in prange(x.size):
        dx[i] = g[i] if x[i] > 0 else g[i] * slope


@njit(**_OPTS)
def _masked_scale(x, keep, y, scale):
    for i in prange(x.size):
        y[i] = x[i] * (keep[i] * scale)


@njit(**_OPTS)
def _bias_add(x, b, y):
    n, c, l = x.shape
    for nc in prange(n * c):
        i, ch = nc // c, nc % c
        bc = b[ch]
        for k in range(l):
            y[i, ch, k] = x[i, ch, k] + bc


@njit(**_OPTS)
def _channel_sum(g, out):
    n, c, l = g.shape
    for ch in prange(c):
        s = 0.0                      # float64 accumulator
        for i in range(n):
            for k in range(l):
                s += g[i, ch, k]
        out[ch] = s


@njit(**_OPTS)
def _adam(p, g, m, v, a1, b2, a2, step, bc2, eps):
    for i in prange(p.size):
        gi = g[i]
        mi = m[i] + a1 * (gi - m[i])
        vi = v[i] * b2 + a2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] -= step * (mi / (np.sqrt(vi) / bc2 + eps))


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


def leaky_relu_fwd(x, slope):
    if not spec.native(x):
        return spec.leaky_relu_fwd(x, slope)
    y = np.empty(x.shape, x.dtype)
    _leaky_fwd(_flat(x), y.reshape(-1), x.dtype.type(slope))
    return y


def leaky_relu_bwd(x, g, slope):
    if not (spec.native(x, g) and x.shape == g.shape):
        return spec.leaky_relu_bwd(x, g, slope)
    dx = np.empty(g.shape, g.dtype)
    _leaky_bwd(_flat(x), _flat(g), dx.reshape(-1), x.dtype.type(slope))
    return dx


def masked_scale(x, keep, scale):
    if not (spec.native(x) and type(keep) is np.ndarray and keep.dtype == np.bool_ and keep.shape == x.shape):
        return spec.masked_scale(x, keep, scale)
    y = np.empty(x.shape, x.dtype)
    _masked_scale(_flat(x), _flat(keep).view(np.uint8), y.reshape(-1), x.dtype.type(scale))
    return y


def _ncl(a):
    return np.ascontiguousarray(a).reshape(a.shape[0], a.shape[1], -1)


def bias_add(x, b):
    if not (spec.native(x, b) and x.ndim >= 2 and b.shape == (x.shape[1],) and x.size):
        return spec.bias_add(x, b)
    y = np.empty(x.shape, x.dtype)
    _bias_add(_ncl(x), np.ascontiguousarray(b), y.reshape(_ncl(x).shape))
    return y


def channel_sum(g):
    if not (spec.native(g) and g.ndim >= 2 and g.size):
        return spec.channel_sum(g)
    out = np.empty(g.shape[1], g.dtype)
    _channel_sum(_ncl(g), out)
    return out


def adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps):
    if not (spec.native(p, g, m, v) and all(a.flags.c_contiguous for a in (p, m, v))
            and p.shape == g.shape == m.shape == v.shape):
        return spec.adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps)
    t = p.dtype.type   # every constant rounded to the array's dtype first, as NumPy does
    _adam(p.reshape(-1), _flat(g), m.reshape(-1), v.reshape(-1), t(1 - beta1), t(beta2), t(1 - beta2),
          t(step_size), t(bc2_sqrt), t(eps))


def matmul(a, b):
    """The numpy backend's on one OpenBLAS thread (:mod:`._blas`: its spinning workers would slow Numba's)."""
    with _blas.one_thread():
        return numpy_backend.matmul(a, b)
