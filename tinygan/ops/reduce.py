"""Reductions and normalisers: sum, mean, max/min, var/std, logsumexp, softmax, log_softmax.

``axis`` (or torch's ``dim``) is None (all axes), an int or a tuple; ``keepdims`` (or ``keepdim``)
keeps reduced axes with length 1. VJPs broadcast the cotangent back over the reduced axes.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..device import xp_of
from ._util import constant, normalize_axis, pick_axis, pick_keepdims


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
        from .movement import broadcast_to, reshape
        a = ctx.inputs[0]
        if not ctx.keepdims:
            g = reshape(g, _kept_shape(a.shape, ctx.axes))
        return broadcast_to(g, a.shape), None, None


def sum(x, axis=None, keepdims=None, *, dim=None, keepdim=False, dtype=None):  # noqa: A001
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "sum")
    out = Sum.apply(x, axes, pick_keepdims(keepdim, keepdims))
    return out if dtype is None else out.to(dtype)


def mean(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "mean")
    count = math.prod(x.shape[i] for i in axes)
    if count == 0:
        raise ValueError(f"mean: reducing over an empty axis of a tensor of shape {x.shape}")
    return Sum.apply(x, axes, pick_keepdims(keepdim, keepdims)) * (1.0 / count)


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
        from .movement import broadcast_to, reshape
        a = ctx.inputs[0]
        kept = _kept_shape(a.shape, ctx.axes)
        hit = a.data == ctx.out_data.reshape(kept)
        weight = hit / hit.sum(axis=ctx.axes, keepdims=True)
        return broadcast_to(reshape(g, kept), a.shape) * constant(weight.astype(a.dtype)), None, None


def max(x, axis=None, keepdims=None, *, dim=None, keepdim=False):  # noqa: A001
    """Largest value over ``axis`` (values only, like numpy and torch.amax)."""
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "max")
    return Max.apply(x, axes, pick_keepdims(keepdim, keepdims))


def min(x, axis=None, keepdims=None, *, dim=None, keepdim=False):  # noqa: A001
    return -max(-x, axis, keepdims, dim=dim, keepdim=keepdim)


amax, amin = max, min


def var(x, axis=None, keepdims=None, *, dim=None, keepdim=False, correction=1):
    """Variance; ``correction=1`` (torch's default) divides by n - 1, ``correction=0`` by n."""
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "var")
    count = math.prod(x.shape[i] for i in axes)
    if count - correction <= 0:
        raise ValueError(f"var: {count} values over axes {axes} of shape {x.shape} are too few "
                         f"for correction={correction}")
    centred = x - mean(x, axes, keepdims=True)
    return sum(centred * centred, axes, pick_keepdims(keepdim, keepdims)) * (1.0 / (count - correction))


def std(x, axis=None, keepdims=None, *, dim=None, keepdim=False, correction=1):
    from .elementwise import sqrt
    return sqrt(var(x, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction))


def logsumexp(x, axis=None, keepdims=None, *, dim=None, keepdim=False):
    """log sum exp x, shifted by the (constant) max so nothing overflows."""
    from .elementwise import exp, log
    axes = normalize_axis(pick_axis(dim, axis), x.ndim, "logsumexp")
    keep = pick_keepdims(keepdim, keepdims)
    m = x.data.max(axis=axes, keepdims=True)
    m = x.xp.where(x.xp.isfinite(m), m, 0)
    shifted = log(sum(exp(x - constant(m)), axes, keepdims=True)) + constant(m)
    if keep:
        return shifted
    from .movement import reshape
    return reshape(shifted, tuple(n for i, n in enumerate(x.shape) if i not in axes))


class LogSoftmax(Function):
    """out = x - logsumexp(x); VJP: g - softmax(x) * sum(g)."""
    name = "log_softmax"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        shifted = a - a.max(axis=axis, keepdims=True)
        xp = xp_of(a)
        return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def vjp(ctx, g):
        from .elementwise import exp
        return g - exp(ctx.output()) * sum(g, ctx.axis, keepdims=True), None


class Softmax(Function):
    """out = e^x / sum e^x; VJP: out * (g - sum(g * out))."""
    name = "softmax"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        e = xp_of(a).exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def vjp(ctx, g):
        out = ctx.output()
        return out * (g - sum(g * out, ctx.axis, keepdims=True)), None


def _single_axis(x, dim, axis, op):
    ax = pick_axis(dim, axis)
    if ax is None:
        ax = -1
    return normalize_axis(ax, x.ndim, op)[0]


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
