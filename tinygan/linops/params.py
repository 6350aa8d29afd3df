"""Hyper-parameter normalisation shared by the conv-family operators, and ``ConvGeometry``: the
one place a convolution's parameters are parsed (by the operators of :mod:`.conv` and by
``conv1d`` / ``conv2d`` / ``conv_transpose*`` in :mod:`tinygan.ops.conv`).

1-D operators run on the 2-D kernels with H = 1: (N,C,L) is viewed as (N,C,1,L), a kernel of size
K as (1,K), stride s as (1,s), padding p as (0,p). These helpers do that bookkeeping in one place.
"""
from __future__ import annotations

import numbers

from .base import _fmt_shape
from .shapes import (conv_output_shape, conv_transpose_output_padding, conv_transpose_output_shape,
                     pair, same_padding)


def spatial_ndim(in_shape, op: str) -> int:
    """1 for (N,C,L), 2 for (N,C,H,W); anything else is an error naming ``op``."""
    if len(in_shape) not in (3, 4):
        raise ValueError(f"{op}: expected an input shape (N,C,L) or (N,C,H,W), "
                         f"got {tuple(in_shape)}")
    return len(in_shape) - 2


def as_pair(value, ndim: int, name: str, op: str, fill: int) -> tuple[int, int]:
    """An int or an ``ndim``-tuple as the (H, W) pair of the 2-D kernels (``fill`` for H in 1-D)."""
    if ndim == 2:
        return pair(value, name, op)
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} for a 1-D operator must be an int or a 1-tuple, "
                             f"got {value!r}")
        value = value[0]
    return fill, pair(value, name, op)[1]


def as_4d_shape(shape) -> tuple[int, ...]:
    """(N,C,L) -> (N,C,1,L); a 4-D shape is returned as is."""
    shape = tuple(shape)
    return shape[:2] + (1,) + shape[2:] if len(shape) == 3 else shape


def user_value(value: tuple[int, int], ndim: int):
    """The inverse of ``as_pair`` for reprs: (1,s) -> s in 1-D, (a,b) stays a pair in 2-D."""
    return value[1] if ndim == 1 else value


# --- one convolution's geometry: the one place conv parameters are parsed ---------------------

class ConvGeometry:
    """The shapes and hyper-parameters of one convolution ``y = conv(x, w)``, validated once.

    ``x_shape`` (N, C, H, W) or (N, C, L), ``w_shape`` (O, C/groups, kH, kW) or (O, C/groups, K),
    ``y_shape`` (N, O, Ho, Wo) or (N, O, Lo): PyTorch's layouts, in the caller's dimensionality
    (``ndim`` = 1 or 2 spatial axes). ``stride``, ``padding``, ``dilation`` are the (H, W) pairs
    the 2-D kernels take (a 1-D conv runs as 2-D with H = 1: ``(1, s)``, ``(0, p)``, ``(1, d)``);
    ``x4``, ``w4``, ``y4`` are the 4-D shapes the kernels see.

    A transpose conv is described by the conv it is the adjoint of: its input is ``y``, its
    output ``x``, its weight is the same array; ``output_padding`` is the transpose's (for a conv:
    the one that maps y back onto x's size). An ``output_padding`` >= the stride (legal in PyTorch
    when < the dilation) makes ``y`` smaller than the conv's natural output: then ``y4`` is that
    output cropped, and :class:`~tinygan.linops.Conv` crops too.
    """

    __slots__ = ("op", "ndim", "x_shape", "w_shape", "y_shape", "x4", "w4", "y4", "stride",
                 "padding", "dilation", "groups", "output_padding")

    def __init__(self, op, ndim, x_shape, w_shape, y_shape, stride, padding, dilation, groups,
                 output_padding=(0, 0)):
        self.op, self.ndim, self.groups = op, ndim, groups
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.output_padding = output_padding
        self.x_shape, self.w_shape, self.y_shape = tuple(x_shape), tuple(w_shape), tuple(y_shape)
        self.x4, self.w4, self.y4 = (as_4d_shape(s) for s in (x_shape, w_shape, y_shape))

    @property
    def args(self) -> tuple:
        """(stride, padding, dilation, groups): the kernels' trailing arguments."""
        return self.stride, self.padding, self.dilation, self.groups

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.repr_params(True).items())
        return (f"ConvGeometry(x={_fmt_shape(self.x_shape)}, w={_fmt_shape(self.w_shape)}, "
                f"y={_fmt_shape(self.y_shape)}, {params})")

    def repr_params(self, transpose: bool = False) -> dict:
        """The non-default hyper-parameters, as the user would write them (for reprs);
        ``output_padding`` only for the ``transpose`` direction."""
        params = {"stride": user_value(self.stride, self.ndim),
                  "padding": user_value(self.padding, self.ndim)}
        if transpose and self.output_padding != (0, 0):
            params["output_padding"] = user_value(self.output_padding, self.ndim)
        if self.dilation != (1, 1):
            params["dilation"] = user_value(self.dilation, self.ndim)
        if self.groups != 1:
            params["groups"] = self.groups
        return params


