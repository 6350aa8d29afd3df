"""Piecewise and gated activations with torch.nn.functional's names, signatures and kink
conventions: hardtanh, relu6, threshold, hardshrink, softshrink, tanhshrink, logsigmoid, glu, prelu.

Papers: He, Zhang, Ren & Sun, "Delving Deep into Rectifiers: Surpassing Human-Level Performance on
ImageNet Classification" (PReLU); Dauphin, Fan, Auli & Grangier, "Language Modeling with Gated
Convolutional Networks" (GLU); Krizhevsky, "Convolutional Deep Belief Networks on CIFAR-10"
(ReLU6); Donoho, "De-noising by soft-thresholding" (the shrinkage operators).

The piecewise-linear ones (hardtanh, relu6, threshold, hardshrink, softshrink) are Functions: the
forward on arrays, the VJP g * m with m a constant 0/1 mask of where the op has slope 1, so their
second derivative is 0. The mask is torch's at the kinks: hardtanh passes the gradient on the open
interval (min_val, max_val) only, threshold where x > threshold, the shrinks where |x| > lambd;
as torch, a NaN input gives NaN and passes the gradient (the masks test the flat side).
tanhshrink and glu are compositions of differentiable ops (exact, and grad of grad comes from
them); prelu is a Function whose VJP, in Tensor ops, keeps torch's second-order convention at 0. ``inplace=True`` is accepted and ignored, as by the other activations.
"""
from __future__ import annotations

from ..autograd import Function
from ..devices import xp_of
from ..tensor import Tensor
from ._util import constant, require_float
from .elementwise import log_sigmoid, sigmoid, tanh, where
from .movement import getitem, reshape, unbroadcast

_xp = xp_of


def _no_bool(x, op):
    if isinstance(x, Tensor) and x.dtype.kind == "b":
        raise RuntimeError(f"{op}: Bool inputs not supported (shape {x.shape})")


def _scalar_like(value, x):
    """A bound as torch's Scalar in x's dtype: integer tensors truncate it toward zero."""
    value = float(value)
    return int(value) if x.dtype.kind in "iu" else value


def _mask_grad(g, mask):
    return g * constant(mask.astype(g.dtype))


class Hardtanh(Function):
    """min(max(x, min_val), max_val); d/dx = 1 on the open interval (min_val, max_val), else 0
    (torch's convention: 0 at both kinks, unlike clamp's inclusive mask)."""
    name = "hardtanh"

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.bounds = (lo, hi)
        return _xp(a).clip(a, lo, hi).astype(a.dtype, copy=False)

    @staticmethod
    def vjp(ctx, g):
        x = ctx.inputs[0].data
        lo, hi = ctx.bounds
        return _mask_grad(g, ~((x <= lo) | (x >= hi))), None, None


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clamped to [min_val, max_val] (any real or integer dtype; integer bounds truncate)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val (got {min_val} > {max_val})")
    _no_bool(input, "hardtanh")
    return Hardtanh.apply(input, _scalar_like(min_val, input), _scalar_like(max_val, input))


def relu6(input, inplace=False):
    """min(max(x, 0), 6) = hardtanh(x, 0, 6): gradient 0 at both kinks, as torch."""
    _no_bool(input, "relu6")
    return Hardtanh.apply(input, 0, 6)


class Threshold(Function):
    """x where x > threshold, else value; d/dx = 1 where x > threshold, else 0."""
    name = "threshold"

    @staticmethod
    def forward(ctx, a, threshold, value):
        ctx.threshold = threshold
        return _xp(a).where(a <= threshold, value, a).astype(a.dtype, copy=False)

    @staticmethod
    def vjp(ctx, g):
        return _mask_grad(g, ~(ctx.inputs[0].data <= ctx.threshold)), None, None


def threshold(input, threshold, value, inplace=False):
    """y = x if x > threshold else value (integer tensors truncate threshold and value)."""
    if isinstance(input, Tensor) and input.dtype.kind == "b":
        raise NotImplementedError(f"threshold: not implemented for bool tensors (shape {input.shape})")
    return Threshold.apply(input, _scalar_like(threshold, input), _scalar_like(value, input))


