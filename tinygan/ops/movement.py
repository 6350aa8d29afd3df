"""Shape and data-movement ops: reshape, permute, broadcast, indexing, concatenation, padding, flip.

All are linear; each VJP is the adjoint of the movement (reshape back, inverse permutation,
sum over broadcast axes, scatter for indexing, slicing for concatenation and padding).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..devices import move, xp_of
from ..dtypes import as_dtype
from ..tensor import Tensor
from ._util import normalize_axis


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Reshape(Function):
    name = "reshape"

    @staticmethod
    def forward(ctx, a, shape):
        return a.reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return reshape(g, ctx.inputs[0].shape), None


def reshape(x, *shape):
    """Same values, new shape (one entry may be -1)."""
    shape = _shape_arg(shape)
    known = math.prod(n for n in shape if n != -1)
    if shape.count(-1) > 1 or (-1 not in shape and known != x.numel()) or (
            -1 in shape and (known == 0 or x.numel() % known)):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x.numel()} elements) into shape {shape}")
    if -1 in shape:
        shape = tuple(x.numel() // known if n == -1 else n for n in shape)
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one (torch.flatten); a 0-d tensor becomes shape (1,)."""
    (s,) = normalize_axis(start_dim, x.ndim, "flatten") or (0,)
    (e,) = normalize_axis(end_dim, x.ndim, "flatten") or (0,)
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                           f"for shape {x.shape}")
    if x.ndim == 0:
        return reshape(x, 1)
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


class Permute(Function):
    name = "permute"

    @staticmethod
    def forward(ctx, a, axes):
        return a.transpose(axes)

    @staticmethod
    def vjp(ctx, g):
        return permute(g, tuple(int(i) for i in np.argsort(ctx.inputs[1]))), None


def permute(x, *axes):
    """Reorder the axes: out.shape[i] = x.shape[axes[i]]; the VJP applies the inverse order."""
    axes = _shape_arg(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the axes of shape {x.shape}")
    axes = tuple(a % x.ndim for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, axes)


def swapaxes(x, axis0, axis1):
    axes = list(range(x.ndim))
    axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
    return permute(x, tuple(axes))


transpose = swapaxes  # torch's x.transpose(dim0, dim1)


class BroadcastTo(Function):
    name = "broadcast_to"

    @staticmethod
    def forward(ctx, a, shape):
        xp = xp_of(a)
        return xp.broadcast_to(a, shape)

    @staticmethod
    def vjp(ctx, g):
        return unbroadcast(g, ctx.inputs[0].shape), None


class SumTo(Function):
    """Sum over the axes that broadcasting added or stretched: (..., shape) -> ``shape``.

    The adjoint of ``broadcast_to``: <broadcast_to(y), g> = <y, sum_to(g)>, so each is the
    other's VJP."""
    name = "sum_to"

    @staticmethod
    def forward(ctx, a, shape):
        lead = a.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                          if n == 1 and a.shape[lead + i] != 1)
        return a.sum(axis=axes).reshape(shape) if axes else a.reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return broadcast_to(g, ctx.inputs[0].shape), None


def unbroadcast(g: Tensor, shape: tuple) -> Tensor:
    """``g`` summed back to ``shape`` (the VJP of every broadcasting op); differentiable."""
    shape = tuple(shape)
    return g if g.shape == shape else SumTo.apply(g, shape)


def broadcast_to(x, *shape):
    shape = _shape_arg(shape)
    try:
        target = tuple(np.broadcast_shapes(x.shape, shape))
    except ValueError:
        target = None
    if target != shape:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    if shape == x.shape:
        return x
    return BroadcastTo.apply(x, shape)


def expand(x, *sizes):
    """torch's expand: -1 keeps a size."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
    return broadcast_to(x, shape)


def unsqueeze(x, dim):
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = normalize_axis(dim, x.ndim, "squeeze")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


# ---- indexing ------------------------------------------------------------------------------------
def normalize_index(index):
    """Tensors and lists inside an index become arrays (numpy advanced indexing semantics)."""
    def one(i):
        if isinstance(i, Tensor):
            return i.data
        if isinstance(i, list):
            return np.asarray(i)
        return i
    return tuple(one(i) for i in index) if isinstance(index, tuple) else one(index)


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in parts)


class GetItem(Function):
    """out = a[index]; VJP: scatter-add g into zeros of a's shape (repeated indices add up)."""
    name = "getitem"

    @staticmethod
    def forward(ctx, a, index):
        ctx.index = index
        return a[index]

    @staticmethod
    def vjp(ctx, g):
        return IndexScatter.apply(g, ctx.index, ctx.inputs[0].shape), None


