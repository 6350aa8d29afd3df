"""Im2col / Col2im: the sliding-window gather behind every convolution, and its adjoint.

Im2col copies each k1 x k2 window of x into a column, so conv(x) = W_matrix @ im2col(x). Its adjoint
Col2im adds every column back into the window it came from (overlaps accumulate), which is why
conv_transpose = col2im(W_matrix^T @ y). They match torch.nn.functional.unfold / fold.
"""
from __future__ import annotations

import numpy

from .base import LinearOperator, _fmt_shape, array_module
from .shapes import conv_output_shape, pair


def sliding_windows(x, kernel, stride, padding, dilation):
    """Read-only strided view (N, C, kH, kW, Ho, Wo) of zero-padded x (N, C, H, W):

        windows[n, c, r, t, i, j] = x_pad[n, c, s1*i + d1*r, s2*j + d2*t]
    """
    xp = array_module(x)
    if padding != (0, 0):
        x = xp.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    windows = xp.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))
    # (N, C, positions_h, positions_w, span_h, span_w): keep every s-th position, every d-th tap.
    windows = windows[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return windows.transpose(0, 1, 4, 5, 2, 3)


def fold_windows(windows, x_hw, kernel, stride, padding, dilation):
    """Adjoint of ``sliding_windows``: (N, C, kH, kW, Ho, Wo) -> (N, C, H, W), overlaps summed.

    One strided-slice add per kernel tap (r, t); each add touches distinct entries, so no
    unbuffered scatter-add (ufunc.at) is needed.
    """
    xp = array_module(windows)
    n, c, kh, kw, ho, wo = windows.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    out = xp.zeros((n, c, x_hw[0] + 2 * ph, x_hw[1] + 2 * pw), dtype=windows.dtype)
    for r in range(kh):
        for t in range(kw):
            out[:, :, dh * r: dh * r + sh * (ho - 1) + 1: sh,
                dw * t: dw * t + sw * (wo - 1) + 1: sw] += windows[:, :, r, t]
    return xp.ascontiguousarray(out[:, :, ph: ph + x_hw[0], pw: pw + x_hw[1]])


def _window_params(kernel_size, stride, padding, dilation, op):
    return (pair(kernel_size, "kernel_size", op), pair(stride, "stride", op),
            pair(padding, "padding", op), pair(dilation, "dilation", op))


class Im2col(LinearOperator):
    """(N, C, H, W) -> (N, C*k1*k2, L), L = Ho*Wo windows, as torch.nn.functional.unfold.

    Row c*k1*k2 + r*k2 + t of column i*Wo + j is x_pad[c, s*i + d*r, s*j + d*t]. A^T is Col2im.
    """

    per_sample = True

    def __init__(self, in_shape, kernel_size, stride=1, padding=0, dilation=1,
                 dtype=numpy.float64):
        in_shape = tuple(in_shape)
        if len(in_shape) != 4:
            raise ValueError(f"Im2col: expected an input shape (N,C,H,W), "
                             f"got {_fmt_shape(in_shape)}")
        self.kernel_size, self.stride, self.padding, self.dilation = _window_params(
            kernel_size, stride, padding, dilation, "Im2col")
        n, c = in_shape[:2]
        _, _, ho, wo = conv_output_shape(in_shape, (1, c) + self.kernel_size, self.stride,
                                         self.padding, self.dilation, 1, op="Im2col")
        self.grid = (ho, wo)  # window positions along H and W
        super().__init__(in_shape, (n, c * self.kernel_size[0] * self.kernel_size[1], ho * wo),
                         dtype)

    def _apply(self, x):
        windows = sliding_windows(x, self.kernel_size, self.stride, self.padding, self.dilation)
        return windows.reshape((x.shape[0],) + self.out_shape[1:])

    def _adjoint(self, y):
        return _col2im(self, y, self.in_shape)

    def _make_transpose(self):
        return Col2im(self.out_shape, self.in_shape[2:], self.kernel_size, self.stride,
                      self.padding, self.dilation, self.dtype)

    def _repr_params(self):
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation}


def _col2im(op, cols, image_shape):
    """Fold columns (N, C*k1*k2, L) into images of ``image_shape`` (N is read from ``cols``)."""
    windows = cols.reshape((cols.shape[0], image_shape[1]) + op.kernel_size + op.grid)
    return fold_windows(windows, image_shape[2:], op.kernel_size, op.stride, op.padding,
                        op.dilation)


class Col2im(LinearOperator):
    """(N, C*k1*k2, L) -> (N, C, H, W), summing overlapping windows, as torch.nn.functional.fold.

    A^T is Im2col (the same windows, gathered instead of scattered).
    """

    per_sample = True

    def __init__(self, in_shape, output_size, kernel_size, stride=1, padding=0, dilation=1,
                 dtype=numpy.float64):
        in_shape = tuple(in_shape)
        self.kernel_size, self.stride, self.padding, self.dilation = _window_params(
            kernel_size, stride, padding, dilation, "Col2im")
        self.output_size = pair(output_size, "output_size", "Col2im")
        taps = self.kernel_size[0] * self.kernel_size[1]
        if len(in_shape) != 3 or in_shape[1] % taps:
            raise ValueError(f"Col2im: expected an input shape (N, C*{taps}, L), "
                             f"got {_fmt_shape(in_shape)}")
        out_shape = (in_shape[0], in_shape[1] // taps) + self.output_size
        _, _, ho, wo = conv_output_shape(out_shape, (1, out_shape[1]) + self.kernel_size,
                                         self.stride, self.padding, self.dilation, 1, op="Col2im")
        self.grid = (ho, wo)
        if ho * wo != in_shape[2]:
            raise ValueError(f"Col2im: input shape {_fmt_shape(in_shape)} has L={in_shape[2]} "
                             f"windows, but output_size {self.output_size} gives {ho}*{wo}")
        super().__init__(in_shape, out_shape, dtype)

    def _apply(self, x):
        return _col2im(self, x, self.out_shape)

    def _adjoint(self, y):
        windows = sliding_windows(y, self.kernel_size, self.stride, self.padding, self.dilation)
        return windows.reshape((y.shape[0],) + self.in_shape[1:])

    def _make_transpose(self):
        return Im2col(self.out_shape, self.kernel_size, self.stride, self.padding, self.dilation,
                      self.dtype)

    def _repr_params(self):
        return {"output_size": self.output_size, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "dilation": self.dilation}
