"""conv1d / conv2d / conv_transpose1d / conv_transpose2d: thin differentiable wrappers over the
convolution's linear operators (:mod:`tinygan.linops.conv`).

y = conv(x, w) is bilinear (Ryu's lecture: "the convolutions in deep learning are linear
operators"): linear in x, y = A(w) x with A(w) = Conv(w), and linear in w, y = B(x) w with
B(x) = ConvWeightMap(x). The VJP of a linear map is its adjoint, so

    grad_x = A(w)^T g = ConvTranspose(w) g      -- this *is* a transposed conv (conv2d_dgrad)
    grad_w = B(x)^T g                           -- conv2d_wgrad(x, g)

Both adjoints are bilinear again (in (g, w) and in (x, g)), so each is a Function too, and the
three close under transposition (derivation: move the perturbed argument to one side of <., .>):

    ConvForward(x, w)  = Conv(w) x              VJP: ConvDgrad(g, w),   ConvWgrad(x, g)
    ConvDgrad(dy, w)   = Conv(w)^T dy           VJP: ConvForward(g, w), ConvWgrad(g, dy)
    ConvWgrad(x, dy)   = ConvWeightMap(x)^T dy  VJP: ConvDgrad(dy, g),  ConvForward(x, g)

Every VJP is differentiable in both of its arguments, so grad of grad through a conv, in x and
in w (WGAN-GP's gradient penalty), needs nothing more. ConvDgrad is conv_transpose2d's forward.
Parameters are parsed once per call into a ``ConvGeometry`` (linops/params.py), which the three
Functions pass on; the kernels are looked up by the operators.
"""
from __future__ import annotations

from .. import backends
from ..autograd import Function
from ..devices import device_of
from ..linops.conv import Conv, ConvTranspose, ConvWeightMap
from ..linops.params import conv_geometry, conv_transpose_geometry
from ..tensor import Tensor


class ConvForward(Function):
    """y = Conv(w) x: conv2d (and conv1d, and conv_transpose2d's input gradient)."""
    name = "conv2d"
    vjp_rules = ("Conv(w).T(g) = conv_transpose2d(g, w)", "ConvWeightMap(x).T(g) = conv2d_wgrad(x, g)")

    @staticmethod
    def forward(ctx, x, w, geometry):
        return Conv.of(w, geometry).apply(x)

    @staticmethod
    def vjp(ctx, g):
        x, w, geometry = ctx.inputs
        nx, nw = ctx.needs_input_grad[:2]
        return (ConvDgrad.apply(g, w, geometry) if nx else None,    # Conv(w)^T g
                ConvWgrad.apply(x, g, geometry) if nw else None,    # ConvWeightMap(x)^T g
                None)


class ConvDgrad(Function):
    """dx = Conv(w)^T dy = ConvTranspose(w) dy: conv's input gradient, conv_transpose2d's forward."""
    name = "conv_transpose2d"
    vjp_rules = ("Conv(w)(g) = conv2d(g, w)", "ConvTransposeWeightMap(dy).T(g) = conv2d_wgrad(g, dy)")

    @staticmethod
    def forward(ctx, dy, w, geometry):
        return ConvTranspose.of(w, geometry).apply(dy)

    @staticmethod
    def vjp(ctx, g):
        dy, w, geometry = ctx.inputs
        ndy, nw = ctx.needs_input_grad[:2]
        return (ConvForward.apply(g, w, geometry) if ndy else None,  # (Conv(w)^T)^T g
                ConvWgrad.apply(g, dy, geometry) if nw else None,   # <A(w)^T dy, g> = <w, wgrad(g, dy)>
                None)


class ConvWgrad(Function):
    """dw = ConvWeightMap(x)^T dy: conv's weight gradient."""
    name = "conv2d_wgrad"
    vjp_rules = ("conv_transpose2d(dy, g)", "conv2d(x, g)")

    @staticmethod
    def forward(ctx, x, dy, geometry):
        return ConvWeightMap.of(x, geometry).adjoint(dy)

    @staticmethod
    def vjp(ctx, g):
        x, dy, geometry = ctx.inputs
        nx, ndy = ctx.needs_input_grad[:2]
        return (ConvDgrad.apply(dy, g, geometry) if nx else None,   # <B(x)^T dy, g> = <x, A(g)^T dy>
                ConvForward.apply(x, g, geometry) if ndy else None,  # (B(x)^T)^T g
                None)


