"""Conv, ConvTranspose, ConvWeightMap, ConvTransposeWeightMap: the convolution as linear operators.

Convolution (cross-correlation, as in deep learning) with stride s, padding p, dilation d:

    y[n, o, i] = sum_{c, r} w[o, c, r] x[n, c, s*i + d*r - p]          (1-D; 2-D likewise)

is bilinear: linear in x (the matrix A = Conv(w)) and linear in w (ConvWeightMap(x)). Backprop
through it needs the two adjoints, and nothing else:

    Conv(w).T          = ConvTranspose(w)   dy -> conv2d_dgrad(dy, w): the input gradient, and
                                            the transpose convolution itself
    ConvWeightMap(x).T                      dy -> conv2d_wgrad(x, dy): the weight gradient

and the transpose convolution is bilinear in (dy, w) too: ConvTransposeWeightMap(dy) is
w -> conv_transpose(dy, w), whose adjoint g -> conv2d_wgrad(g, dy) is its weight gradient.
The differentiable conv2d / conv_transpose2d (:mod:`tinygan.ops.conv`) are thin wrappers over
these four operators. All of them run on the registry's three kernels (the one place conv kernels
are looked up: ``_kernel``); 1-D runs as 2-D with H = 1. Parameters are parsed once, into a
:class:`~tinygan.linops.params.ConvGeometry`, which the operators of one convolution share.
"""
from __future__ import annotations

from .. import backends
from ..devices import device_of
from .base import LinearOperator, array_module
from .params import ConvGeometry, conv_geometry, conv_transpose_geometry

__all__ = ["Conv", "ConvTranspose", "ConvWeightMap", "ConvTransposeWeightMap", "ConvGeometry"]


def _kernel(name: str, array):
    """The registry's conv kernel ``name`` for the device ``array`` lives on."""
    return backends.get(name, device_of(array))


class _ConvOperator(LinearOperator):
    """Shared: the geometry, the fixed array (weight or input) and 4-D views of 1-D arrays.

    ``geometry`` describes the convolution, whichever of its operators this is; ``fixed`` is the
    argument held constant (w for Conv / ConvTranspose, x or dy for the weight maps)."""

    per_sample = False

    def __init__(self, fixed, geometry: ConvGeometry, in_shape, out_shape):
        self.geometry = geometry
        super().__init__(in_shape, out_shape, fixed.dtype, array_module(fixed))

    @classmethod
    def of(cls, fixed, geometry: ConvGeometry):
        """The operator for an already parsed ``geometry`` (no second validation)."""
        op = cls.__new__(cls)
        op._setup(fixed, geometry)
        return op

    def _as4d(self, a, shape4):
        """View ``a`` (leading axis of any size) as 4-D, with ``shape4``'s other axes."""
        if a.dtype != self.dtype:  # the kernels multiply x and w in one dtype; say so up front
            raise ValueError(f"{self!r}: got a {a.dtype} array, the operator is {self.dtype}")
        return a.reshape((a.shape[0],) + shape4[1:])

    def _conv(self, x4, w4, n):
        """conv2d_fwd, cropped to y4's rows when y is smaller than conv's natural output (a
        transpose conv with output_padding >= stride): the adjoint of dgrad then."""
        y = _kernel("conv2d_fwd", x4)(x4, w4, *self.geometry.args)
        ho, wo = self.geometry.y4[2:]
        if y.shape[2:] != (ho, wo):
            y = y[:, :, :ho, :wo].copy()
        return y.reshape((n,) + self.geometry.y_shape[1:])

    transposed = False   # applies conv2d_dgrad (a transpose conv): its repr shows output_padding

    def _repr_params(self):
        return self.geometry.repr_params(self.transposed)

    # the geometry's (H, W) pairs, under the names of the hyper-parameters
    ndim = property(lambda self: self.geometry.ndim)
    stride = property(lambda self: self.geometry.stride)
    padding = property(lambda self: self.geometry.padding)
    dilation = property(lambda self: self.geometry.dilation)
    output_padding = property(lambda self: self.geometry.output_padding)


class Conv(_ConvOperator):
    """y = A x = conv(x, w): x (N,C,L) -> (N,O,Lo) with w (O,C/g,K), or (N,C,H,W) -> (N,O,Ho,Wo)
    with w (O,C/g,k1,k2). ``padding`` is an int, a tuple, "same" or "valid".

    A^T y = conv_transpose(y, w) (kernel conv2d_dgrad); ``A.T`` is a ConvTranspose and
    ``A.T.T is A``.
    """

    per_sample = True

    def __init__(self, w, in_shape, stride=1, padding=0, dilation=1, groups=1):
        self._setup(w, conv_geometry(in_shape, w.shape, stride, padding, dilation, groups,
                                     op="Conv"))

    def _setup(self, w, geometry):
        self.w, self.groups = w, geometry.groups
        _ConvOperator.__init__(self, w, geometry, geometry.x_shape, geometry.y_shape)
        self._w4 = w.reshape(geometry.w4)

    def _apply(self, x):
        return self._conv(self._as4d(x, self.geometry.x4), self._w4, x.shape[0])

    def _adjoint(self, y):
        g = self.geometry
        x = _kernel("conv2d_dgrad", y)(self._as4d(y, g.y4), self._w4, (y.shape[0],) + g.x4[1:],
                                       *g.args)
        return x.reshape((y.shape[0],) + g.x_shape[1:])

    def _make_transpose(self):
        return ConvTranspose.of(self.w, self.geometry)


