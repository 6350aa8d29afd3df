"""Diagonals and triangles: diagonal, diag, tril, triu, eye (torch's names and rules).

``diagonal(x, offset, dim1, dim2)`` takes the entries ``x[.., i, .., i + offset, ..]`` (i + offset
in dim2; a negative offset moves below the main diagonal); the other axes keep their order and the
diagonal becomes the last axis. Its adjoint writes a vector back onto that diagonal of a zero
tensor (:class:`DiagonalScatter`); each is the other's VJP, so they differentiate to any order.
``diag`` is one or the other (1-D -> 2-D matrix, 2-D -> 1-D diagonal). ``tril`` / ``triu`` keep
a triangle (``j - i <= k`` / ``>= k`` over the last two axes): a fixed 0/1 mask, its own adjoint.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..devices import array_module, normalize_device, xp_of
from ..dtypes import as_dtype
from ..tensor import Tensor
from ._util import Diagonal, normalize_axis


def _diag_positions(n1, n2, offset, xp):
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    i = xp.arange(length)
    return i + max(-offset, 0), i + max(offset, 0)


class TakeDiagonal(Function):
    """out[..., i] = a[.., i + max(-offset, 0) (dim1), .., i + max(offset, 0) (dim2), ..]."""
    name = "diagonal"

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        xp = xp_of(a)
        rows, cols = _diag_positions(a.shape[dim1], a.shape[dim2], offset, xp)
        return xp.moveaxis(a, (dim1, dim2), (-2, -1))[..., rows, cols]

    @staticmethod
    def vjp(ctx, g):
        a, offset, dim1, dim2 = ctx.inputs
        return DiagonalScatter.apply(g, a.shape, offset, dim1, dim2), None, None, None


class DiagonalScatter(Function):
    """The adjoint of :class:`TakeDiagonal`: zeros of ``shape`` with ``v`` on that diagonal."""
    name = "diagonal_scatter"

    @staticmethod
    def forward(ctx, v, shape, offset, dim1, dim2):
        xp = xp_of(v)
        out = xp.zeros(shape, dtype=v.dtype)
        rows, cols = _diag_positions(shape[dim1], shape[dim2], offset, xp)
        xp.moveaxis(out, (dim1, dim2), (-2, -1))[..., rows, cols] = v
        return out

    @staticmethod
    def vjp(ctx, g):
        _, shape, offset, dim1, dim2 = ctx.inputs
        return TakeDiagonal.apply(g, offset, dim1, dim2), None, None, None, None


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset`` diagonal of the (dim1, dim2) planes, as a new last axis (torch.diagonal;
    a copy, not a view). An offset past the edge gives an empty last axis."""
    if input.ndim < 2:
        raise ValueError(f"diagonal: expected a tensor with at least 2 dimensions, got shape {input.shape}")
    d1 = normalize_axis(dim1, input.ndim, "diagonal")[0]
    d2 = normalize_axis(dim2, input.ndim, "diagonal")[0]
    if d1 == d2:
        raise RuntimeError(f"diagonal: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return TakeDiagonal.apply(input, int(offset), d1, d2)


def diag(input, diagonal=0):
    """torch.diag: a 1-D tensor of length n becomes an (n + |k|) square matrix with it on the
    k-th diagonal; a 2-D tensor gives its k-th diagonal (1-D)."""
    k = int(diagonal)
    if input.ndim == 1:
        n = input.shape[0] + abs(k)
        return DiagonalScatter.apply(input, (n, n), k, 0, 1)
    if input.ndim == 2:
        return TakeDiagonal.apply(input, k, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D (shape {input.shape})")


class Tril(Diagonal):
    """Keep ``j - i <= k`` over the last two axes (a fixed mask: its own VJP)."""
    name = "tril"

    @staticmethod
    def kernel(g, k):
        return xp_of(g).tril(g, k)


class Triu(Diagonal):
    """Keep ``j - i >= k`` over the last two axes."""
    name = "triu"

    @staticmethod
    def kernel(g, k):
        return xp_of(g).triu(g, k)


def _triangle(cls, input, diagonal, op):
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {input.shape}")
    return cls.apply(input, int(diagonal))


def tril(input, diagonal=0):
    """Lower triangle of the last two axes, on and below the ``diagonal``-th diagonal (torch.tril)."""
    return _triangle(Tril, input, diagonal, "tril")


def triu(input, diagonal=0):
    """Upper triangle of the last two axes, on and above the ``diagonal``-th diagonal (torch.triu)."""
    return _triangle(Triu, input, diagonal, "triu")


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """An n x m (default n x n) matrix with ones on the main diagonal; float32 by default."""
    m = n if m is None else m
    if int(n) < 0 or int(m) < 0:
        raise RuntimeError(f"eye: n and m must be greater or equal to 0, got {n}, {m}")
    xp = array_module(normalize_device(device))
    t = Tensor._make(xp.eye(int(n), int(m), dtype=as_dtype(dtype) or np.dtype(np.float32)), None)
    return t.requires_grad_(True) if requires_grad else t
