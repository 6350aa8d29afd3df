"""Padding layers with PyTorch's names: ReflectionPad, ReplicationPad, CircularPad, ZeroPad and
ConstantPad in 1-D, 2-D and 3-D, over :func:`tinygan.nn.functional.pad`.

``padding`` is an int (the same width on every side) or torch's tuple: (left, right) for 1-D,
(left, right, top, bottom) for 2-D, (left, right, top, bottom, front, back) for 3-D.
"""
from __future__ import annotations

import numbers

from ..ops.padding import pad
from .module import Module


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value=0.0):
        super().__init__()
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * (2 * self.dims)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {2 * self.dims} "
                             f"ints, got {padding}")
        self.padding, self.value = padding, value

    def forward(self, input):
        if self.mode == "constant":
            return pad(input, self.padding, "constant", self.value)
        return pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


def _family(mode, doc):
    classes = []
    for dims in (1, 2, 3):
        name = {"reflect": "ReflectionPad", "replicate": "ReplicationPad",
                "circular": "CircularPad"}[mode] + f"{dims}d"
        classes.append(type(name, (_PadNd,), {"mode": mode, "dims": dims,
                                               "__doc__": doc.format(dims=dims),
                                               "__module__": __name__}))
    return classes


ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = _family(
    "reflect", "Pad the last {dims} axes by reflection at the border (the edge not repeated).")
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = _family(
    "replicate", "Pad the last {dims} axes by repeating the edge value.")
CircularPad1d, CircularPad2d, CircularPad3d = _family(
    "circular", "Pad the last {dims} axes by wrapping around (periodic boundary).")


class ConstantPad1d(_PadNd):
    """Pad the last axis with ``value``."""
    dims = 1


class ConstantPad2d(ConstantPad1d):
    """Pad the last 2 axes with ``value``."""
    dims = 2


class ConstantPad3d(ConstantPad1d):
    """Pad the last 3 axes with ``value``."""
    dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pad the last axis with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    """Pad the last 2 axes with zeros."""
    dims = 2


class ZeroPad3d(ZeroPad1d):
    """Pad the last 3 axes with zeros."""
    dims = 3