class Shrink(Function):
    """Hard (``soft=False``): x where |x| > lambd, else 0. Soft: x - lambd sign(x) where
    |x| > lambd, else 0. Both have d/dx = 1 where |x| > lambd and 0 on [-lambd, lambd]."""
    name = "shrink"

    @staticmethod
    def forward(ctx, a, lambd, soft):
        ctx.lambd = lambd
        xp = _xp(a)
        inside = (a >= -lambd) & (a <= lambd)
        shrunk = a - xp.sign(a) * xp.asarray(lambd, dtype=a.dtype) if soft else a
        return xp.where(inside, 0, shrunk).astype(a.dtype, copy=False)

    @staticmethod
    def vjp(ctx, g):
        x, lambd = ctx.inputs[0].data, ctx.lambd
        return _mask_grad(g, ~((x >= -lambd) & (x <= lambd))), None, None


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0 (torch applies no check to lambd)."""
    return Shrink.apply(require_float(input, "hardshrink"), float(lambd), False)


def softshrink(input, lambd=0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0; lambd >= 0."""
    if not lambd >= 0:
        raise RuntimeError(f"softshrink: lambda must be in range [0, inf), but found {lambd}")
    return Shrink.apply(require_float(input, "softshrink"), float(lambd), True)


def tanhshrink(input):
    """x - tanh(x); d/dx = tanh(x)^2. Integer input gives float32, as torch."""
    _no_bool(input, "tanhshrink")
    return input - tanh(input)


def logsigmoid(input):
    """torch's name for :func:`tinygan.ops.log_sigmoid`: log sigmoid(x) = -softplus(-x)."""
    return log_sigmoid(require_float(input, "logsigmoid"))


def glu(input, dim=-1):
    """Gated linear unit: input split in halves a, b along ``dim``; a * sigmoid(b). Shape: dim's
    size n (even) becomes n / 2. d/da = sigmoid(b), d/db = a sigmoid(b) (1 - sigmoid(b))."""
    require_float(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for input of shape {input.shape}")
    d = dim % input.ndim
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {d} of input "
                           f"shape {input.shape} is size {n}")
    lead = (slice(None),) * d
    a = getitem(input, lead + (slice(0, n // 2),))
    b = getitem(input, lead + (slice(n // 2, n),))
    return a * sigmoid(b)


class Prelu(Function):
    """x where x > 0, else w x (w: the slopes reshaped to ``wshape``, broadcasting over x).
    d/dx = 1 or w; d/dw = x where x <= 0 (summed to w's shape). As torch's double backward, the
    second-order terms count x = 0 on the linear side: d(dy/dx)/dw and d(dy/dw)/dx vanish there
    (the first derivative at 0 is w, its dependence on w and x masked by x < 0)."""
    name = "prelu"

    @staticmethod
    def forward(ctx, a, w, wshape):
        ctx.wshape = wshape
        return _xp(a).where(a > 0, a, w.reshape(wshape) * a)

    @staticmethod
    def vjp(ctx, g):
        x, w = ctx.inputs[:2]
        nx, nw = ctx.needs_input_grad[:2]
        wb = reshape(w, ctx.wshape)
        neg = x.data < 0
        gx = gw = None
        if nx:
            gx = g * where(x.data > 0, 1.0, where(neg, wb, constant(wb.data)))
        if nw:
            gw = reshape(unbroadcast(where(neg, g * x, 0.0), ctx.wshape), w.shape)
        return gx, gw, None


def prelu(input, weight):
    """Parametric ReLU: x where x > 0, else w_c x, w (C,) one slope per channel of dim 1 (or a
    single slope: w of one entry or 0-d). Input (N, C, *) (channel size 1 for 0-d and 1-d input).
    d/dx = 1 or w_c; d/dw_c = sum of x over the entries of channel c where x <= 0."""
    require_float(input, "prelu")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got input {input.dtype} and "
                           f"weight {weight.dtype}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    k = weight.numel()
    if k != 1 and k != channels:
        raise RuntimeError(f"prelu: Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {k} and channel size = {channels} (input "
                           f"shape {input.shape})")
    wshape = (1, k) + (1,) * (input.ndim - 2) if k == channels and input.ndim >= 2 else ()
    return Prelu.apply(input, weight, wshape)


__all__ = ["hardtanh", "relu6", "threshold", "hardshrink", "softshrink", "tanhshrink",
           "logsigmoid", "glu", "prelu"]
