"""Reductions and normalisers: sum, mean, max/min, var/std, logsumexp, softmax, log_softmax.

``axis`` (or torch's ``dim``) is None (all axes), an int or a tuple; ``keepdims`` (or ``keepdim``)
keeps reduced axes with length 1. VJPs broadcast the cotangent back over the reduced axes.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..autograd import Function
from ..devices import xp_of
from ..tensor import Tensor
from ._util import constant, normalize_axis, pick_axis, pick_keepdims, to_float
from .elementwise import exp, log, maximum, minimum, sqrt
from .indexing import gather
from .movement import broadcast_to, reshape, squeeze


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    name = "sum"

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        ctx.axes, ctx.keepdims = axes, keepdims
        return a.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def vjp(ctx, g):
        a = ctx.inputs[0]
        if not ctx.keepdims:
            g = reshape(g, _kept_shape(a.shape, ctx.axes))
        return broadcast_to(g, a.shape), None, None


def sum(x, axis=None, keepdims=None, *, dim=None, keepdim=False, dtype=None):  # noqa: A001
    """Sum over ``axis``; bool and integer tensors sum to int64, as in torch."""
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "sum")
    out = Sum.apply(x, axes, pick_keepdims(keepdim, keepdims))
    if dtype is None and out.dtype.kind in "biu" and out.dtype != np.int64:
        dtype = np.int64
    return out if dtype is None else out.to(dtype)


def _floating(x, op):
    if x.dtype.kind not in "fc":
        raise TypeError(f"{op}: needs a floating tensor, got {x.dtype} (shape {x.shape}); "
                        "cast it with .float()")


def _reciprocal(count):
    """1 / count, or inf when count <= 0 (var / std with too few values: torch's inf and NaN)."""
    return 1.0 / count if count > 0 else math.inf


def mean(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    """Mean over ``axis``; NaN over an empty axis (torch's value); floating tensors only."""
    _floating(x, "mean")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "mean")
    count = math.prod(x.shape[i] for i in axes)
    total = Sum.apply(x, axes, pick_keepdims(keepdim, keepdims))
    if count == 0:  # torch's NaN; its gradient stays that of an empty sum (no 0 * inf in grad of grad)
        return total + math.nan
    return total * (1.0 / count)


class Max(Function):
    """Gradient goes to the maximal entries, split equally among ties (as torch.amax)."""
    name = "max"

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        if a.size == 0:
            raise ValueError(f"max: reducing an empty tensor of shape {a.shape}")
        ctx.axes, ctx.keepdims = axes, keepdims
        return a.max(axis=axes, keepdims=keepdims)

    @staticmethod
    def vjp(ctx, g):
        a = ctx.inputs[0]
        kept = _kept_shape(a.shape, ctx.axes)
        hit = a.data == ctx.out_data.reshape(kept)
        weight = hit / hit.sum(axis=ctx.axes, keepdims=True)
        return broadcast_to(reshape(g, kept), a.shape) * constant(weight.astype(a.dtype)), None, None


def amax(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    """Largest value over ``axis`` (an int, a tuple or None: all); values only, as torch.amax."""
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "amax")
    return Max.apply(x, axes, pick_keepdims(keepdim, keepdims))


class Min(Max):
    """Smallest value; its own comparison (not -max(-x), wrong on bool and on the smallest integer)."""
    name = "min"

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        if a.size == 0:
            raise ValueError(f"min: reducing an empty tensor of shape {a.shape}")
        ctx.axes, ctx.keepdims = axes, keepdims
        return a.min(axis=axes, keepdims=keepdims)


def amin(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    """Smallest value over ``axis`` (an int, a tuple or None: all); values only, as torch.amin."""
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "amin")
    return Min.apply(x, axes, pick_keepdims(keepdim, keepdims))


# torch.return_types.max / .min: a tuple (values, indices) with those two names
max_result = namedtuple("max", ("values", "indices"))
min_result = namedtuple("min", ("values", "indices"))


def _extreme(op, x, axis, keepdims, dim, keepdim):
    """torch.max / torch.min: no dim -> the 0-d extreme (amax over all); a Tensor second argument
    -> maximum / minimum; an int dim -> (values, indices) with the *first* extreme's index (NaN
    counts as the extreme, as in torch). values = gather(x, dim, indices), so the gradient goes to
    that one entry only (torch's max(dim) rule; amax splits it among ties)."""
    if isinstance(axis, Tensor):
        if dim is not None or keepdims is not None or keepdim:
            raise TypeError(f"{op}(input, other) takes no dim / keepdim")
        return (maximum if op == "max" else minimum)(x, axis)
    ax = pick_axis(dim, axis)
    if ax is None:
        if keepdims is not None or keepdim:
            raise TypeError(f"{op}: keepdim needs a dim")
        return (amax if op == "max" else amin)(x)
    if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {ax!r}; for several dims use a{op}")
    (a,) = normalize_axis(ax, x.ndim, op) or (0,)
    keep = pick_keepdims(keepdim, keepdims)
    if x.ndim == 0:
        return (max_result if op == "max" else min_result)(x, constant(x.xp.zeros((), np.int64)))
    if x.shape[a] == 0:
        raise IndexError(f"{op}: expected reduction dim {ax} to have non-zero size (shape {x.shape})")
    pick = x.data.argmax if op == "max" else x.data.argmin
    idx = constant(pick(axis=a, keepdims=True).astype(np.int64))
    values = gather(x, a, idx)
    if not keep:
        values, idx = squeeze(values, a), squeeze(idx, a)
    return (max_result if op == "max" else min_result)(values, idx)


def max(x, axis=None, keepdims=None, *, dim=None, keepdim=False):  # noqa: A001
    """torch.max: ``max(x)`` the largest value (0-d); ``max(x, dim, keepdim=False)`` the named
    tuple ``(values, indices)``; ``max(x, other)`` elementwise (maximum)."""
    return _extreme("max", x, axis, keepdims, dim, keepdim)


def min(x, axis=None, keepdims=None, *, dim=None, keepdim=False):  # noqa: A001
    """torch.min: ``min(x)``, ``min(x, dim, keepdim=False)`` -> ``(values, indices)``, ``min(x, other)``."""
    return _extreme("min", x, axis, keepdims, dim, keepdim)


def var(x, axis=None, keepdims=None, *, dim=None, keepdim=False, correction=1):
    """Variance; ``correction=1`` (torch's default) divides by n - 1, ``correction=0`` by n.
    With n <= correction the divisor is 0, as in torch: NaN (0 / 0) or inf."""
    _floating(x, "var")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "var")
    count = math.prod(x.shape[i] for i in axes)
    return Var.apply(x, axes, pick_keepdims(keepdim, keepdims), _reciprocal(count - correction))


