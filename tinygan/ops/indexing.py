"""Index-driven ops along one axis: gather, scatter, scatter_add (torch's names, shapes and errors).

For an n-d ``index`` and axis d, position p = (p_0, ..., p_{n-1}) of ``index`` addresses
``input[p_0, ..., index[p], ..., p_{n-1}]`` (``index[p]`` in slot d):

- ``gather(input, d, index)[p] = input[..., index[p], ...]``; out.shape = index.shape.
- ``scatter(input, d, index, src)``: a copy of input with ``out[..., index[p], ...] = src[p]``.
- ``scatter_add(input, d, index, src)``: a copy of input with ``src[p]`` *added* there
  (repeated indices add up).

torch's shape rules: the three tensors have the same number of dimensions; ``index.size(k) <=
input.size(k)`` for k != d, and for scatter ``index.size(k) <= src.size(k)`` for every k (only the
leading index-shaped block of src is used). Index values must lie in ``[0, input.size(d))``; the
index must be int64.

gather and scatter_add are each other's adjoints (in the gathered / scattered argument), so the
VJPs close over the two ops and differentiate again:
  gather:      d input = scatter_add(zeros, d, index, g)
  scatter_add: d input = g,                          d src = gather(g, d, index) (zero-padded)
  scatter:     d input = g with the overwritten slots zeroed, d src = gather(g, d, index)
(for scatter with repeated indices torch sends gradient to every src entry, and so does this).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..devices import move, xp_of
from ..tensor import Tensor
from ._util import constant, normalize_axis
from .elementwise import where
from .movement import pad


def _index_array(index, like, op):
    if isinstance(index, Tensor):
        arr = index.data
    else:
        arr = np.asarray(index)
        if arr.dtype.kind in "iu" or arr.size == 0:
            arr = arr.astype(np.int64)
    if arr.dtype != np.int64:
        raise TypeError(f"{op}(): Expected dtype int64 for index, got {arr.dtype}")
    return move(arr, like.device)


def _check(op, input, axis, index, src=None):
    """torch's rules for the shapes and values of ``index`` (and ``src``)."""
    nd = max(input.ndim, 1)
    if max(index.ndim, 1) != nd or (src is not None and max(src.ndim, 1) != nd):
        extra = f" and src {src.shape}" if src is not None else ""
        raise RuntimeError(f"{op}(): index {tuple(index.shape)}, input {input.shape}{extra} must have "
                           "the same number of dimensions")
    ishape = tuple(index.shape) or (1,)
    xshape = input.shape or (1,)
    for k in range(nd):
        if k != axis and ishape[k] > xshape[k]:
            raise RuntimeError(f"{op}(): size does not match at dimension {k}: expected index "
                               f"{list(ishape)} to be no larger than input {list(xshape)} apart "
                               f"from dimension {axis}")
        if src is not None and ishape[k] > (src.shape or (1,))[k]:
            raise RuntimeError(f"{op}(): expected index {list(ishape)} to be no larger than src "
                               f"{list(src.shape)}")
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        n = xshape[axis]
        if lo < 0 or hi >= n:
            raise RuntimeError(f"{op}(): index {lo if lo < 0 else hi} is out of bounds for "
                               f"dimension {axis} with size {n}")


def _grid(index, axis):
    """Advanced-index tuple addressing ``x[..., index[p], ...]`` for every position p of index."""
    xp = xp_of(index)
    shape = index.shape
    parts = []
    for d, n in enumerate(shape):
        if d == axis:
            parts.append(index)
        else:
            parts.append(xp.arange(n).reshape(tuple(n if k == d else 1 for k in range(len(shape)))))
    return tuple(parts)


def _block(src, shape):
    """The leading ``shape`` block of ``src``."""
    return src[tuple(slice(0, n) for n in shape)]


def _prepare(op, input, dim, index, src=None):
    axis = normalize_axis(int(dim), input.ndim, op)[0]
    idx = _index_array(index, input, op)
    _check(op, input, axis, idx, src)
    return axis, idx


def _as_1d(arr):
    return arr.reshape(1) if arr.ndim == 0 else arr


def _pad_to(t, shape):
    if t.shape == tuple(shape):
        return t
    return pad(t, tuple((0, n - m) for m, n in zip(t.shape, shape)))


# ---- gather ---------------------------------------------------------------------------------------
class Gather(Function):
    """out[p] = a[..., index[p], ...]; VJP: scatter_add of g into zeros of a's shape."""
    name = "gather"

    @staticmethod
    def forward(ctx, a, axis, index):
        out = _as_1d(a)[_grid(_as_1d(index), axis)]
        return out.reshape(index.shape)

    @staticmethod
    def vjp(ctx, g):
        a, axis, index = ctx.inputs
        zeros = Tensor._make(g.xp.zeros(a.shape, dtype=g.dtype), None)
        return scatter_add(zeros, axis, constant(index), g), None, None


