"""Scans along one axis: cumsum, cumprod, cummax, cummin, logcumsumexp (torch's names and rules).

``out_i = x_0 (op) x_1 (op) ... (op) x_i`` along ``dim``; a 0-d tensor is scanned as one element
(``dim`` 0 or -1), an empty axis gives an empty result. Integer and bool inputs of cumsum / cumprod
accumulate in int64, as torch does (``dtype=`` overrides).

VJPs, all written with Tensor ops so they differentiate again:

- cumsum: ``dx = reverse cumsum of g`` (the adjoint of a lower-triangular matrix of ones).
- cumprod: ``dx_i = (x_0 ... x_{i-1}) * S_i`` with ``S_i = g_i + x_{i+1} S_{i+1}``, a first-order
  linear recurrence (:class:`LinearScan`, reversed). No division by x, so it is exact when x holds
  zeros (where torch's ``g * out / x`` shortcut would give 0/0).
- cummax / cummin: the values are ``gather(x, dim, indices)``, so the gradient is gather's:
  ``scatter_add`` of g into the chosen positions.
- logcumsumexp: ``dx_j = sum_{i>=j} g_i exp(x_j - out_i)``, evaluated in log space with g split
  into its positive and negative parts, as torch does (no overflow for large x).
"""
from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function
from ..devices import xp_of
from ..tensor import Tensor
from ._util import constant, normalize_axis
from .elementwise import exp, log, where
from .indexing import gather
from .movement import cat, flip, getitem, reshape


def scan_dim(x, dim, op):
    """One axis of ``x`` as a non-negative int (torch requires ``dim`` for every scan)."""
    if dim is None or isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    axes = normalize_axis(int(dim), x.ndim, op)
    return axes[0] if axes else 0  # a 0-d tensor: dim 0 or -1, scanned as a 1-element vector


def _index(axis, sl):
    return (slice(None),) * axis + (sl,)


def shift(t, axis, fill, forward=True):
    """Shift ``t`` one step along ``axis``, filling the vacated slot with ``fill``:
    forward: ``out_0 = fill, out_i = t_{i-1}``; backward: ``out_i = t_{i+1}, out_{n-1} = fill``.
    Linear in t (a slice and a concatenation), hence differentiable. Needs ``t.shape[axis] >= 1``."""
    edge_shape = t.shape[:axis] + (1,) + t.shape[axis + 1:]
    edge = Tensor._make(t.xp.full(edge_shape, fill, dtype=t.dtype), None)
    if forward:
        return cat([edge, getitem(t, _index(axis, slice(None, -1)))], axis)
    return cat([getitem(t, _index(axis, slice(1, None))), edge], axis)


def _as_1d_if_scalar(fn):
    """Run a scan on a 0-d tensor as on a 1-element vector, then drop the axis again."""
    @functools.wraps(fn)
    def wrapped(input, dim, *args, **kwargs):
        if input.ndim:
            return fn(input, dim, *args, **kwargs)
        scan_dim(input, dim, fn.__name__)
        out = fn(reshape(input, (1,)), 0, *args, **kwargs)
        if isinstance(out, tuple):
            return type(out)(*(reshape(o, ()) for o in out))
        return reshape(out, ())
    return wrapped


def _accum_dtype(x, dtype):
    if dtype is not None:
        return x.to(dtype)
    if x.dtype.kind in "biu":      # torch: integer and bool scans accumulate in int64
        return x.to(np.int64)
    return x


# ---- cumsum ---------------------------------------------------------------------------------------
class CumSum(Function):
    """out_i = sum_{j<=i} x_j; VJP: dx_j = sum_{i>=j} g_i (cumsum of the flipped cotangent)."""
    name = "cumsum"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        return xp_of(a).cumsum(a, axis=axis)

    @staticmethod
    def vjp(ctx, g):
        return flip(cumsum(flip(g, (ctx.axis,)), ctx.axis), (ctx.axis,)), None