def _kernel(name, array):
    return backends.get(name, device_of(array))


class BiasAdd(Function):
    """y = x + b per channel (axis 1); kernel ``bias_add``, one pass. VJP: (g, channel_sum(g))."""
    name = "bias_add"

    @staticmethod
    def forward(ctx, x, b):
        return _kernel("bias_add", x)(x, b)

    @staticmethod
    def vjp(ctx, g):
        nx, nb = ctx.needs_input_grad
        return g if nx else None, ChannelSum.apply(g) if nb else None


class ChannelSum(Function):
    """gb[c] = sum of g over every axis but 1 (kernel ``channel_sum``): the adjoint of
    broadcasting a bias, so its VJP broadcasts the cotangent back (a bias add onto zeros)."""
    name = "channel_sum"

    @staticmethod
    def forward(ctx, g):
        return _kernel("channel_sum", g)(g)

    @staticmethod
    def vjp(ctx, gg):
        g = ctx.inputs[0]
        return (BiasAdd.apply(Tensor._make(g.xp.zeros(g.shape, g.dtype), None), gg),)


def _add_bias(y, bias, op):
    if bias is None:
        return y
    if bias.shape != (y.shape[1],):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match {y.shape[1]} output channels")
    return BiasAdd.apply(y, bias)


_TORCH_TYPE = {"f": {4: "Float", 8: "Double", 2: "Half"}, "i": {1: "Char", 2: "Short", 4: "Int", 8: "Long"},
               "u": {1: "Byte"}, "b": {1: "Bool"}}


def _check_dtypes(input, weight, op):
    """PyTorch's check: input and weight of one dtype (torch: "expected scalar type Float but
    found Long"); tinygan's kernels are floating point only, so integer pairs are refused too."""
    def name(t):
        return _TORCH_TYPE.get(t.dtype.kind, {}).get(t.dtype.itemsize, str(t.dtype))
    shapes_ = f"input {tuple(input.shape)} {input.dtype}, weight {tuple(weight.shape)} {weight.dtype}"
    if input.dtype.kind == weight.dtype.kind == "f":
        return                  # two floats: Function.apply checks they are the same one
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{op}: expected scalar type {name(input)} but found {name(weight)} "
                           f"({shapes_}); cast one with .to(dtype)")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: integer and bool tensors are not supported ({shapes_}); "
                           "convert both to float")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation), PyTorch's signature and output size.

    input (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) ->
    (N, C_out, (H + 2p - d(k-1) - 1)//s + 1, ...). padding: int, pair, "same" or "valid"."""
    _check_dtypes(input, weight, "conv2d")
    geometry = conv_geometry(input.shape, weight.shape, stride, padding, dilation, groups,
                             op="conv2d", ndim=2)
    return _add_bias(ConvForward.apply(input, weight, geometry), bias, "conv2d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transpose convolution: the adjoint A(w)^T of conv2d with the same weight.

    input (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW), bias (C_out,) ->
    (N, C_out, (H-1)s - 2p + d(k-1) + output_padding + 1, ...)."""
    _check_dtypes(input, weight, "conv_transpose2d")
    geometry = conv_transpose_geometry(input.shape, weight.shape, stride, padding, output_padding,
                                       dilation, groups, op="conv_transpose2d", ndim=2)
    return _add_bias(ConvDgrad.apply(input, weight, geometry), bias, "conv_transpose2d")


def _check_1d(input, weight, op):
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"{op}: expected input (N, C, L) and a 3-D weight, got {input.shape} and {weight.shape}")
    _check_dtypes(input, weight, op)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution: input (N, C_in, L), weight (C_out, C_in/groups, K) -> (N, C_out, L_out)
    (run as conv2d with H = 1)."""
    _check_1d(input, weight, "conv1d")
    geometry = conv_geometry(input.shape, weight.shape, stride, padding, dilation, groups,
                             op="conv1d", ndim=1)
    return _add_bias(ConvForward.apply(input, weight, geometry), bias, "conv1d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transpose convolution: input (N, C_in, L), weight (C_in, C_out/groups, K)."""
    _check_1d(input, weight, "conv_transpose1d")
    geometry = conv_transpose_geometry(input.shape, weight.shape, stride, padding, output_padding,
                                       dilation, groups, op="conv_transpose1d", ndim=1)
    return _add_bias(ConvDgrad.apply(input, weight, geometry), bias, "conv_transpose1d")
