"""Separable gathers: operators that act on each chosen axis with a small table of taps.

Along one axis of length n, a table ``(index, weight, valid)`` of shape (m, T) defines the 1-D map

    y[i] = sum over taps t with valid[i, t] of  weight[i, t] * x[index[i, t]]      (n -> m)

and an operator applies one such map per axis (the others untouched). Interpolation (nearest: one
tap of weight 1; linear: 2 taps; cubic: 4), adaptive average pooling (a window of taps) and the
reflect / replicate / circular paddings (one tap of weight 1, the index folded back into range)
are all of this form, so they share one ``apply`` and one ``adjoint``.

Only the listed taps are read, as in PyTorch's kernels: an inf or NaN outside a window does not
leak into it (a dense matrix product would give 0 * inf = NaN). The adjoint sends each y[i] back
along the same taps, x_bar[j] = sum over (i, t) with index[i, t] = j of weight[i, t] * y_bar[i]:
the taps are sorted by target once, and one ``add.reduceat`` per axis sums each target's segment.

One fast path, beside the general one: nearest upsampling by an integer factor s (index[i] =
i // s, one tap of weight 1) gathers by ``repeat`` (y[i] = x[i // s]) and scatters by adding the
s strided slices (x_bar[j] = sum_{k < s} y_bar[s j + k]); fancy indexing and ``reduceat`` are
much slower there (benchmarks/README.md, "Pooling").
"""
from __future__ import annotations

import numpy

from .base import LinearOperator, array_module


class AxisTaps:
    """The 1-D map of one axis: ``index`` (m, T) ints in [0, n), ``weight`` (m, T) floats or
    None (all ones), ``valid`` (m, T) bools or None (all taps used); ``n`` is the input length."""

    def __init__(self, n: int, index, weight=None, valid=None):
        self.n = int(n)
        self.index = numpy.asarray(index, dtype=numpy.int64)
        if self.index.ndim == 1:
            self.index = self.index[:, None]
        self.m = self.index.shape[0]
        self.weight = None if weight is None else numpy.asarray(weight).reshape(self.index.shape)
        self.valid = None if valid is None else numpy.asarray(valid, dtype=bool).reshape(
            self.index.shape)
        if self.index.size and (self.index.min() < 0 or self.index.max() >= max(self.n, 1)):
            raise ValueError(f"AxisTaps: tap indices must lie in [0, {self.n}), got "
                             f"[{self.index.min()}, {self.index.max()}]")
        # Adjoint bookkeeping: the used taps sorted by target, and where each target's run starts.
        used = numpy.ones(self.index.shape, bool) if self.valid is None else self.valid
        flat = numpy.flatnonzero(used.ravel())
        order = flat[numpy.argsort(self.index.ravel()[flat], kind="stable")]
        self.order = order
        self.targets, self.starts = numpy.unique(self.index.ravel()[order], return_index=True)
        s = self.m // self.n if self.n else 0
        self.repeat = s if (s >= 1 and self.m == s * self.n and self.index.shape[1] == 1
                            and self.weight is None and self.valid is None and numpy.array_equal(
                                self.index[:, 0], numpy.arange(self.m) // s)) else None

    def gather(self, x, axis: int):
        """y = the map applied along ``axis`` of x (length n -> m)."""
        xp = array_module(x)
        if self.repeat:                                              # y[i] = x[i // s]
            return xp.repeat(x, self.repeat, axis=axis)
        xm = xp.moveaxis(x, axis, -1)
        taps = xm[..., xp.asarray(self.index)]                       # (..., m, T)
        if self.weight is not None:
            taps = taps * xp.asarray(self.weight, dtype=x.dtype)
        if self.valid is not None:
            taps = xp.where(xp.asarray(self.valid), taps, xp.zeros((), dtype=x.dtype))
        y = taps[..., 0] if self.index.shape[1] == 1 else taps.sum(axis=-1)
        return xp.ascontiguousarray(xp.moveaxis(y, -1, axis))

    def scatter(self, y, axis: int):
        """x_bar = the adjoint map along ``axis`` of y (length m -> n)."""
        xp = array_module(y)
        if self.repeat:                                              # x_bar[j] = sum_k y_bar[s j + k]
            index = [slice(None)] * y.ndim
            parts = []
            for k in range(self.repeat):
                index[axis] = slice(k, None, self.repeat)
                parts.append(y[tuple(index)])
            x = xp.ascontiguousarray(parts[0])
            for part in parts[1:]:
                x = x + part
            return x
        ym = xp.moveaxis(y, axis, -1)
        contrib = ym[..., :, None]
        if self.weight is not None:
            contrib = contrib * xp.asarray(self.weight, dtype=y.dtype)
        else:
            contrib = xp.broadcast_to(contrib, ym.shape + (self.index.shape[1],))
        contrib = contrib.reshape(ym.shape[:-1] + (self.index.size,))[..., xp.asarray(self.order)]
        x = xp.zeros(ym.shape[:-1] + (self.n,), dtype=y.dtype)
        if self.order.size:
            x[..., xp.asarray(self.targets)] = xp.add.reduceat(
                contrib, xp.asarray(self.starts), axis=-1)
        return xp.ascontiguousarray(xp.moveaxis(x, -1, axis))


class Separable(LinearOperator):
    """A product of 1-D tap maps, one per axis in ``axes`` (a dict ``axis -> AxisTaps``).

    A = A_k ... A_1 with A_j acting on axis j only, so A^T = A_1^T ... A_k^T: the adjoint scatters
    the axes in reverse order. Subclasses build the tables (Interpolate, AdaptiveAvgPool,
    BoundaryPad)."""

    def __init__(self, in_shape, maps: dict, dtype=numpy.float64):
        in_shape = tuple(int(s) for s in in_shape)
        self.maps = {int(a) % len(in_shape): t for a, t in maps.items()}
        out_shape = list(in_shape)
        for axis, taps in self.maps.items():
            if taps.n != in_shape[axis]:
                raise ValueError(f"{type(self).__name__}: axis {axis} has length {in_shape[axis]}, "
                                 f"its taps expect {taps.n}")
            out_shape[axis] = taps.m
        super().__init__(in_shape, out_shape, dtype)
        self.per_sample = 0 not in self.maps

    def _apply(self, x):
        with numpy.errstate(invalid="ignore", over="ignore"):  # inf / NaN propagate, as in torch
            for axis, taps in sorted(self.maps.items()):
                x = taps.gather(x, axis)
        return x

    def _adjoint(self, y):
        with numpy.errstate(invalid="ignore", over="ignore"):
            for axis, taps in sorted(self.maps.items(), reverse=True):
                y = taps.scatter(y, axis)
        return y
