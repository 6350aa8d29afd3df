"""BoundaryPad: reflect, replicate and circular padding as index maps (0/1 matrices).

Along an axis of length n padded by (before, after), output entry j copies input entry src(j),
with u = j - before:

* reflect:   src = |u| folded at both ends (``-u`` if u < 0, ``2(n-1) - u`` if u >= n); PyTorch
  requires before, after < n, so one fold suffices.
* replicate: src = clip(u, 0, n-1).
* circular:  negative widths crop first (keeping k = n - max(-before, 0) - max(-after, 0)
  entries), then src = max(-before, 0) + (j - max(before, 0)) mod k. Widths must be <= n; a
  width above k (after cropping) wraps repeatedly; there PyTorch's overlapping in-place copies
  give these values, uninitialised memory or a "single memory location" error.

Negative widths crop (as PyTorch's). Each is a gather (:mod:`.separable`), so A^T adds each output
back onto the entry it copied: the border's gradient folds back onto the entries it mirrors.
"""
from __future__ import annotations

import numpy

from .base import _fmt_shape
from .separable import AxisTaps, Separable

PAD_MODES = ("reflect", "replicate", "circular")


def _fail(msg):
    raise RuntimeError(f"pad: {msg}")


def boundary_source(n: int, before: int, after: int, mode: str, shape=()) -> numpy.ndarray:
    """The source index of each of the n + before + after output entries (errors as PyTorch)."""
    out = n + before + after
    where = f"padding ({before}, {after}) of an axis of length {n} in input {_fmt_shape(shape)}"
    if mode == "circular":
        if before > n or after > n:
            _fail(f"mode 'circular': padding value causes wrapping around more than once: {where}")
        if out < 0:
            _fail(f"mode 'circular': negative padding value is resulting in an empty dimension: "
                  f"{where}")
        if out == 0:
            return numpy.zeros(0, dtype=numpy.int64)
        lo = max(-before, 0)
        keep = n - lo - max(-after, 0)
        if keep < 1:
            _fail(f"mode 'circular': {where} wraps around an axis cropped to nothing")
        j = numpy.arange(out)
        return lo + (j - max(before, 0)) % max(keep, 1)
    if n < 1:
        _fail(f"mode {mode!r} needs non-empty dimensions to pad, got {where}")
    if mode == "reflect" and (before >= n or after >= n):
        _fail(f"mode 'reflect': padding size should be less than the corresponding input "
              f"dimension, but got {where}")
    if out < 0:
        _fail(f"mode {mode!r}: input (length {n}) is too small: output length {out} with {where}")
    u = numpy.arange(out) - before
    if mode == "replicate":
        return numpy.clip(u, 0, n - 1)
    return numpy.where(u < 0, -u, numpy.where(u >= n, 2 * (n - 1) - u, u))


class BoundaryPad(Separable):
    """Pad with ``mode`` in 'reflect', 'replicate', 'circular'; ``pad_width`` is numpy's:
    ((before, after), ...) per axis (negative widths crop). A^T folds the border back."""

    def __init__(self, in_shape, pad_width, mode="reflect", dtype=numpy.float64):
        in_shape = tuple(int(s) for s in in_shape)
        if mode not in PAD_MODES:
            raise ValueError(f"BoundaryPad: mode must be one of {PAD_MODES}, got {mode!r}")
        widths = tuple((int(b), int(a)) for b, a in pad_width)
        if len(widths) != len(in_shape):
            raise ValueError(f"BoundaryPad: {len(widths)} (before, after) pairs for "
                             f"{_fmt_shape(in_shape)}")
        self.pad_width, self.mode = widths, mode
        maps = {axis: AxisTaps(n, boundary_source(n, b, a, mode, in_shape))
                for axis, (n, (b, a)) in enumerate(zip(in_shape, widths)) if (b, a) != (0, 0)}
        super().__init__(in_shape, maps, dtype)

    def _repr_params(self):
        return {"pad_width": tuple(w for w in self.pad_width), "mode": self.mode}
