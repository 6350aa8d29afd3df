"""Operators that only move, copy or zero-fill entries: Dilate/UnDilate, Pad/Crop, Upsample.

Each is a 0/1 matrix (Upsample: a 0/1 matrix with several ones per column), so its adjoint is the
same pattern read backwards: scatter <-> gather, insert zeros <-> drop entries, copy <-> sum.
"""
from __future__ import annotations

import numbers

import numpy

from .base import LinearOperator, _fmt_shape, array_module


def _int_tuple(value, length: int, name: str, op: str, minimum: int) -> tuple[int, ...]:
    """``value`` (an int or a sequence of ``length`` ints, each >= ``minimum``) as a tuple."""
    items = (value,) * length if isinstance(value, numbers.Integral) else tuple(value)
    if len(items) != length or not all(isinstance(v, numbers.Integral) and v >= minimum
                                       for v in items):
        raise ValueError(f"{op}: {name} must be an int >= {minimum} or {length} of them, "
                         f"got {value!r}")
    return tuple(int(v) for v in items)


def _axes_tuple(axes, ndim: int, op: str) -> tuple[int, ...]:
    """Normalise ``axes`` (an int or a sequence; negatives allowed) against ``ndim``."""
    items = (axes,) if isinstance(axes, numbers.Integral) else tuple(axes)
    if not all(isinstance(a, numbers.Integral) and -ndim <= a < ndim for a in items):
        raise ValueError(f"{op}: axes {axes!r} out of range for an array of {ndim} dimensions")
    normal = tuple(int(a) % ndim for a in items)
    if len(set(normal)) != len(normal):
        raise ValueError(f"{op}: repeated axis in {axes!r}")
    return normal


def _strided_index(ndim: int, axes: tuple[int, ...], steps: tuple[int, ...]) -> tuple[slice, ...]:
    index = [slice(None)] * ndim
    for axis, step in zip(axes, steps):
        index[axis] = slice(None, None, step)
    return tuple(index)


def _dilate(x, axes, dilation):
    """Scatter x to every d-th position of a zero array (any size along the other axes)."""
    shape = list(x.shape)
    for axis, d in zip(axes, dilation):
        shape[axis] = (shape[axis] - 1) * d + 1
    y = array_module(x).zeros(shape, dtype=x.dtype)
    y[_strided_index(x.ndim, axes, dilation)] = x
    return y


def _undilate(y, axes, dilation):
    """Gather every d-th entry: the adjoint of _dilate."""
    return array_module(y).ascontiguousarray(y[_strided_index(y.ndim, axes, dilation)])


class Dilate(LinearOperator):
    """Insert d-1 zeros between neighbours along ``axes``: length n -> (n-1)*d + 1.

    A x puts x at every d-th position of a zero array; A^T is UnDilate (keep every d-th entry).
    A stride-s conv is a stride-1 conv followed by UnDilate, so its transpose starts with Dilate.
    """

    def __init__(self, in_shape, dilation, axes, dtype=numpy.float64):
        in_shape = tuple(in_shape)
        self.axes = _axes_tuple(axes, len(in_shape), "Dilate")
        self.dilation = _int_tuple(dilation, len(self.axes), "dilation", "Dilate", 1)
        out_shape = list(in_shape)
        for axis, d in zip(self.axes, self.dilation):
            out_shape[axis] = (in_shape[axis] - 1) * d + 1
        super().__init__(in_shape, out_shape, dtype)
        self.per_sample = 0 not in self.axes

    def _apply(self, x):
        return _dilate(x, self.axes, self.dilation)

    def _adjoint(self, y):
        return _undilate(y, self.axes, self.dilation)

    def _make_transpose(self):
        return UnDilate(self.out_shape, self.dilation, self.axes, self.dtype)

    def _repr_params(self):
        return {"dilation": self.dilation, "axes": self.axes}


class UnDilate(LinearOperator):
    """Keep every d-th entry along ``axes``: length (n-1)*d + 1 -> n. A^T is Dilate.

    The length along each axis must be (n-1)*d + 1 so that the adjoint is exactly a Dilate
    (otherwise the adjoint would also need trailing zeros: crop first).
    """

    def __init__(self, in_shape, dilation, axes, dtype=numpy.float64):
        in_shape = tuple(in_shape)
        self.axes = _axes_tuple(axes, len(in_shape), "UnDilate")
        self.dilation = _int_tuple(dilation, len(self.axes), "dilation", "UnDilate", 1)
        out_shape = list(in_shape)
        for axis, d in zip(self.axes, self.dilation):
            if (in_shape[axis] - 1) % d:
                raise ValueError(f"UnDilate: length {in_shape[axis]} of axis {axis} in shape "
                                 f"{_fmt_shape(in_shape)} is not (n-1)*{d}+1 for any n")
            out_shape[axis] = (in_shape[axis] - 1) // d + 1
        super().__init__(in_shape, out_shape, dtype)
        self.per_sample = 0 not in self.axes

    def _apply(self, x):
        return _undilate(x, self.axes, self.dilation)

    def _adjoint(self, y):
        return _dilate(y, self.axes, self.dilation)

    def _make_transpose(self):
        return Dilate(self.out_shape, self.dilation, self.axes, self.dtype)

    def _repr_params(self):
        return {"dilation": self.dilation, "axes": self.axes}


