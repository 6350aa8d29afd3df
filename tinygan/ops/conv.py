"""Convolution as a bilinear op closed under transposition: three kernels cover conv, transpose
conv and every order of derivative.

For y = conv(x, w) = A(w) x (Ryu's lecture: "the convolutions in deep learning are linear operators"):

    y  = conv2d_fwd(x, w)                 y[n,o,i,j] = sum_{c,r,t} w[o,c,r,t] x[n,c, s i + d r - p, s j + d t - p]
    dx = conv2d_dgrad(dy, w) = A(w)^T dy  (this *is* conv_transpose2d)
    dw = conv2d_wgrad(x, dy)              (the adjoint of w -> conv(x, w))

Each of the three is a Function whose VJPs are the other two (derivation: move the perturbed
argument to one side of <., .> using the adjoint identities):

    Conv:   grad_x = dgrad(G, w),   grad_w = wgrad(x, G)
    Dgrad:  grad_dy = conv(G, w),   grad_w = wgrad(G, dy)
    Wgrad:  grad_x = dgrad(dy, G),  grad_dy = conv(x, G)

so grad of grad (WGAN-GP through a conv discriminator) needs nothing more. The kernels come from
the registry: ``backends.get("conv2d_fwd", device)``.
"""
from __future__ import annotations

from .. import backends
from ..autograd import Function
from ..linops import shapes
from ..linops.params import as_pair
from ..tensor import Tensor


class _ConvFunction(Function):
    """Shared: kernel lookup by device; ``params`` = (stride, padding, dilation, groups)."""

    @staticmethod
    def kernel(name, array):
        from ..devices import device_of
        return backends.get(name, device_of(array))


class ConvForward(_ConvFunction):
    """y = A(w) x. ``out_hw`` (optional) keeps only the first rows/columns of y: the adjoint of a
    dgrad whose dy is smaller than conv's natural output (a transpose conv with
    output_padding >= stride, which PyTorch allows when output_padding < dilation)."""
    name = "conv2d"

    @staticmethod
    def forward(ctx, x, w, params, out_hw=None):
        y = ConvForward.kernel("conv2d_fwd", x)(x, w, *params)
        if out_hw is not None and tuple(y.shape[2:]) != tuple(out_hw):
            y = y[:, :, :out_hw[0], :out_hw[1]].copy()
        return y

    @staticmethod
    def vjp(ctx, g):
        x, w, params = ctx.inputs[:3]
        nx, nw = ctx.needs_input_grad[:2]
        return (ConvDgrad.apply(g, w, x.shape, params) if nx else None,
                ConvWgrad.apply(x, g, w.shape, params) if nw else None, None, None)


class ConvDgrad(_ConvFunction):
    """dx = A(w)^T dy: the input gradient of conv, and the forward of conv_transpose."""
    name = "conv2d_dgrad"

    @staticmethod
    def forward(ctx, dy, w, x_shape, params):
        return ConvDgrad.kernel("conv2d_dgrad", dy)(dy, w, tuple(x_shape), *params)

    @staticmethod
    def vjp(ctx, g):
        dy, w, _, params = ctx.inputs
        ndy, nw, _, _ = ctx.needs_input_grad
        return (ConvForward.apply(g, w, params, dy.shape[2:]) if ndy else None,
                ConvWgrad.apply(g, dy, w.shape, params) if nw else None, None, None)


class ConvWgrad(_ConvFunction):
    """dw = (w -> conv(x, w))^T dy: the weight gradient."""
    name = "conv2d_wgrad"

    @staticmethod
    def forward(ctx, x, dy, w_shape, params):
        return ConvWgrad.kernel("conv2d_wgrad", x)(x, dy, tuple(w_shape), *params)

    @staticmethod
    def vjp(ctx, g):
        x, dy, _, params = ctx.inputs
        nx, ndy, _, _ = ctx.needs_input_grad
        return (ConvDgrad.apply(dy, g, x.shape, params) if nx else None,
                ConvForward.apply(x, g, params, dy.shape[2:]) if ndy else None, None, None)


