"""Helpers shared by the op families: lifting Python numbers, broadcasting checks, unbroadcast."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


def lift(value, like: Tensor) -> Tensor:
    """A constant Tensor for a Python/numpy number or array, in ``like``'s dtype and device.

    Python floats take the tensor's float dtype (``x * 2.0`` stays float32); an integer or bool
    tensor combined with a float number becomes float32, as in torch."""
    if isinstance(value, Tensor):
        return value
    xp = like.xp
    dtype = like.dtype
    if dtype.kind != "f" and isinstance(value, float):
        dtype = np.dtype(np.float32)
    elif dtype.kind == "b" and isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        dtype = np.dtype(np.int64)     # torch: bool tensor + Python int -> int64
    if isinstance(value, (bool, int, float, np.number)) or np.ndim(value) == 0:
        return Tensor._make(xp.asarray(value, dtype=dtype), None)
    arr = xp.asarray(value)
    if arr.dtype.kind == "f" and dtype.kind == "f":
        arr = arr.astype(dtype, copy=False)
    return Tensor._make(arr, None)


def lift_pair(a, b):
    """Both operands as Tensors (at least one already is)."""
    if not isinstance(a, Tensor):
        a = lift(a, b)
    elif not isinstance(b, Tensor):
        b = lift(b, a)
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == "f" and kb in "biu":      # torch's promotion: an integer tensor takes the float dtype
        b = Tensor._make(b.data.astype(a.dtype), None)
    elif kb == "f" and ka in "biu":
        a = Tensor._make(a.data.astype(b.dtype), None)
    return a, b


def broadcast_shape(op: str, *shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} "
                         "cannot be broadcast together") from None


def normalize_axis(axis, ndim: int, op: str):
    """None, an int or a sequence of ints -> a sorted tuple of non-negative axes (None: all).

    A 0-d tensor accepts dim 0 and -1, as in torch, and has no axis to reduce: the result is ()."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


def pick_axis(dim, axis):
    """Accept torch's ``dim=`` and numpy's ``axis=`` spellings."""
    if dim is not None and axis is not None and dim != axis:
        raise TypeError("pass either dim or axis, not both")
    return axis if dim is None else dim


def pick_keepdims(keepdim, keepdims):
    return bool(keepdim if keepdims is None else keepdims)


class Diagonal(Function):
    """A fixed diagonal linear map of the first input, ``y = D g`` (D from the other arguments,
    which are constants: a mask, a slope, the x that chose the slopes). Linear and symmetric, so
    its VJP is the same map of the cotangent -- and that differentiates again. Subclasses define
    ``kernel(g, *fixed) -> array``."""

    @classmethod
    def forward(cls, ctx, g, *fixed):
        ctx.fixed = fixed
        return cls.kernel(g, *fixed)

    @classmethod
    def vjp(cls, ctx, gg):
        return (cls.apply(gg, *ctx.fixed),) + (None,) * len(ctx.fixed)


# torch's default floating dtype: integer and bool inputs of floating ops (exp, true division, sin,
# ...) give float32, as torch.get_default_dtype() does out of the box.
DEFAULT_FLOAT = np.dtype(np.float32)


def to_float(x):
    """``x`` itself if it is floating (or not a Tensor), else ``x`` cast to float32 (torch's rule
    for integer and bool inputs of floating ops). No graph: integer tensors never require grad."""
    if isinstance(x, Tensor) and x.dtype.kind in "biu":
        return Tensor._make(x.data.astype(DEFAULT_FLOAT), None)
    return x


def require_float(x, op: str):
    """torch implements activations (gelu, elu, ...) for floating tensors only: say so in one line."""
    if isinstance(x, Tensor) and x.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating tensor, got {x.dtype} (shape {x.shape}); "
                        "cast it with .float()")
    return x


def constant(array) -> Tensor:
    """Wrap an array computed from data (a mask, say) as a graph-free Tensor."""
    return Tensor._make(array, None)
