"""Conv, ConvTranspose, ConvWeightMap: the convolution family as linear operators.

Convolution (cross-correlation, as in deep learning) with stride s, padding p, dilation d:

    y[n, o, i] = sum_{c, r} w[o, c, r] x[n, c, s*i + d*r - p]          (1-D; 2-D likewise)

is linear in x (Conv, matrix A) and in w (ConvWeightMap). The transpose convolution *is* A^T:
ConvTranspose with the same weight array applies conv2d_dgrad, whose adjoint is conv2d_fwd again.
All three run on the registry's three kernels; 1-D runs as 2-D with H = 1.
"""
from __future__ import annotations

import numbers

import numpy

from .. import backends
from .base import LinearOperator, _fmt_shape, array_module
from .params import as_4d_shape, as_pair, spatial_ndim, user_value
from .shapes import (conv_output_shape, conv_transpose_output_padding,
                     conv_transpose_output_shape, same_padding)


def _kernel(name: str, x):
    device = "cpu" if array_module(x) is numpy else "cuda"
    return backends.get(name, device)


def _conv_geometry(x_shape, w_shape, stride, padding, dilation, groups, op):
    """Validate a conv and return (ndim, stride, padding, dilation, out_shape) with 2-D pairs.

    ``padding="same"`` keeps the spatial size (stride 1 and an odd effective kernel, like torch);
    ``"valid"`` means 0.
    """
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    ndim = spatial_ndim(x_shape, op)
    if len(w_shape) != len(x_shape):
        raise ValueError(f"{op}: weight shape {_fmt_shape(w_shape)} does not match input shape "
                         f"{_fmt_shape(x_shape)} (expected a {len(x_shape)}-D weight)")
    stride = as_pair(stride, ndim, "stride", op, 1)
    dilation = as_pair(dilation, ndim, "dilation", op, 1)
    if padding == "same":
        padding = same_padding(as_4d_shape(w_shape)[2:], dilation, op, stride=stride)
    elif padding == "valid":
        padding = (0, 0)
    else:
        padding = as_pair(padding, ndim, "padding", op, 0)
    out4 = conv_output_shape(as_4d_shape(x_shape), as_4d_shape(w_shape), stride, padding, dilation,
                             groups, op=op)
    out_shape = out4 if ndim == 2 else out4[:2] + out4[3:]
    return ndim, stride, padding, dilation, out_shape


class _ConvBase(LinearOperator):
    """Shared bookkeeping: 2-D parameter pairs, 4-D views of 1-D arrays, the repr."""

    def _as4d(self, a, shape):
        """View ``a`` (leading axis of any size) as 4-D, using ``shape`` for the other axes."""
        if a.dtype != self.dtype:  # the kernels multiply x and w in one dtype; say so up front
            raise ValueError(f"{self!r}: got a {a.dtype} array, the operator is {self.dtype}")
        return a.reshape((a.shape[0],) + as_4d_shape(shape)[1:])

    def _args(self):
        return self.stride, self.padding, self.dilation, self.groups

    def _repr_params(self):
        params = {"stride": user_value(self.stride, self.ndim),
                  "padding": user_value(self.padding, self.ndim)}
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            params["output_padding"] = user_value(self.output_padding, self.ndim)
        if self.dilation != (1, 1):
            params["dilation"] = user_value(self.dilation, self.ndim)
        if self.groups != 1:
            params["groups"] = self.groups
        return params


class Conv(_ConvBase):
    """y = A x = conv(x, w): x (N,C,L) -> (N,O,Lo) with w (O,C/g,K), or (N,C,H,W) -> (N,O,Ho,Wo)
    with w (O,C/g,k1,k2). ``padding`` is an int, a tuple, "same" or "valid".

    A^T y = conv_transpose(y, w) (kernel conv2d_dgrad); ``A.T`` is a ConvTranspose and
    ``A.T.T is A``.
    """

    per_sample = True

    def __init__(self, w, in_shape, stride=1, padding=0, dilation=1, groups=1):
        self.w, self.groups = w, groups
        self.ndim, self.stride, self.padding, self.dilation, out_shape = _conv_geometry(
            in_shape, w.shape, stride, padding, dilation, groups, "Conv")
        super().__init__(in_shape, out_shape, w.dtype, array_module(w))
        self._w4 = w.reshape(as_4d_shape(w.shape))

    def _apply(self, x):
        y = _kernel("conv2d_fwd", x)(self._as4d(x, self.in_shape), self._w4, *self._args())
        return y.reshape((x.shape[0],) + self.out_shape[1:])

    def _adjoint(self, y):
        x_shape = (y.shape[0],) + as_4d_shape(self.in_shape)[1:]
        x = _kernel("conv2d_dgrad", y)(self._as4d(y, self.out_shape), self._w4, x_shape,
                                       *self._args())
        return x.reshape((y.shape[0],) + self.in_shape[1:])

    def _make_transpose(self):
        # output_size = our input size picks the output_padding that undoes the stride's rounding.
        return ConvTranspose(self.w, self.out_shape, user_value(self.stride, self.ndim),
                             user_value(self.padding, self.ndim),
                             dilation=user_value(self.dilation, self.ndim), groups=self.groups,
                             output_size=self.in_shape[2:])


