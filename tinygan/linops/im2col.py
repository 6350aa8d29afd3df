"""Im2col / Col2im: the sliding-window gather behind every convolution, and its adjoint.

Im2col copies each k1 x k2 window of x into a column, so conv(x) = W_matrix @ im2col(x). Its adjoint
Col2im adds every column back into the window it came from (overlaps accumulate), which is why
conv_transpose = col2im(W_matrix^T @ y). They match torch.nn.functional.unfold / fold. The window
view and its adjoint are the package's one im2col (:mod:`tinygan.backends.reference`: the
reference and numpy conv kernels and pooling use them too).
"""
from __future__ import annotations

import numpy

from ..backends.reference import fold_windows, sliding_windows
from .base import LinearOperator, _fmt_shape, array_module
from .shapes import conv_output_shape, pair


def _unfold(x, op):
    """x (N, C, H, W) -> (N, C*k1*k2, L): rows (c, r, t), columns the window positions (i, j)."""
    (ph, pw) = op.padding
    x = array_module(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_windows(x, op.kernel_size, op.stride, op.dilation)   # (N, C, Ho, Wo, k1, k2)
    rows = x.shape[1] * op.kernel_size[0] * op.kernel_size[1]      # explicit: N = 0 has no -1
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape((x.shape[0], rows, op.grid[0] * op.grid[1]))


def _fold(cols, op, image_shape):
    """Adjoint of ``_unfold``: add every column back onto its window of a zero image of
    ``image_shape`` (N read from ``cols``), overlaps summed, then crop the padding."""
    (ph, pw), (h, w) = op.padding, image_shape[2:]
    n, c = cols.shape[0], image_shape[1]
    windows = cols.reshape((n, c) + op.kernel_size + op.grid).transpose(0, 1, 4, 5, 2, 3)
    xp = array_module(cols)
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    fold_windows(windows, out, op.stride, op.dilation)
    return xp.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + w])


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
        return _unfold(x, self)

    def _adjoint(self, y):
        return _fold(y, self, self.in_shape)

    def _make_transpose(self):
        return Col2im(self.out_shape, self.in_shape[2:], self.kernel_size, self.stride,
                      self.padding, self.dilation, self.dtype)

    def _repr_params(self):
        return {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "dilation": self.dilation}


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
        return _fold(x, self, self.out_shape)

    def _adjoint(self, y):
        return _unfold(y, self)

    def _make_transpose(self):
        return Im2col(self.out_shape, self.kernel_size, self.stride, self.padding, self.dilation,
                      self.dtype)

    def _repr_params(self):
        return {"output_size": self.output_size, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "dilation": self.dilation}