def _pad_pairs(width, ndim: int, op: str) -> tuple[tuple[int, int], ...]:
    """numpy's ``pad_width`` forms: int, (before, after), or ((before, after),) * ndim."""
    if isinstance(width, numbers.Integral):
        pairs = ((width, width),) * ndim
    else:
        items = tuple(width)
        if len(items) == 2 and all(isinstance(v, numbers.Integral) for v in items):
            pairs = (items,) * ndim
        elif len(items) == ndim:
            pairs = tuple((w, w) if isinstance(w, numbers.Integral) else tuple(w) for w in items)
        else:
            raise ValueError(f"{op}: expected {ndim} (before, after) pairs, got {width!r}")
    if not all(len(p) == 2 and all(isinstance(v, numbers.Integral) and v >= 0 for v in p)
               for p in pairs):
        raise ValueError(f"{op}: widths must be ints >= 0, got {width!r}")
    return tuple((int(b), int(a)) for b, a in pairs)


def _crop(y, widths):
    """Drop ``widths`` ((before, after), ...) from each axis: the adjoint of zero padding."""
    index = tuple(slice(b, n - a) for n, (b, a) in zip(y.shape, widths))
    return array_module(y).ascontiguousarray(y[index])


class Pad(LinearOperator):
    """Zero padding, numpy-style ``pad_width`` ((before, after), ...): n -> before + n + after.

    A^T is Crop with the same widths (drop the padded border).
    """

    def __init__(self, in_shape, pad_width, dtype=numpy.float64):
        in_shape = tuple(in_shape)
        self.pad_width = _pad_pairs(pad_width, len(in_shape), "Pad")
        out_shape = [n + b + a for n, (b, a) in zip(in_shape, self.pad_width)]
        super().__init__(in_shape, out_shape, dtype)
        self.per_sample = self.pad_width[0] == (0, 0)

    def _apply(self, x):
        return array_module(x).pad(x, self.pad_width)

    def _adjoint(self, y):
        return _crop(y, self.pad_width)

    def _make_transpose(self):
        return Crop(self.out_shape, self.pad_width, self.dtype)

    def _repr_params(self):
        return {"pad_width": self.pad_width}


class Crop(LinearOperator):
    """Drop ``crop_width`` ((before, after), ...) entries per axis: n -> n - before - after.

    A^T is Pad with the same widths.
    """

    def __init__(self, in_shape, crop_width, dtype=numpy.float64):
        in_shape = tuple(in_shape)
        self.crop_width = _pad_pairs(crop_width, len(in_shape), "Crop")
        out_shape = [n - b - a for n, (b, a) in zip(in_shape, self.crop_width)]
        if min(out_shape) < 1:
            raise ValueError(f"Crop: widths {self.crop_width} leave nothing of shape "
                             f"{_fmt_shape(in_shape)}")
        super().__init__(in_shape, out_shape, dtype)
        self.per_sample = self.crop_width[0] == (0, 0)

    def _apply(self, x):
        return _crop(x, self.crop_width)

    def _adjoint(self, y):
        return array_module(y).pad(y, self.crop_width)

    def _make_transpose(self):
        return Pad(self.out_shape, self.crop_width, self.dtype)

    def _repr_params(self):
        return {"crop_width": self.crop_width}


class Upsample(LinearOperator):
    """Nearest-neighbour upsampling by integer factors s: (N,C,L) -> (N,C,s L) or
    (N,C,H,W) -> (N,C,s1 H,s2 W).

    A x copies each entry into an s-block; A^T y sums each s-block (torch interpolate, 'nearest').
    """

    per_sample = True

    def __init__(self, in_shape, scale_factor, dtype=numpy.float64):
        in_shape = tuple(in_shape)
        if len(in_shape) not in (3, 4):
            raise ValueError(f"Upsample: expected (N,C,L) or (N,C,H,W), got {_fmt_shape(in_shape)}")
        self.scale_factor = _int_tuple(scale_factor, len(in_shape) - 2, "scale_factor",
                                       "Upsample", 1)
        out_shape = in_shape[:2] + tuple(n * s for n, s in zip(in_shape[2:], self.scale_factor))
        super().__init__(in_shape, out_shape, dtype)

    def _blocks(self, batch: int) -> tuple[int, ...]:
        """Shape (N, C, H, sH, W, sW): each input entry next to the axis it is repeated along."""
        shape = (batch, self.in_shape[1])
        for n, s in zip(self.in_shape[2:], self.scale_factor):
            shape += (n, s)
        return shape

    def _apply(self, x):
        blocks = self._blocks(x.shape[0])
        # A zero-stride view along each repeat axis: the copy happens once, in the final reshape.
        view = x.reshape(tuple(1 if i >= 3 and i % 2 else n for i, n in enumerate(blocks)))
        xp = array_module(x)
        return xp.broadcast_to(view, blocks).reshape((x.shape[0],) + self.out_shape[1:])

    def _adjoint(self, y):
        blocks = self._blocks(y.shape[0])
        return y.reshape(blocks).sum(axis=tuple(range(3, len(blocks), 2)))

    def _repr_params(self):
        return {"scale_factor": self.scale_factor}