@_as_1d_if_scalar
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim`` (torch.cumsum)."""
    axis = scan_dim(input, dim, "cumsum")
    return CumSum.apply(_accum_dtype(input, dtype), axis)


# ---- a first-order linear recurrence, and cumprod on top of it ------------------------------------
class LinearScan(Function):
    """h_i = a_i h_{i-1} + b_i along ``axis`` (h_{-1} = 0, so a_0 is unused).

    Linear in b, bilinear in (a, h). With w the solution of the reversed recurrence
    ``w_i = u_i + a_{i+1} w_{i+1}`` for the cotangent u:  db = w,  da_i = w_i h_{i-1}."""
    name = "linear_scan"

    @staticmethod
    def forward(ctx, a, b, axis):
        ctx.axis = axis
        xp = xp_of(b)
        a, b = xp.broadcast_arrays(a, b)
        h = xp.array(b, copy=True)
        for i in range(1, h.shape[axis]):
            h[_index(axis, i)] += a[_index(axis, i)] * h[_index(axis, i - 1)]
        return h

    @staticmethod
    def vjp(ctx, u):
        a, b, axis = ctx.inputs
        w = linear_scan(shift(a, axis, 0, forward=False), u, axis, reverse=True)
        da = w * shift(ctx.output(), axis, 0) if ctx.needs_input_grad[0] else None
        return da, w, None


def linear_scan(a, b, axis, reverse=False):
    """h_i = a_i h_{i-1} + b_i (``reverse``: h_i = a_i h_{i+1} + b_i); a and b of equal shape."""
    if b.shape[axis] == 0:
        return b * 1
    if reverse:
        return flip(LinearScan.apply(flip(a, (axis,)), flip(b, (axis,)), axis), (axis,))
    return LinearScan.apply(a, b, axis)


class CumProd(Function):
    """out_i = prod_{j<=i} x_j. VJP: dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j
    = (x_0 ... x_{i-1}) * S_i with S_i = g_i + x_{i+1} S_{i+1}: no division, exact with zeros."""
    name = "cumprod"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        return xp_of(a).cumprod(a, axis=axis)

    @staticmethod
    def vjp(ctx, g):
        x, axis = ctx.inputs
        before = shift(ctx.output(), axis, 1)                       # x_0 ... x_{i-1}
        return before * linear_scan(shift(x, axis, 0, forward=False), g, axis, reverse=True), None


@_as_1d_if_scalar
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim`` (torch.cumprod); its gradient is exact with zeros in x."""
    axis = scan_dim(input, dim, "cumprod")
    x = _accum_dtype(input, dtype)
    if x.shape[axis] == 0:
        return x * 1
    return CumProd.apply(x, axis)


def exclusive_products(x, axis):
    """(prod_{j<i} x_j, prod_{j>i} x_j) along ``axis``: the product of all the other entries is
    their product. Built from cumprod, so differentiable with zeros in x."""
    left = shift(cumprod(x, axis), axis, 1)
    right = flip(shift(cumprod(flip(x, (axis,)), axis), axis, 1), (axis,))
    return left, right


# ---- cummax / cummin ------------------------------------------------------------------------------
class ScanResult(tuple):
    """``(values, indices)`` like torch's return types: unpack it or use the field names."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _running_arg(x, axis, ufunc):
    """Indices of the running max (``np.maximum``) or min: a new extreme or a tie takes the later
    index (torch's ``>=`` / ``<=``); a NaN wins and stays, the latest NaN's index is reported."""
    xp = xp_of(x)
    best = getattr(xp, ufunc.__name__).accumulate(x, axis=axis)
    took = x == best
    if x.dtype.kind in "fc":
        took |= xp.isnan(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    pos = xp.arange(x.shape[axis], dtype=np.int64).reshape(shape)
    cand = xp.where(took, pos, -1)
    return xp.maximum.accumulate(cand, axis=axis)


def _cum_extreme(input, dim, ufunc, op):
    axis = scan_dim(input, dim, op)
    idx = constant(_running_arg(input.data, axis, ufunc))
    return ScanResult(gather(input, axis, idx), idx)


@_as_1d_if_scalar
def cummax(input, dim):
    """(values, indices) of the running maximum along ``dim`` (torch.cummax); ties take the later
    index. Gradient: g goes to the entry each index points at (scatter_add)."""
    return _cum_extreme(input, dim, np.maximum, "cummax")


@_as_1d_if_scalar
def cummin(input, dim):
    """(values, indices) of the running minimum along ``dim`` (torch.cummin); ties take the later
    index."""
    return _cum_extreme(input, dim, np.minimum, "cummin")


# ---- logcumsumexp ---------------------------------------------------------------------------------
class LogCumSumExp(Function):
    """out_i = log sum_{j<=i} exp(x_j), accumulated pairwise with logaddexp (stable).

    VJP: dx_j = exp(x_j) sum_{i>=j} g_i exp(-out_i). With g = g+ - g- (both >= 0) each part is
    exp(x_j + reverse-logcumsumexp(log g± - out)_j): the same op, no overflow."""
    name = "logcumsumexp"

    @staticmethod
    def forward(ctx, a, axis):
        ctx.axis = axis
        xp = xp_of(a)
        return xp.logaddexp.accumulate(a, axis=axis)

    @staticmethod
    def vjp(ctx, g):
        x, axis = ctx.inputs
        out = ctx.output()
        lowest = float(np.finfo(g.dtype).min)

        def part(mask):                       # log |g| where mask holds, -huge elsewhere
            safe = where(mask, g, 1.0)
            return where(mask, log(safe.abs()), lowest)

        def rev(t):
            return flip(logcumsumexp(flip(t, (axis,)), axis), (axis,))
        with np.errstate(over="ignore"):    # lowest - out may round to -inf: exp gives 0, as in torch
            pos = exp(rev(part(g.data > 0) - out) + x)
            neg = exp(rev(part(g.data < 0) - out) + x)
        return pos - neg, None


@_as_1d_if_scalar
def logcumsumexp(input, dim):
    """log(cumsum(exp(x))) along ``dim`` without overflow (torch.logcumsumexp); floats only."""
    axis = scan_dim(input, dim, "logcumsumexp")
    if input.dtype.kind != "f":
        raise TypeError(f"logcumsumexp: expected a floating tensor, got {input.dtype}")
    if input.shape[axis] == 0:
        return input * 1
    return LogCumSumExp.apply(input, axis)