class ConvTranspose(_ConvOperator):
    """y = conv_transpose(x, w): x (N,C_in,L) -> (N,C_out,Lo) with torch's layout w (C_in,C_out/g,K)
    (or 2-D), Lo = (L-1)*s - 2p + d*(K-1) + output_padding + 1.

    It is A^T for A = Conv(w) with the same array w: apply is conv2d_dgrad and its adjoint is
    conv2d_fwd. ``output_size`` (spatial sizes), when given, picks output_padding like torch and
    overrides ``output_padding``. ``A.T`` is the matching Conv.
    """

    per_sample = True
    transposed = True

    def __init__(self, w, in_shape, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                 output_size=None):
        self._setup(w, conv_transpose_geometry(in_shape, w.shape, stride, padding, output_padding,
                                               dilation, groups, output_size=output_size,
                                               op="ConvTranspose"))

    def _setup(self, w, geometry):
        self.w, self.groups = w, geometry.groups
        _ConvOperator.__init__(self, w, geometry, geometry.y_shape, geometry.x_shape)
        self._w4 = w.reshape(geometry.w4)

    def _apply(self, x):
        g = self.geometry
        y = _kernel("conv2d_dgrad", x)(self._as4d(x, g.y4), self._w4, (x.shape[0],) + g.x4[1:],
                                       *g.args)
        return y.reshape((x.shape[0],) + g.x_shape[1:])

    def _adjoint(self, y):
        return self._conv(self._as4d(y, self.geometry.x4), self._w4, y.shape[0])

    def _make_transpose(self):
        return Conv.of(self.w, self.geometry)


class ConvWeightMap(_ConvOperator):
    """w -> conv(x, w) for a fixed input x: w (O,C/g,K...) -> y (N,O,Lo...).

    Its adjoint dy -> conv2d_wgrad(x, dy) is the weight gradient of a conv layer.
    """

    def __init__(self, x, w_shape, stride=1, padding=0, dilation=1, groups=1):
        self._setup(x, conv_geometry(x.shape, w_shape, stride, padding, dilation, groups,
                                     op="ConvWeightMap"))

    def _setup(self, x, geometry):
        self.x, self.groups = x, geometry.groups
        _ConvOperator.__init__(self, x, geometry, geometry.w_shape, geometry.y_shape)
        self._x4 = x.reshape(geometry.x4)

    def _apply(self, w):
        return self._conv(self._x4, self._as4d(w, self.geometry.w4), self._x4.shape[0])

    def _adjoint(self, y):
        g = self.geometry
        w = _kernel("conv2d_wgrad", y)(self._x4, self._as4d(y, g.y4), g.w4, *g.args)
        return w.reshape(g.w_shape)


class ConvTransposeWeightMap(_ConvOperator):
    """w -> conv_transpose(y, w) for a fixed input y (torch's transpose layout w (C_in,C_out/g,K...),
    the other arguments as :class:`ConvTranspose`): w -> x (N,C_out,Lo...).

    Its adjoint g -> conv2d_wgrad(g, y) is the weight gradient of a transpose-conv layer (by
    <conv_transpose(y, w), g> = <y, conv(g, w)> = <w, conv2d_wgrad(g, y)>).
    """

    transposed = True

    def __init__(self, y, w_shape, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                 output_size=None):
        self._setup(y, conv_transpose_geometry(y.shape, w_shape, stride, padding, output_padding,
                                               dilation, groups, output_size=output_size,
                                               op="ConvTransposeWeightMap"))

    def _setup(self, y, geometry):
        self.y, self.groups = y, geometry.groups
        _ConvOperator.__init__(self, y, geometry, geometry.w_shape, geometry.x_shape)
        self._y4 = y.reshape(geometry.y4)

    def _apply(self, w):
        g = self.geometry
        x = _kernel("conv2d_dgrad", w)(self._y4, self._as4d(w, g.w4), g.x4, *g.args)
        return x.reshape(g.x_shape)

    def _adjoint(self, x):
        g = self.geometry
        w = _kernel("conv2d_wgrad", x)(self._as4d(x, g.x4), self._y4, g.w4, *g.args)
        return w.reshape(g.w_shape)