def gather(input, dim, index, *, sparse_grad=False):
    """Values of ``input`` picked along ``dim`` by ``index`` (int64, same ndim); out.shape =
    index.shape (torch.gather)."""
    if sparse_grad:
        raise NotImplementedError("gather: sparse_grad=True is not supported")
    axis, idx = _prepare("gather", input, dim, index)
    return Gather.apply(input, axis, idx)


# ---- scatter_add ----------------------------------------------------------------------------------
class ScatterAdd(Function):
    """out = a; out[..., index[p], ...] += src[p]. VJP: (g, gather(g, index) padded to src)."""
    name = "scatter_add"

    @staticmethod
    def forward(ctx, a, axis, index, src):
        xp = xp_of(a)
        out = _as_1d(a).copy()
        idx = _as_1d(index)
        xp.add.at(out, _grid(idx, axis), _block(_as_1d(src), idx.shape))   # repeats accumulate
        return out.reshape(a.shape)

    @staticmethod
    def vjp(ctx, g):
        a, axis, index, src = ctx.inputs
        dsrc = _pad_to(gather(g, axis, constant(index)), src.shape) if ctx.needs_input_grad[3] else None
        return g, None, None, dsrc


def scatter_add(input, dim, index, src):
    """A copy of ``input`` with ``src[p]`` added at ``[..., index[p], ...]`` along ``dim``;
    repeated indices accumulate (torch.scatter_add)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    if src.dtype != input.dtype:
        raise RuntimeError(f"scatter_add(): expected self.dtype to be equal to src.dtype "
                           f"({input.dtype} vs {src.dtype})")
    axis, idx = _prepare("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, axis, idx, src)


# ---- scatter --------------------------------------------------------------------------------------
class Scatter(Function):
    """out = a; out[..., index[p], ...] = src[p] (src a Tensor or a number).
    VJP: d a = g with the written slots zeroed; d src = gather(g, index), zero-padded to src."""
    name = "scatter"

    @staticmethod
    def forward(ctx, a, axis, index, src):
        out = _as_1d(a).copy()
        idx = _as_1d(index)
        grid = _grid(idx, axis)
        out[grid] = _block(_as_1d(src), idx.shape) if hasattr(src, "shape") else src
        keep = xp_of(a).ones(out.shape, dtype=bool)
        keep[grid] = False
        ctx.keep = keep.reshape(a.shape)
        return out.reshape(a.shape)

    @staticmethod
    def vjp(ctx, g):
        a, axis, index, src = ctx.inputs
        da = where(constant(ctx.keep), g, 0.0) if ctx.needs_input_grad[0] else None
        dsrc = None
        if isinstance(src, Tensor) and ctx.needs_input_grad[3]:
            dsrc = _pad_to(gather(g, axis, constant(index)), src.shape)
        return da, None, None, dsrc


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src[p]`` (or the number ``value``) written at
    ``[..., index[p], ...]`` along ``dim`` (torch.scatter). Which write wins for a repeated index
    is unspecified in torch; here the last one in C order."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported (use scatter_add)")
    if (src is None) == (value is None):
        raise TypeError("scatter(): give exactly one of src and value")
    if value is not None or not isinstance(src, Tensor):
        value = src if value is None else value
        if isinstance(value, Tensor) or np.ndim(value):
            raise TypeError(f"scatter(): value must be a number, got {type(value).__name__}")
        axis, idx = _prepare("scatter", input, dim, index)
        return Scatter.apply(input, axis, idx, input.xp.asarray(value, dtype=input.dtype).item())
    if src.dtype != input.dtype:
        raise RuntimeError(f"scatter(): expected self.dtype to be equal to src.dtype "
                           f"({input.dtype} vs {src.dtype})")
    axis, idx = _prepare("scatter", input, dim, index, src)
    return Scatter.apply(input, axis, idx, src)


def one_hot(tensor, num_classes=-1):
    """torch.nn.functional.one_hot: int64 class indices (*) -> int64 (*, num_classes), 1 at each
    index and 0 elsewhere; num_classes=-1 infers max + 1. Not differentiable (an integer result)."""
    if not isinstance(tensor, Tensor) or tensor.dtype != np.int64:
        raise RuntimeError(f"one_hot: is only applicable to index tensor of type LongTensor (int64), "
                           f"got {getattr(tensor, 'dtype', type(tensor).__name__)}")
    idx = tensor.data
    xp = xp_of(idx)
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError(f"one_hot: Can not infer total number of classes from empty tensor "
                               f"(shape {tensor.shape})")
        num_classes = int(idx.max()) + 1
    if idx.size and int(idx.min()) < 0:
        raise RuntimeError(f"one_hot: Class values must be non-negative (shape {tensor.shape}, "
                           f"min {int(idx.min())})")
    if idx.size and int(idx.max()) >= num_classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes={num_classes} "
                           f"(max {int(idx.max())})")
    return constant((idx[..., None] == xp.arange(num_classes)).astype(np.int64))