class Var(Function):
    """sum (x - mean)^2 * scale over ``axes``, scale = 1 / (n - correction) (inf when n <= correction).
    VJP (torch's var_backward): 2 scale (x - mean) g -- the mean's own term cancels, because the
    centred values sum to 0; with scale = inf this gives torch's +-inf, not inf - inf."""
    name = "var"

    @staticmethod
    def forward(ctx, a, axes, keepdims, scale):
        ctx.axes, ctx.keepdims, ctx.scale = axes, keepdims, scale
        count = math.prod(a.shape[i] for i in axes)
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = a - a.sum(axis=axes, keepdims=True) / a.dtype.type(count)
            return (centred * centred).sum(axis=axes, keepdims=keepdims) * a.dtype.type(scale)

    @staticmethod
    def vjp(ctx, g):
        x = ctx.inputs[0]
        if not ctx.keepdims:
            g = reshape(g, _kept_shape(x.shape, ctx.axes))
        centred = x - mean(x, ctx.axes, keepdims=True)
        return broadcast_to(g, x.shape) * centred * (2 * ctx.scale), None, None, None


def std(x, axis=None, keepdims=None, *, dim=None, keepdim=False, correction=1):
    return sqrt(var(x, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction))


def logsumexp(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    """log sum exp x, shifted by the (constant) max so nothing overflows."""
    x = to_float(x)                     # torch: an integer tensor's logsumexp is float32
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "logsumexp")
    keep = pick_keepdims(keepdim, keepdims)
    if x.numel():
        m = x.data.max(axis=axes, keepdims=True)
        m = x.xp.where(x.xp.isfinite(m), m, 0)
    else:                               # an empty sum: log 0 = -inf, as torch
        m = x.xp.zeros(_kept_shape(x.shape, axes), dtype=x.dtype)
    shifted = log(sum(exp(x - constant(m)), axes, keepdims=True)) + constant(m)
    if keep:
        return shifted
    return reshape(shifted, tuple(n for i, n in enumerate(x.shape) if i not in axes))


class LogSoftmax(Function):
    """out = x - logsumexp(x); VJP: g - softmax(x) * sum(g)."""
    name = "log_softmax"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        if a.size == 0:
            return a.copy()
        shifted = a - a.max(axis=axis, keepdims=True)
        xp = xp_of(a)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def vjp(ctx, g):
        return g - exp(ctx.output()) * sum(g, ctx.axis, keepdims=True), None


class Softmax(Function):
    """out = e^x / sum e^x; VJP: out * (g - sum(g * out))."""
    name = "softmax"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        if a.size == 0:
            return a.copy()
        e = xp_of(a).exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def vjp(ctx, g):
        out = ctx.output()
        return out * (g - sum(g * out, ctx.axis, keepdims=True)), None


def _single_axis(x, dim, axis, op):
    """The one axis softmax works along; () for a 0-d tensor (softmax = 1, log_softmax = 0)."""
    _floating(x, op)
    ax = pick_axis(dim, axis)
    if ax is None:
        ax = -1
    axes = normalize_axis(ax, x.ndim, op)
    return axes[0] if axes else ()


def softmax(x, dim=None, *, axis=None):
    return Softmax.apply(x, _single_axis(x, dim, axis, "softmax"))


def log_softmax(x, dim=None, *, axis=None):
    return LogSoftmax.apply(x, _single_axis(x, dim, axis, "log_softmax"))


def argmax(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    """Index of the largest value (no gradient)."""
    ax = pick_axis(dim, axis)
    return constant(x.data.argmax(axis=ax, keepdims=pick_keepdims(keepdim, keepdims) if ax is not None else False))


def argmin(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    ax = pick_axis(dim, axis)
    return constant(x.data.argmin(axis=ax, keepdims=pick_keepdims(keepdim, keepdims) if ax is not None else False))
