"""Repetition and rotation along axes: roll, repeat, repeat_interleave (torch's names and rules).

All three are linear maps that copy or move entries, so each VJP is the adjoint of the movement:
roll's is the opposite roll; repeat (a broadcast between two reshapes) sums the copies back; and
repeat_interleave (an index along one axis) scatter-adds them back. Every piece is a Tensor op, so
the gradients differentiate again.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..devices import xp_of
from ..tensor import Tensor
from ._util import constant, normalize_axis
from .movement import broadcast_to, flatten, getitem, reshape


def _ints(value):
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


# ---- roll -----------------------------------------------------------------------------------------
class Roll(Function):
    """out[(i + s) mod n] = x[i] along each rolled axis; VJP: roll g by -s."""
    name = "roll"

    @staticmethod
    def forward(ctx, a, shifts, axes):
        return xp_of(a).roll(a, shifts, axis=axes)

    @staticmethod
    def vjp(ctx, g):
        _, shifts, axes = ctx.inputs
        return Roll.apply(g, tuple(-s for s in shifts), axes), None, None


def roll(input, shifts, dims=None):
    """Rotate entries by ``shifts`` along ``dims`` (torch.roll); ``dims=None`` rolls the flattened
    tensor and restores its shape."""
    shifts = _ints(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0")
        return reshape(Roll.apply(flatten(input), shifts, (0,)), input.shape)
    dims = _ints(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    if input.ndim == 0:
        raise IndexError(f"roll: dimension specified as {dims[0]} but tensor has no dimensions")
    axes = tuple(normalize_axis(d, input.ndim, "roll")[0] for d in dims)
    return Roll.apply(input, shifts, axes)


# ---- repeat ---------------------------------------------------------------------------------------
def repeat(input, *sizes):
    """torch's ``Tensor.repeat``: tile ``input`` ``sizes[k]`` times along axis k (numpy's tile).
    ``len(sizes) >= input.ndim``; extra leading sizes add axes. Built as reshape -> broadcast_to ->
    reshape, so its VJP sums the copies (broadcast_to's adjoint)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise TypeError("repeat: missing the repeat sizes (one per dimension)")
    if len(sizes) < input.ndim:
        raise RuntimeError(f"repeat: number of dimensions of repeat dims {sizes} can not be smaller "
                           f"than number of dimensions of tensor {input.shape}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + input.shape
    spread = reshape(input, tuple(v for n in shape for v in (1, n)))
    tiled = broadcast_to(spread, tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
    return reshape(tiled, tuple(r * n for r, n in zip(sizes, shape)))


# ---- repeat_interleave ----------------------------------------------------------------------------
def _repeat_counts(repeats, n, xp):
    if isinstance(repeats, Tensor):
        if repeats.dtype.kind not in "iu":
            raise TypeError(f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}")
        if repeats.ndim > 1:
            raise RuntimeError(f"repeat_interleave: repeats must be 0-dim or 1-dim tensor, got "
                               f"shape {repeats.shape}")
        counts = repeats.numpy().reshape(-1).astype(np.int64)
        if counts.size not in (1, n):
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along "
                               f"dim, but got repeats.size(0) = {counts.size} and input.size = {n}")
    elif isinstance(repeats, (int, np.integer)):
        counts = np.array([int(repeats)])
    else:
        raise TypeError(f"repeat_interleave: repeats must be an int or an integer Tensor, got "
                        f"{type(repeats).__name__}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    return np.broadcast_to(counts, (n,))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each entry ``repeats`` times along ``dim`` (torch.repeat_interleave): entry i of
    that axis appears ``repeats[i]`` times in a row. ``dim=None`` works on the flattened input.
    ``repeat_interleave(counts)`` alone gives ``arange(len(counts))`` repeated by ``counts``.
    An index along ``dim``, so its VJP scatter-adds the copies back."""
    if repeats is None:
        counts = _repeat_counts(input, input.numel() if input.ndim else 1, np)
        return constant(input.xp.asarray(np.repeat(np.arange(counts.size), counts)))
    if dim is not None and input.ndim == 0:     # as torch: only dim=None for a 0-d tensor
        raise IndexError(f"repeat_interleave: dim {dim} is out of range for a 0-d tensor (use dim=None)")
    x = flatten(input) if dim is None else input
    axis = 0 if dim is None else normalize_axis(dim, x.ndim, "repeat_interleave")[0]
    n = x.shape[axis]
    counts = _repeat_counts(repeats, n, np)
    total = int(counts.sum())
    if output_size is not None and int(output_size) != total:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {total} but got {output_size}")
    index = x.xp.asarray(np.repeat(np.arange(n), counts))
    return getitem(x, (slice(None),) * axis + (index,))