class IndexScatter(Function):
    """out = zeros(shape); out[index] += g: the adjoint of getitem. Its own VJP is getitem."""
    name = "index_scatter"

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        xp = xp_of(g)
        out = xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):           # a basic index never repeats an element: plain assignment
            out[index] = g
            return out
        # Advanced index: flat positions of the selected elements, then one bincount sums
        # repeated positions (numpy's unbuffered ufunc.at does the same an order of magnitude slower).
        flat = xp.arange(out.size).reshape(shape)[index]
        summed = xp.bincount(flat.ravel(), weights=xp.broadcast_to(g, flat.shape).ravel(),
                             minlength=out.size)
        return summed.astype(g.dtype).reshape(shape)

    @staticmethod
    def vjp(ctx, g):
        return GetItem.apply(g, ctx.index), None, None


def getitem(x, index):
    index = normalize_index(index)
    try:
        return GetItem.apply(x, index)
    except IndexError as exc:
        raise IndexError(f"getitem: index {index!r} is invalid for a tensor of shape {x.shape}: {exc}") from None


# ---- joining, padding, flipping ------------------------------------------------------------------
class Concatenate(Function):
    name = "concatenate"

    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        xp = xp_of(arrays[0])
        return xp.concatenate(arrays, axis=axis)

    @staticmethod
    def vjp(ctx, g):
        grads, start = [], 0
        for t, need in zip(ctx.inputs, ctx.needs_input_grad):
            n = t.shape[ctx.axis]
            if need:
                index = (slice(None),) * ctx.axis + (slice(start, start + n),)
                grads.append(getitem(g, index))
            else:
                grads.append(None)
            start += n
        return tuple(grads)


def concatenate(tensors, axis=0, *, dim=None):
    """Join along an existing axis (torch.cat); skip connections and U-Nets use it."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    if tensors[0].ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated (use stack)")
    axis = normalize_axis(axis if dim is None else dim, tensors[0].ndim, "concatenate")[0]
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(ref) or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref)) if i != axis):
            raise ValueError(f"concatenate: shapes {[x.shape for x in tensors]} differ outside axis {axis}")
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis=0, *, dim=None):
    """Join along a new axis."""
    tensors = list(tensors)
    if len({t.shape for t in tensors}) > 1:
        raise ValueError(f"stack: all shapes must be equal, got {[t.shape for t in tensors]}")
    axis = axis if dim is None else dim
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis % (tensors[0].ndim + 1))


class Pad(Function):
    """Constant padding with numpy's ((before, after), ...) per axis; VJP: the central slice."""
    name = "pad"

    @staticmethod
    def forward(ctx, a, pad_width, value):
        ctx.pad_width = pad_width
        xp = xp_of(a)
        return xp.pad(a, pad_width, mode="constant", constant_values=value)

    @staticmethod
    def vjp(ctx, g):
        index = tuple(slice(b, n - e) for (b, e), n in zip(ctx.pad_width, g.shape))
        return getitem(g, index), None, None


def pad(x, pad_width, value=0.0):
    """Zero (or ``value``) padding; ``pad_width`` is numpy's: an int, a (before, after) pair, or
    one pair per axis. (``tinygan.nn.functional.pad`` takes torch's flat last-axis-first tuple.)"""
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: negative padding {pad_width} for shape {x.shape} (use slicing to crop)")
    return Pad.apply(x, tuple((int(b), int(e)) for b, e in pw), value)


class Flip(Function):
    name = "flip"

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        xp = xp_of(a)
        return xp.flip(a, axis=axes)

    @staticmethod
    def vjp(ctx, g):
        return flip(g, ctx.axes), None


def flip(x, dims=None, *, axis=None):
    axes = normalize_axis(dims if axis is None else axis, x.ndim, "flip")
    return Flip.apply(x, axes)


# ---- dtype and device ----------------------------------------------------------------------------
class AsType(Function):
    name = "astype"

    @staticmethod
    def forward(ctx, a, dtype):
        return a.astype(dtype)

    @staticmethod
    def vjp(ctx, g):
        return astype(g, ctx.inputs[0].dtype), None


def astype(x, dtype):
    dtype = as_dtype(dtype)
    if dtype == x.dtype:
        return x
    if x.requires_grad and dtype.kind != "f":
        return Tensor._make(x.data.astype(dtype), None)   # integer results carry no gradient
    return AsType.apply(x, dtype)


class ToDevice(Function):
    name = "to_device"

    @staticmethod
    def forward(ctx, a, device):
        return move(a, device)

    @staticmethod
    def vjp(ctx, g):
        return to_device(g, ctx.inputs[0].device), None


def to_device(x, device):
    return x if x.device == device else ToDevice.apply(x, device)


class Clone(Function):
    name = "clone"
    forward = staticmethod(lambda ctx, a: a.copy())
    vjp = staticmethod(lambda ctx, g: (g,))


def clone(x):
    return Clone.apply(x)