class BiasAdd(_ConvFunction):
    """y = x + b per channel (axis 1); kernel ``bias_add``, one pass. VJP: (g, channel_sum(g))."""
    name = "bias_add"

    @staticmethod
    def forward(ctx, x, b):
        return BiasAdd.kernel("bias_add", x)(x, b)

    @staticmethod
    def vjp(ctx, g):
        nx, nb = ctx.needs_input_grad
        return g if nx else None, ChannelSum.apply(g) if nb else None


class ChannelSum(_ConvFunction):
    """gb[c] = sum of g over every axis but 1 (kernel ``channel_sum``): the adjoint of
    broadcasting a bias, so its VJP broadcasts the cotangent back (a bias add onto zeros)."""
    name = "channel_sum"

    @staticmethod
    def forward(ctx, g):
        return ChannelSum.kernel("channel_sum", g)(g)

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


def _conv_params(x_shape, w_shape, stride, padding, dilation, groups, op):
    stride = shapes.pair(stride, "stride", op)
    dilation = shapes.pair(dilation, "dilation", op)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
            padding = shapes.same_padding(tuple(w_shape[2:]), dilation, op)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    padding = shapes.pair(padding, "padding", op)
    return stride, padding, dilation, int(groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, _op="conv2d"):
    """2-D convolution (cross-correlation), PyTorch's signature and output size.

    input (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) ->
    (N, C_out, (H + 2p - d(k-1) - 1)//s + 1, ...). padding: int, pair, "same" or "valid"."""
    _check_dtypes(input, weight, _op)
    params = _conv_params(input.shape, weight.shape, stride, padding, dilation, groups, _op)
    shapes.conv_output_shape(input.shape, weight.shape, *params, op=_op)
    return _add_bias(ConvForward.apply(input, weight, params), bias, _op)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, _op="conv_transpose2d"):
    """2-D transpose convolution: the adjoint A(w)^T of conv2d with the same weight.

    input (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW), bias (C_out,) ->
    (N, C_out, (H-1)s - 2p + d(k-1) + output_padding + 1, ...)."""
    _check_dtypes(input, weight, _op)
    params = _conv_params(input.shape, weight.shape, stride, padding, dilation, groups, _op)
    stride, padding, dilation, groups = params
    output_padding = shapes.pair(output_padding, "output_padding", _op)
    out_shape = shapes.conv_transpose_output_shape(input.shape, weight.shape, stride, padding,
                                                   output_padding, dilation, groups, op=_op)
    return _add_bias(ConvDgrad.apply(input, weight, out_shape, params), bias, _op)


def _one_d(input, weight, op, **hyper):
    """(N, C, L), (O, C/g, K) and 1-D hyper-parameters -> the 2-D kernels' view with H = 1."""
    if input.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"{op}: expected input (N, C, L) and a 3-D weight, got {input.shape} and {weight.shape}")
    pairs = {}
    for name, value in hyper.items():
        if isinstance(value, str):
            pairs[name] = value
        else:
            pairs[name] = as_pair(value, 1, name, op, 0 if name.endswith("padding") else 1)
    if pairs.get("padding") == "same":
        pairs["padding"] = (0, shapes.same_padding((1, weight.shape[2]), pairs["dilation"], op)[1])
    return input.unsqueeze(2), weight.unsqueeze(2), pairs


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution: input (N, C_in, L), weight (C_out, C_in/groups, K) -> (N, C_out, L_out)."""
    x, w, p = _one_d(input, weight, "conv1d", stride=stride, padding=padding, dilation=dilation)
    out = conv2d(x, w, None, p["stride"], p["padding"], p["dilation"], groups, _op="conv1d")
    return _add_bias(out.squeeze(2), bias, "conv1d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transpose convolution: input (N, C_in, L), weight (C_in, C_out/groups, K)."""
    x, w, p = _one_d(input, weight, "conv_transpose1d", stride=stride, padding=padding,
                     output_padding=output_padding, dilation=dilation)
    out = conv_transpose2d(x, w, None, p["stride"], p["padding"], p["output_padding"], groups,
                           p["dilation"], _op="conv_transpose1d")
    return _add_bias(out.squeeze(2), bias, "conv_transpose1d")
