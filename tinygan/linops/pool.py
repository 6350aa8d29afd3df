"""AvgPool: the mean over each k1 x k2 window, a conv with a constant kernel per channel."""
from __future__ import annotations

import numpy

from .base import LinearOperator, array_module
from .im2col import fold_windows, sliding_windows
from .params import as_4d_shape, as_pair, spatial_ndim, user_value
from .shapes import conv_output_shape


def _window_counts(size: int, kernel: int, stride: int, padding: int, out: int):
    """How many taps of each window along one axis land inside the unpadded input."""
    taps = stride * numpy.arange(out)[:, None] + numpy.arange(kernel)[None, :] - padding
    return ((taps >= 0) & (taps < size)).sum(axis=1)


class AvgPool(LinearOperator):
    """Average pooling (N,C,H,W) -> (N,C,Ho,Wo) (or (N,C,L) -> (N,C,Lo)), as torch avg_pool2d.

    A x = window sums / divisor, divisor k1*k2 (count_include_pad=True) or the number of unpadded
    taps; A^T y spreads y / divisor evenly back over each window (overlaps add).
    """

    per_sample = True

    def __init__(self, in_shape, kernel_size, stride=None, padding=0, count_include_pad=True,
                 dtype=numpy.float64):
        in_shape = tuple(in_shape)
        self.ndim = spatial_ndim(in_shape, "AvgPool")
        self.kernel_size = as_pair(kernel_size, self.ndim, "kernel_size", "AvgPool", 1)
        self.stride = (self.kernel_size if stride is None
                       else as_pair(stride, self.ndim, "stride", "AvgPool", 1))
        self.padding = as_pair(padding, self.ndim, "padding", "AvgPool", 0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            # torch's rule: otherwise a window could lie entirely in the padding.
            raise ValueError(f"AvgPool: padding {self.padding} must be at most half of "
                             f"kernel_size {self.kernel_size}")
        self.count_include_pad = bool(count_include_pad)
        shape4 = as_4d_shape(in_shape)
        out4 = conv_output_shape(shape4, (1, shape4[1]) + self.kernel_size, self.stride,
                                 self.padding, (1, 1), 1, op="AvgPool")
        out_shape = in_shape[:2] + out4[2:][2 - self.ndim:]
        super().__init__(in_shape, out_shape, dtype)
        if self.count_include_pad:
            self.divisor = numpy.asarray(float(self.kernel_size[0] * self.kernel_size[1]))
        else:
            counts = [_window_counts(n, k, s, p, o) for n, k, s, p, o in
                      zip(shape4[2:], self.kernel_size, self.stride, self.padding, out4[2:])]
            self.divisor = numpy.outer(*counts).astype(numpy.float64)

    def _apply(self, x):
        xp = array_module(x)
        x4 = x.reshape((x.shape[0],) + as_4d_shape(self.in_shape)[1:])
        sums = sliding_windows(x4, self.kernel_size, self.stride, self.padding, (1, 1)).sum(
            axis=(2, 3))
        y = sums / xp.asarray(self.divisor, dtype=x.dtype)
        return y.reshape((x.shape[0],) + self.out_shape[1:])

    def _adjoint(self, y):
        xp = array_module(y)
        y4 = y.reshape((y.shape[0],) + as_4d_shape(self.out_shape)[1:])
        share = y4 / xp.asarray(self.divisor, dtype=y.dtype)
        windows = xp.broadcast_to(share[:, :, None, None], share.shape[:2] + self.kernel_size
                                  + share.shape[2:])
        x4 = fold_windows(windows, as_4d_shape(self.in_shape)[2:], self.kernel_size, self.stride,
                          self.padding, (1, 1))
        return x4.reshape((y.shape[0],) + self.in_shape[1:])

    def _repr_params(self):
        params = {name: user_value(getattr(self, name), self.ndim)
                  for name in ("kernel_size", "stride", "padding")}
        if not self.count_include_pad:
            params["count_include_pad"] = False
        return params
