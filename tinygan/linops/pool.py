"""AvgPool: the mean over each k1 x k2 window, a conv with a constant kernel per channel; and the
pooling output-size rule (PyTorch's ``pooling_output_shape``) shared with max pooling.
"""
from __future__ import annotations

import numpy

from .base import LinearOperator, array_module
from .im2col import fold_windows
from .params import as_4d_shape, as_pair, spatial_ndim, user_value


class PoolingError(ValueError, RuntimeError):
    """A pooling configuration PyTorch rejects: a ValueError (tinygan's convention for bad
    arguments) that is also the RuntimeError PyTorch raises."""


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape along one axis::

        out = floor_or_ceil((size + 2p - d(k-1) - 1) / s) + 1

    and with ceil_mode the last window must start inside the input or its left padding
    ((out-1) s < size + p), else it is dropped."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def pool_output_shape(in_shape4, kernel, stride, padding, dilation, ceil_mode, op: str):
    """(Ho, Wo) of a 2-D pooling of (N, C, H, W), with PyTorch's checks (PoolingError)."""
    if min(kernel) < 1:
        raise PoolingError(f"{op}: kernel size should be greater than zero, but got {kernel}")
    if min(stride) < 1:
        raise PoolingError(f"{op}: stride should be greater than zero, but got {stride}")
    if min(dilation) < 1:
        raise PoolingError(f"{op}: dilation should be greater than zero, but got {dilation}")
    if min(padding) < 0:
        raise PoolingError(f"{op}: pad must be non-negative, but got {padding}")
    for k, p, d in zip(kernel, padding, dilation):
        if ((k - 1) * d + 1) // 2 < p:
            raise PoolingError(f"{op}: pad should be at most half of effective kernel size, but "
                               f"got pad={p}, kernel_size={k} and dilation={d}")
    if any(k // 2 < p for k, p in zip(kernel, padding)):   # PyTorch checks both (dilation aside)
        raise PoolingError(f"{op}: pad should be smaller than or equal to half of kernel size, "
                           f"but got padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, "
                           f"kH = {kernel[0]}")
    out = tuple(pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                zip(in_shape4[2:], kernel, stride, padding, dilation))
    if min(out) < 1:
        c, (h, w) = in_shape4[1], in_shape4[2:]
        raise PoolingError(f"{op}: Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}). Output size is too small")
    return out


def _window_counts(size: int, kernel: int, stride: int, padding: int, out: int, include_pad):
    """Per window along one axis: its taps inside the input (or inside input + padding when
    ``include_pad``, PyTorch's pool_size, which ceil_mode's last window may overhang)."""
    start = stride * numpy.arange(out) - padding
    if include_pad:
        return numpy.minimum(start + kernel, size + padding) - start
    return numpy.minimum(start + kernel, size) - numpy.maximum(start, 0)


def window_sums(x4, kernel, stride, out_hw):
    """sums[n, c, i, j] = sum_{r < k1, t < k2} x4[n, c, s1 i + r, s2 j + t] for i < Ho, j < Wo:

        sliding_windows(x4, kernel, stride, (1, 1)).sum(axis=(4, 5))[:, :, :Ho, :Wo]

    computed as one strided-slice add per tap (r, t), the mirror of ``fold_windows`` (its
    adjoint): a reduction over the strided view's two short tap axes is far slower in NumPy
    (benchmarks/README.md, "Pooling"). ``x4`` (N, C, H, W) is already padded."""
    (k1, k2), (s1, s2), (ho, wo) = kernel, stride, out_hw
    taps = [x4[:, :, r:r + s1 * (ho - 1) + 1:s1, t:t + s2 * (wo - 1) + 1:s2]
            for r in range(k1) for t in range(k2)]
    sums = taps[0].copy()
    for tap in taps[1:]:
        sums += tap
    return sums


class AvgPool(LinearOperator):
    """Average pooling (N,C,H,W) -> (N,C,Ho,Wo) (or (N,C,L) -> (N,C,Lo)), as torch avg_pool2d.

    A x = window sums / divisor; the divisor is ``divisor_override`` if given, else the window's
    size clipped to input + padding (count_include_pad=True) or its number of unpadded taps.
    ``ceil_mode`` rounds the output size up (PyTorch's rule). A^T y spreads y / divisor evenly
    back over each window (overlaps add).
    """

    per_sample = True

    def __init__(self, in_shape, kernel_size, stride=None, padding=0, count_include_pad=True,
                 dtype=numpy.float64, ceil_mode=False, divisor_override=None):
        in_shape = tuple(in_shape)
        self.ndim = spatial_ndim(in_shape, "AvgPool")
        self.kernel_size = as_pair(kernel_size, self.ndim, "kernel_size", "AvgPool", 1)
        self.stride = (self.kernel_size if stride is None
                       else as_pair(stride, self.ndim, "stride", "AvgPool", 1))
        self.padding = as_pair(padding, self.ndim, "padding", "AvgPool", 0)
        self.count_include_pad, self.ceil_mode = bool(count_include_pad), bool(ceil_mode)
        if divisor_override is not None and int(divisor_override) == 0:
            raise PoolingError("AvgPool: divisor must be not zero")
        self.divisor_override = divisor_override
        shape4 = as_4d_shape(in_shape)
        out_hw = pool_output_shape(shape4, self.kernel_size, self.stride, self.padding, (1, 1),
                                   self.ceil_mode, "AvgPool")
        super().__init__(in_shape, in_shape[:2] + out_hw[2 - self.ndim:], dtype)
        self.out_hw = out_hw
        # ceil_mode's last window may reach past the padded input: pad that much more at the end.
        self.extra = tuple(max(0, (o - 1) * s + k - n - 2 * p) for o, s, k, n, p in
                           zip(out_hw, self.stride, self.kernel_size, shape4[2:], self.padding))
        if divisor_override is not None:
            self.divisor = numpy.asarray(float(divisor_override))
        else:
            counts = [_window_counts(n, k, s, p, o, self.count_include_pad) for n, k, s, p, o in
                      zip(shape4[2:], self.kernel_size, self.stride, self.padding, out_hw)]
            self.divisor = numpy.outer(*counts).astype(numpy.float64)

    def _apply(self, x):
        xp = array_module(x)
        x4 = x.reshape((x.shape[0],) + as_4d_shape(self.in_shape)[1:])
        (ph, pw), (eh, ew) = self.padding, self.extra
        x4 = xp.pad(x4, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)))
        sums = window_sums(x4, self.kernel_size, self.stride, self.out_hw)
        y = sums / xp.asarray(self.divisor, dtype=x.dtype)
        return y.reshape((x.shape[0],) + self.out_shape[1:])

    def _adjoint(self, y):
        xp = array_module(y)
        y4 = y.reshape((y.shape[0],) + as_4d_shape(self.out_shape)[1:])
        share = y4 / xp.asarray(self.divisor, dtype=y.dtype)
        windows = xp.broadcast_to(share[..., None, None], share.shape + self.kernel_size)
        (h, w), (ph, pw), (eh, ew) = as_4d_shape(self.in_shape)[2:], self.padding, self.extra
        x4 = xp.zeros(share.shape[:2] + (h + 2 * ph + eh, w + 2 * pw + ew), dtype=y.dtype)
        fold_windows(windows, x4, self.stride, (1, 1))
        x4 = xp.ascontiguousarray(x4[:, :, ph:ph + h, pw:pw + w])
        return x4.reshape((y.shape[0],) + self.in_shape[1:])

    def _repr_params(self):
        params = {name: user_value(getattr(self, name), self.ndim)
                  for name in ("kernel_size", "stride", "padding")}
        if not self.count_include_pad:
            params["count_include_pad"] = False
        if self.ceil_mode:
            params["ceil_mode"] = True
        if self.divisor_override is not None:
            params["divisor_override"] = self.divisor_override
        return params
