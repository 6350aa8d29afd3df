"""The numpy backend's pointwise kernels of a GAN step (LeakyReLU, dropout, a conv's bias, Adam),
written against ``xp`` so the GPU backends and the cpp backend's fallbacks reuse them. Same
contract as :mod:`tinygan.backends.reference` (the spec, tested against it).

Each of these is one or two memory passes, but written as NumPy expressions they take several
(``where(x > 0, x, slope * x)`` reads x three times and allocates twice), and in the DCGAN step
they added up to more time than the convolutions' gap to oneDNN. The accelerated backends do
each in one fused pass. Arrays are C-contiguous on the way out and keep the input dtype.

``leaky_relu_fwd(x, slope) -> y``
    ``y = x if x > 0 else slope * x``.
``leaky_relu_bwd(x, g, slope) -> dx``
    ``dx = g * (1 if x > 0 else slope)``: a diagonal linear map of ``g`` (its own adjoint), so
    the op that calls it differentiates again by calling it again.
``masked_scale(x, keep, scale) -> y``
    ``y = x * keep * scale`` with ``keep`` a bool array of x's shape: dropout's forward (``scale
    = 1 / (1 - p)``) and, being diagonal, also its VJP. (The mask itself is drawn by the op from
    its :class:`tinygan.Generator`, on the CPU, so every backend sees the same mask.)
``bias_add(x, b) -> y``
    ``y[n, c, ...] = x[n, c, ...] + b[c]``: x is ``(N, C, ...)``, b ``(C,)`` (a conv's bias).
``channel_sum(g) -> gb``
    ``gb[c] = sum over n, ... of g[n, c, ...]``: the bias gradient, bias_add's adjoint in b
    (float32 sums may be accumulated in a wider type: results agree to rounding, not bits).
``keep_mask(state, inc, n, threshold) -> keep``
    dropout's mask, a bool array of n entries: ``keep[i] = word[i] >= threshold`` where ``word``
    is the stream of 32-bit halves (low half first) of NumPy's PCG64 64-bit draws starting from
    the LCG state ``state`` with increment ``inc`` (Python ints, ``bit_generator.state``). The
    caller (:meth:`tinygan.Generator.keep_mask`) then advances its generator by ``(n + 1) // 2``
    draws, so every backend gives the same mask from the same seed.
``adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps)``
    in place, PyTorch's Adam with the bias corrections folded in by the caller::

        m <- m + (1 - beta1) (g - m)        v <- beta2 v + (1 - beta2) g^2
        p <- p - step_size * m / (sqrt(v) / bc2_sqrt + eps)

    (``step_size = lr / (1 - beta1^t)``, ``bc2_sqrt = sqrt(1 - beta2^t)``.)
"""
from __future__ import annotations

import numpy as np

from ..devices import xp_of as _xp

__all__ = ["leaky_relu_fwd", "leaky_relu_bwd", "masked_scale", "bias_add", "channel_sum", "keep_mask",
           "adam_update"]


def native(*arrays) -> bool:
    """NumPy float32 / float64 arrays of one dtype: what the compiled CPU backends take (they
    send anything else to these spec functions)."""
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(type(a) is np.ndarray and a.dtype == dt for a in arrays)


def leaky_relu_fwd(x, slope):
    xp = _xp(x)
    return xp.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_bwd(x, g, slope):
    xp = _xp(x)
    return g * xp.where(x > 0, x.dtype.type(1), x.dtype.type(slope))


def masked_scale(x, keep, scale):
    return x * (keep.astype(x.dtype) * x.dtype.type(scale))


def bias_add(x, b):
    return x + b.reshape((1, -1) + (1,) * (x.ndim - 2))


def channel_sum(g):
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


def keep_mask(state, inc, n, threshold):
    bits = np.random.PCG64()
    bits.state = {"bit_generator": "PCG64", "state": {"state": int(state), "inc": int(inc)},
                  "has_uint32": 0, "uinteger": 0}
    words = bits.random_raw((int(n) + 1) // 2).view(np.uint32)[:n]
    return words >= np.uint64(threshold)


def adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps):
    xp = _xp(p)
    m += (1 - beta1) * (g - m)                      # torch's lerp
    v *= beta2
    v += (1 - beta2) * (g * g)
    denom = xp.sqrt(v) / bc2_sqrt + eps
    p -= step_size * (m / denom)
