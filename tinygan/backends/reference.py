"""The reference backend: every registry kernel in the plainest NumPy, as the executable spec.

Select it with ``tinygan.set_backend("reference")`` or ``TINYGAN_BACKEND=reference``. Each
function opens with its index equation and then computes exactly that, once (an ``einsum`` over a
strided window view, or a one-line array expression): no scratch buffers, layouts or tiling, so
it is several times slower than the tuned ``numpy`` backend. Every other backend (``numpy``, ``cpp``, ``numba``, ``cuda``, ``triton``) is tested
against these functions on small shapes (tests/test_backends.py, tests/test_pointwise_kernels.py,
tests/test_gpu_kernels.py), and these against a direct loop and PyTorch (tests/test_conv_kernels.py).

Conventions (PyTorch's). ``x`` is ``(N, C, H, W)``, a conv weight ``w`` is ``(O, C/G, R, S)`` with
``G = groups``, ``y`` is ``(N, O, Ho, Wo)``; ``Cg = C/G``, ``Og = O/G``, and output channel
``g*Og + o`` reads input channels ``g*Cg + c``. ``stride = (sh, sw)``, ``padding = (ph, pw)``,
``dilation = (dh, dw)`` are pairs already validated by :mod:`tinygan.linops.params`.
``xpad`` is ``x`` with ``ph`` zero rows and ``pw`` zero columns on each side.
Outputs are new C-contiguous arrays in the inputs' dtype.

im2col (``sliding_windows``) is the one window view of the package: the numpy backend and the
linear operators of :mod:`tinygan.linops` (Im2col, AvgPool, max pooling) use it too, and its
adjoint ``fold_windows`` (col2im).
"""
from __future__ import annotations

import numpy as np

from ..devices import xp_of

__all__ = ["sliding_windows", "fold_windows", "conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad",
           "batchnorm_fwd", "batchnorm_bwd", "leaky_relu_fwd", "leaky_relu_bwd", "masked_scale",
           "bias_add", "channel_sum", "keep_mask", "adam_update", "matmul", "cdist_l1", "cdist_l1_vjp"]


# --- im2col and col2im --------------------------------------------------------------------------

def sliding_windows(x, kernel, stride, dilation, axes=(2, 3)):
    """windows[..., i, ..., j, ..., r, t] = x[..., s1*i + d1*r, ..., s2*j + d2*t, ...]

    im2col as a read-only strided view (no copy): the two spatial ``axes`` of ``x`` (already
    padded) become the window positions ``i < Ho``, ``j < Wo`` with ``Ho = (H - d1*(R-1) - 1) //
    s1 + 1``, and the taps ``r < R``, ``t < S`` (``kernel = (R, S)``) are appended as the last two
    axes. For NCHW: (N, C, H, W) -> (N, C, Ho, Wo, R, S)."""
    (s1, s2), (d1, d2) = stride, dilation
    span = (d1 * (kernel[0] - 1) + 1, d2 * (kernel[1] - 1) + 1)
    windows = xp_of(x).lib.stride_tricks.sliding_window_view(x, span, axis=tuple(axes))
    index = [slice(None)] * x.ndim + [slice(None, None, d1), slice(None, None, d2)]
    index[axes[0]], index[axes[1]] = slice(None, None, s1), slice(None, None, s2)
    return windows[tuple(index)]


def fold_windows(windows, out, stride, dilation, axes=(2, 3)):
    """out[..., s1*i + d1*r, ..., s2*j + d2*t, ...] += windows[..., i, ..., j, ..., r, t]

    col2im, the adjoint of :func:`sliding_windows`, added into ``out`` (the padded array) in place
    and returned. One strided-slice add per tap (r, t): within a tap the targets are distinct, so a
    plain ``+=`` is exact (no unbuffered ``add.at``); overlapping windows meet across taps."""
    (s1, s2), (d1, d2) = stride, dilation
    ho, wo = windows.shape[axes[0]], windows.shape[axes[1]]
    for r in range(windows.shape[-2]):
        for t in range(windows.shape[-1]):
            index = [slice(None)] * out.ndim
            index[axes[0]] = slice(d1 * r, d1 * r + s1 * (ho - 1) + 1, s1)
            index[axes[1]] = slice(d2 * t, d2 * t + s2 * (wo - 1) + 1, s2)
            out[tuple(index)] += windows[..., r, t]
    return out


def _pad(x, padding):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


# --- convolution: y = A(w) x and its two adjoints ---------------------------------------------

