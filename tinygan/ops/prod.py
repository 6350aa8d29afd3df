"""prod and the boolean reductions any / all (torch's names, signatures and dtypes).

``prod(x, dim)`` multiplies along one axis (torch takes one int ``dim``, or none for the product
of everything). Its gradient is the product of all the *other* entries,
``dx_i = g * prod_{j<i} x_j * prod_{j>i} x_j``, computed from two exclusive cumulative products
(:func:`tinygan.ops.scan.exclusive_products`) instead of ``g * out / x_i``: exact when x holds
zeros (one zero: only that entry gets a gradient; two or more: all zero), and differentiable again.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..devices import xp_of
from ._util import constant, normalize_axis, pick_keepdims
from .movement import broadcast_to, reshape
from .scan import exclusive_products, scan_dim


class Prod(Function):
    """out = prod over ``axis`` of a (``axis=None``: all entries, a 0-d result)."""
    name = "prod"

    @staticmethod
    def forward(ctx, a, axis, keepdim):
        return xp_of(a).prod(a, axis=axis, keepdims=keepdim)

    @staticmethod
    def vjp(ctx, g):
        x, axis, keepdim = ctx.inputs
        kept = (1,) * x.ndim if axis is None else x.shape[:axis] + (1,) + x.shape[axis + 1:]
        g = broadcast_to(reshape(g, kept), x.shape)
        if x.numel() == 0:
            return g, None, None
        if axis is None:
            left, right = exclusive_products(reshape(x, (-1,)), 0)
            return g * reshape(left * right, x.shape), None, None
        left, right = exclusive_products(x, axis)
        return g * left * right, None, None


def _int64_if_integer(x, dtype):
    if dtype is not None:
        return x.to(dtype)
    return x.to(np.int64) if x.dtype.kind in "biu" else x


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of the entries along ``dim`` (an int; None: of all entries, a 0-d tensor).
    Integer and bool inputs multiply in int64, as in torch."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod: dim must be an int or None, got {dim!r} (torch.prod takes one dim)")
    x = _int64_if_integer(input, dtype)
    if dim is None:
        return Prod.apply(x, None, False)
    axis = scan_dim(x, dim, "prod")
    if x.ndim == 0:
        return Prod.apply(x, None, False)
    return Prod.apply(x, axis, bool(keepdim))


def _logical(op, reducer, input, dim, keepdim, keepdims):
    x = input.data
    keep = pick_keepdims(keepdim, keepdims)
    axes = None if dim is None else normalize_axis(dim, input.ndim, op)
    if input.ndim == 0:
        axes = None
    out = reducer(x != 0 if x.dtype != bool else x, axis=axes, keepdims=keep and axes is not None)
    out = input.xp.asarray(out)
    if x.dtype == np.uint8:           # torch keeps uint8 for uint8 input
        out = out.astype(np.uint8)
    return constant(out)


def any(input, dim=None, keepdim=False, *, keepdims=None):  # noqa: A001 -- torch's name
    """True where some entry along ``dim`` (an int, a tuple, or None for all) is non-zero.
    A bool tensor (uint8 for uint8 input, as torch); no gradient."""
    return _logical("any", lambda a, **k: xp_of(a).any(a, **k), input, dim, keepdim, keepdims)


def all(input, dim=None, keepdim=False, *, keepdims=None):  # noqa: A001 -- torch's name
    """True where every entry along ``dim`` is non-zero (True over an empty axis)."""
    return _logical("all", lambda a, **k: xp_of(a).all(a, **k), input, dim, keepdim, keepdims)