class ConvTranspose(_ConvBase):
    """y = conv_transpose(x, w): x (N,C_in,L) -> (N,C_out,Lo) with torch's layout w (C_in,C_out/g,K)
    (or 2-D), Lo = (L-1)*s - 2p + d*(K-1) + output_padding + 1.

    It is A^T for A = Conv(w) with the same array w: apply is conv2d_dgrad and its adjoint is
    conv2d_fwd. ``output_size`` (spatial sizes), when given, picks output_padding like torch and
    overrides ``output_padding``. ``A.T`` is the matching Conv.
    """

    per_sample = True

    def __init__(self, w, in_shape, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                 output_size=None):
        op = "ConvTranspose"
        in_shape = tuple(in_shape)
        self.w, self.groups = w, groups
        self.ndim = spatial_ndim(in_shape, op)
        if w.ndim != len(in_shape):
            raise ValueError(f"{op}: weight shape {_fmt_shape(w.shape)} does not match input "
                             f"shape {_fmt_shape(in_shape)}")
        self.stride = as_pair(stride, self.ndim, "stride", op, 1)
        self.padding = as_pair(padding, self.ndim, "padding", op, 0)
        self.dilation = as_pair(dilation, self.ndim, "dilation", op, 1)
        in4, w4 = as_4d_shape(in_shape), as_4d_shape(w.shape)
        if output_size is not None:
            out_hw = _output_hw(output_size, self.ndim)
            self.output_padding = conv_transpose_output_padding(in4, w4, out_hw, self.stride,
                                                                self.padding, self.dilation, op)
        else:
            self.output_padding = as_pair(output_padding, self.ndim, "output_padding", op, 0)
        if any(o >= s for o, s in zip(self.output_padding, self.stride)):
            # With output_padding >= stride the extra rows are beyond any window of the forward
            # conv, so the adjoint would be a Conv plus a crop; torch allows it when d > s.
            raise ValueError(f"{op}: output_padding {user_value(self.output_padding, self.ndim)} "
                             f"must be smaller than stride {user_value(self.stride, self.ndim)}")
        out4 = conv_transpose_output_shape(in4, w4, self.stride, self.padding, self.output_padding,
                                           self.dilation, groups, op=op)
        out_shape = out4 if self.ndim == 2 else out4[:2] + out4[3:]
        super().__init__(in_shape, out_shape, w.dtype, array_module(w))
        self._w4 = w.reshape(w4)

    def _apply(self, x):
        y_shape = (x.shape[0],) + as_4d_shape(self.out_shape)[1:]
        y = _kernel("conv2d_dgrad", x)(self._as4d(x, self.in_shape), self._w4, y_shape,
                                       *self._args())
        return y.reshape((x.shape[0],) + self.out_shape[1:])

    def _adjoint(self, y):
        x = _kernel("conv2d_fwd", y)(self._as4d(y, self.out_shape), self._w4, *self._args())
        return x.reshape((y.shape[0],) + self.in_shape[1:])

    def _make_transpose(self):
        return Conv(self.w, self.out_shape, user_value(self.stride, self.ndim),
                    user_value(self.padding, self.ndim), user_value(self.dilation, self.ndim),
                    self.groups)


def _output_hw(output_size, ndim: int) -> tuple[int, int]:
    """torch's ``output_size``: an int, the spatial sizes, or a full shape (N, C, ...spatial)."""
    if isinstance(output_size, numbers.Integral):
        sizes = (int(output_size),) * ndim
    else:
        sizes = tuple(int(s) for s in output_size)
        if len(sizes) == ndim + 2:
            sizes = sizes[2:]
        if len(sizes) != ndim:
            raise ValueError(f"ConvTranspose: output_size {output_size!r} needs {ndim} spatial "
                             f"sizes")
    return sizes if ndim == 2 else (1,) + sizes


class ConvWeightMap(_ConvBase):
    """w -> conv(x, w) for a fixed input x: w (O,C/g,K...) -> y (N,O,Lo...).

    Its adjoint dy -> conv2d_wgrad(x, dy) is the weight gradient of a conv layer.
    """

    def __init__(self, x, w_shape, stride=1, padding=0, dilation=1, groups=1):
        self.x, self.groups = x, groups
        self.ndim, self.stride, self.padding, self.dilation, out_shape = _conv_geometry(
            x.shape, w_shape, stride, padding, dilation, groups, "ConvWeightMap")
        super().__init__(w_shape, out_shape, x.dtype, array_module(x))
        self._x4 = x.reshape(as_4d_shape(x.shape))

    def _apply(self, w):
        y = _kernel("conv2d_fwd", w)(self._x4, self._as4d(w, self.in_shape), *self._args())
        return y.reshape(self.out_shape)

    def _adjoint(self, y):
        w = _kernel("conv2d_wgrad", y)(self._x4, self._as4d(y, self.out_shape),
                                       as_4d_shape(self.in_shape), *self._args())
        return w.reshape(self.in_shape)