def conv2d_fwd(x, w, stride, padding, dilation, groups):
    """y[n, g*Og + o, i, j] = sum_{c, r, t} w[g*Og + o, c, r, t] * xpad[n, g*Cg + c, sh*i + dh*r, sw*j + dw*t]

    x (N, C, H, W), w (O, C/G, R, S) -> y (N, O, Ho, Wo), ``Ho = (H + 2ph - dh(R-1) - 1)//sh + 1``."""
    n, o = x.shape[0], w.shape[0]
    _, cg, r, s = w.shape
    cols = sliding_windows(_pad(x, padding), (r, s), stride, dilation)   # (N, C, Ho, Wo, R, S)
    ho, wo = cols.shape[2:4]
    y = np.einsum("ngcijrt,gocrt->ngoij", cols.reshape(n, groups, cg, ho, wo, r, s),
                  w.reshape(groups, o // groups, cg, r, s), optimize=True)
    return np.ascontiguousarray(y.reshape(n, o, ho, wo))


def conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups):
    """xpad[n, g*Cg + c, sh*i + dh*r, sw*j + dw*t] += w[g*Og + o, c, r, t] * dy[n, g*Og + o, i, j]

    The adjoint of ``x -> conv2d_fwd(x, w)`` (every multiply-add of the forward, reversed), then
    the padding cropped (the adjoint of zero-padding): dx of shape ``x_shape``. It is also
    conv_transpose2d's forward. ``dy`` may be spatially smaller than conv's natural output (a
    transpose conv with output_padding >= stride): its missing rows count as zero."""
    n, c, h, wd = x_shape
    o, cg, r, s = w.shape
    ho, wo = dy.shape[2:]
    (ph, pw) = padding
    cols = np.einsum("ngoij,gocrt->ngcijrt", dy.reshape(n, groups, o // groups, ho, wo),
                     w.reshape(groups, o // groups, cg, r, s), optimize=True)
    xpad = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dy.dtype)
    fold_windows(cols.reshape(n, c, ho, wo, r, s), xpad, stride, dilation)
    return xpad[:, :, ph:ph + h, pw:pw + wd].copy()


def conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups):
    """dw[g*Og + o, c, r, t] = sum_{n, i, j} dy[n, g*Og + o, i, j] * xpad[n, g*Cg + c, sh*i + dh*r, sw*j + dw*t]

    The adjoint of ``w -> conv2d_fwd(x, w)``: dw of shape ``w_shape``. (conv_transpose2d's weight
    gradient is this with x and dy swapped.)"""
    n = x.shape[0]
    o, cg, r, s = w_shape
    ho, wo = dy.shape[2:]
    cols = sliding_windows(_pad(x, padding), (r, s), stride, dilation)[:, :, :ho, :wo]
    dw = np.einsum("ngoij,ngcijrt->gocrt", dy.reshape(n, groups, o // groups, ho, wo),
                   cols.reshape(n, groups, cg, ho, wo, r, s), optimize=True)
    return np.ascontiguousarray(dw.reshape(w_shape))


# --- batch normalisation (per channel: axis 1) ------------------------------------------------

def _per_channel(x):
    """Reduction axes (every axis but 1) and the shape (1, C, 1, ...) a per-channel vector takes."""
    if x.ndim < 2:
        raise ValueError(f"batch norm: expected an input (N, C, ...), got shape {tuple(x.shape)}")
    return (0,) + tuple(range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """y[n, c, l] = (x[n, c, l] - mean[c]) * invstd[c] * weight[c] + bias[c] -> (y, mean, invstd)

    training: ``mean[c] = (1/m) sum_{n,l} x[n, c, l]``, ``var[c] = (1/m) sum (x - mean)^2`` over the
    m = x.size / C values of a channel, ``invstd = 1 / sqrt(var + eps)``, and the running statistics
    (when given) updated in place, PyTorch's way (the variance unbiased)::

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var m / (m - 1)

    eval: ``mean = running_mean`` (a copy), ``invstd = 1 / sqrt(running_var + eps)``, nothing
    updated. ``weight`` / ``bias`` None mean 1 / 0."""
    axes, shape = _per_channel(x)
    m = x.size // x.shape[1]
    if training:
        if m <= 1:
            raise ValueError(f"batch norm: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(x.shape)}")
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)
        invstd = 1 / np.sqrt(var + eps)
        if running_mean is not None:
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
        if running_var is not None:
            running_var[...] = (1 - momentum) * running_var + momentum * (var * (m / (m - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch norm: eval mode needs running_mean and running_var")
        mean = running_mean.copy()
        invstd = (1 / np.sqrt(running_var + eps)).astype(x.dtype)
    y = (x - mean.reshape(shape)) * invstd.reshape(shape)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return np.ascontiguousarray(y), mean, invstd


def batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training):
    """dx = invstd * weight * (dy - mean(dy) - xhat * mean(dy * xhat)) -> (dx, dweight, dbias)

    with ``xhat = (x - save_mean) * save_invstd`` and means over a channel's m values;
    ``dweight[c] = sum dy * xhat``, ``dbias[c] = sum dy``. In eval the statistics are constants:
    ``dx = invstd * weight * dy``. ``weight`` None means 1 (dweight is still returned)."""
    axes, shape = _per_channel(x)
    xhat = (x - save_mean.reshape(shape)) * save_invstd.reshape(shape)
    dbias = dy.sum(axis=axes)
    dweight = (dy * xhat).sum(axis=axes)
    scale = save_invstd if weight is None else save_invstd * weight
    if training:
        m = x.size // x.shape[1]
        dx = (dy - (dbias / m).reshape(shape) - xhat * (dweight / m).reshape(shape)) * scale.reshape(shape)
    else:
        dx = dy * scale.reshape(shape)
    return np.ascontiguousarray(dx), dweight, dbias


# --- pointwise kernels of a GAN step -----------------------------------------------------------

def leaky_relu_fwd(x, slope):
    """y[k] = x[k] if x[k] > 0 else slope * x[k]"""
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_bwd(x, g, slope):
    """dx[k] = g[k] * (1 if x[k] > 0 else slope)   (a diagonal map of g: its own adjoint)"""
    return g * np.where(x > 0, x.dtype.type(1), x.dtype.type(slope))


def masked_scale(x, keep, scale):
    """y[k] = x[k] * keep[k] * scale   (dropout, scale = 1/(1-p), and its own VJP)"""
    return x * (keep.astype(x.dtype) * x.dtype.type(scale))


def bias_add(x, b):
    """y[n, c, ...] = x[n, c, ...] + b[c]"""
    return x + b.reshape((1, -1) + (1,) * (x.ndim - 2))


def channel_sum(g):
    """gb[c] = sum_{n, ...} g[n, c, ...]   (bias_add's adjoint in b)"""
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


def keep_mask(state, inc, n, threshold):
    """keep[k] = word[k] >= threshold, k < n

    ``word`` is the stream of 32-bit halves (low half first) of NumPy's PCG64 64-bit outputs from
    the 128-bit LCG state ``state`` with increment ``inc``: each draw steps
    ``state = state * 0x2360ed051fc65da44385df649fccf645 + inc (mod 2^128)`` and outputs
    ``rotr64(hi ^ lo, hi >> 58)`` of the new state (O'Neill's XSL-RR)."""
    bits = np.random.PCG64()
    bits.state = {"bit_generator": "PCG64", "state": {"state": int(state), "inc": int(inc)},
                  "has_uint32": 0, "uinteger": 0}
    words = bits.random_raw((int(n) + 1) // 2).view(np.uint32)[:n]
    return words >= np.uint64(threshold)


def adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps):
    """m <- m + (1 - beta1)(g - m);  v <- beta2 v + (1 - beta2) g^2;  p <- p - step_size m / (sqrt(v) / bc2_sqrt + eps)

    In place. PyTorch's Adam (its ``lerp`` for m) with the bias corrections folded in by the caller:
    ``step_size = lr / (1 - beta1^t)``, ``bc2_sqrt = sqrt(1 - beta2^t)``."""
    m[...] = m + (1 - beta1) * (g - m)
    v[...] = beta2 * v + (1 - beta2) * (g * g)
    p[...] = p - step_size * (m / (np.sqrt(v) / bc2_sqrt + eps))


def matmul(a, b):
    """c[..., i, j] = sum_k a[..., i, k] * b[..., k, j]   (leading axes broadcast)"""
    return np.matmul(a, b)


# --- pairwise L1 distances (torch.cdist with p = 1; minibatch discrimination) ---------------------

def cdist_l1(x1, x2):
    """d[b, i, j] = sum_m |x1[b, i, m] - x2[b, j, m]|   x1 (B, P, M), x2 (B, R, M) -> (B, P, R)"""
    return np.abs(x1[:, :, None, :] - x2[:, None, :, :]).sum(-1)


def cdist_l1_vjp(x1, x2, g):
    """dx1[b, i, m] = sum_j g[b, i, j] s[b, i, j, m],  dx2[b, j, m] = -sum_i g[b, i, j] s[b, i, j, m]
    with s = sign(x1[b, i, m] - x2[b, j, m]) (0 where equal, as torch): cdist_l1's VJP for the
    cotangent g (B, P, R); returns (dx1, dx2)."""
    gs = g[:, :, :, None] * np.sign(x1[:, :, None, :] - x2[:, None, :, :])
    return gs.sum(2), -gs.sum(1)