def _dims(in_shape, w_shape, ndim, op):
    """The number of spatial axes: given (conv1d / conv2d: the shapes are checked later, with
    PyTorch's messages) or read from ``in_shape`` (the operators, which take either)."""
    if ndim is not None:
        return ndim
    ndim = spatial_ndim(in_shape, op)
    if len(w_shape) != len(in_shape):
        raise ValueError(f"{op}: weight shape {_fmt_shape(tuple(w_shape))} does not match input "
                         f"shape {_fmt_shape(tuple(in_shape))} (expected a {len(in_shape)}-D weight)")
    return ndim


def _four_d(shape, ndim):
    return as_4d_shape(shape) if ndim == 1 and len(shape) == 3 else tuple(shape)


def conv_geometry(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1, *, op="conv2d",
                  ndim=None) -> ConvGeometry:
    """Parse and check ``conv(x, w)``: ints or tuples, ``padding`` also "same" (stride 1, odd
    effective kernel, as PyTorch pads symmetrically) or "valid" (0). Every configuration PyTorch
    rejects raises a one-line ValueError naming ``op`` and the shapes (:mod:`.shapes`)."""
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    ndim = _dims(x_shape, w_shape, ndim, op)
    stride = as_pair(stride, ndim, "stride", op, 1)
    dilation = as_pair(dilation, ndim, "dilation", op, 1)
    x4, w4 = _four_d(x_shape, ndim), _four_d(w_shape, ndim)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":   # a malformed weight is reported by conv_output_shape below
            padding = same_padding(w4[2:], dilation, op, stride=stride) if len(w4) == 4 else (0, 0)
        else:
            raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', "
                             f"got {padding!r}")
    else:
        padding = as_pair(padding, ndim, "padding", op, 0)
    y4 = conv_output_shape(x4, w4, stride, padding, dilation, groups, op=op)
    y_shape = y4 if ndim == 2 else y4[:2] + y4[3:]
    # the output_padding of the transpose that maps y back onto x's size (< stride: the rows the
    # stride's rounding dropped)
    output_padding = tuple(x4[2 + a] - ((y4[2 + a] - 1) * stride[a] - 2 * padding[a]
                                        + dilation[a] * (w4[2 + a] - 1) + 1) for a in range(2))
    return ConvGeometry(op, ndim, x_shape, w_shape, y_shape, stride, padding, dilation, int(groups),
                        output_padding)


def conv_transpose_geometry(y_shape, w_shape, stride=1, padding=0, output_padding=0, dilation=1,
                            groups=1, *, output_size=None, op="conv_transpose2d",
                            ndim=None) -> ConvGeometry:
    """Parse and check ``conv_transpose(y, w)`` (``w`` in PyTorch's transpose layout, which is the
    layout of the conv it is the adjoint of): the geometry of that conv, whose ``x_shape`` is the
    transpose's output. ``output_size`` (an int, the spatial sizes, or a full shape), when given,
    picks ``output_padding`` as PyTorch does and overrides it."""
    y_shape, w_shape = tuple(y_shape), tuple(w_shape)
    ndim = _dims(y_shape, w_shape, ndim, op)
    stride = as_pair(stride, ndim, "stride", op, 1)
    padding = as_pair(padding, ndim, "padding", op, 0)
    dilation = as_pair(dilation, ndim, "dilation", op, 1)
    y4, w4 = _four_d(y_shape, ndim), _four_d(w_shape, ndim)
    if output_size is not None:
        output_padding = conv_transpose_output_padding(y4, w4, _output_hw(output_size, ndim, op),
                                                       stride, padding, dilation, op)
    else:
        output_padding = as_pair(output_padding, ndim, "output_padding", op, 0)
    x4 = conv_transpose_output_shape(y4, w4, stride, padding, output_padding, dilation, groups,
                                     op=op)
    x_shape = x4 if ndim == 2 else x4[:2] + x4[3:]
    return ConvGeometry(op, ndim, x_shape, w_shape, y_shape, stride, padding, dilation,
                        int(groups), output_padding)


def _output_hw(output_size, ndim: int, op: str) -> tuple[int, int]:
    """PyTorch's ``output_size``: an int, the spatial sizes, or a full shape (N, C, ...spatial)."""
    if isinstance(output_size, numbers.Integral):
        sizes = (int(output_size),) * ndim
    else:
        sizes = tuple(int(s) for s in output_size)
        if len(sizes) == ndim + 2:
            sizes = sizes[2:]
        if len(sizes) != ndim:
            raise ValueError(f"{op}: output_size {output_size!r} needs {ndim} spatial sizes")
    return sizes if ndim == 2 else (1,) + sizes
