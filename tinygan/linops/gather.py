"""PlaneGather: pick entries of each (n, c) plane by flat index -- max pooling's linear part.

Max pooling is piecewise linear: once the argmax of every window is known, y = G x where G reads
``x[n, c].flat[index[n, c, k]]``. Its adjoint scatters (adds) each y[n, c, k] back to that
position, which is max pooling's gradient; the scatter with unique targets is max_unpool2d.
"""
from __future__ import annotations

import math

import numpy

from .base import LinearOperator, _fmt_shape, array_module


class PlaneGather(LinearOperator):
    """(N, C, *S_in) -> (N, C, *S_out): ``y[n, c, k] = x[n, c].flat[index[n, c, k]]``.

    ``index`` is an int array of shape (N, C, *S_out) with values in [0, prod(S_in)); ``keep``
    (same shape, bools, or None for all) zeroes the entries it marks False. A^T y adds
    ``keep * y`` into zeros at the indexed positions (repeated indices add up)."""

    def __init__(self, in_shape, index, keep=None, dtype=numpy.float64):
        in_shape = tuple(int(s) for s in in_shape)
        xp = array_module(index)
        index = xp.asarray(index)
        if index.ndim < 2 or tuple(index.shape[:2]) != in_shape[:2]:
            raise ValueError(f"PlaneGather: index of shape {_fmt_shape(tuple(index.shape))} does "
                             f"not start with the (N, C) of input {_fmt_shape(in_shape)}")
        self.plane = math.prod(in_shape[2:])
        if index.size and (int(index.min()) < 0 or int(index.max()) >= self.plane):
            raise ValueError(f"PlaneGather: indices must lie in [0, {self.plane}) for input "
                             f"{_fmt_shape(in_shape)}, got [{int(index.min())}, {int(index.max())}]")
        super().__init__(in_shape, tuple(index.shape), dtype, xp)
        planes = xp.arange(in_shape[0] * in_shape[1]).reshape(in_shape[:2] + (1,) * (index.ndim - 2))
        self.flat = (index.astype(xp.int64) + planes * self.plane).ravel()
        self.keep = None if keep is None else xp.asarray(keep, dtype=bool).reshape(-1)

    def _apply(self, x):
        xp = array_module(x)
        y = x.reshape(-1)[self.flat]
        if self.keep is not None:
            y = xp.where(self.keep, y, xp.zeros((), dtype=x.dtype))
        return y.reshape(self.out_shape)

    def _adjoint(self, y):
        xp = array_module(y)
        vals, flat = y.reshape(-1), self.flat
        if self.keep is not None:
            vals, flat = vals[self.keep], flat[self.keep]
        x = xp.zeros(math.prod(self.in_shape), dtype=y.dtype)
        if y.dtype.kind == "f" and vals.size:
            x += xp.bincount(flat, weights=vals, minlength=x.size).astype(y.dtype)
        else:
            xp.add.at(x, flat, vals)
        return x.reshape(self.in_shape)
