"""Pooling with PyTorch's signatures: max (with indices, dilation, ceil_mode), max_unpool, average
(ceil_mode, divisor_override) and adaptive average pooling, in 1-D and 2-D.

Every one of them is a linear operator applied with :func:`.linear.apply_linear`, so its VJP is
the operator's adjoint and differentiates again:

* avg_pool / adaptive_avg_pool: fixed window averages (:class:`tinygan.linops.AvgPool`,
  :class:`tinygan.linops.AdaptiveAvgPool`).
* max_pool: y = G x with G the gather of each window's argmax (:class:`tinygan.linops.PlaneGather`),
  the argmax read from x's values. x -> y is piecewise linear and G is its Jacobian, so the
  gradient is G^T g (g scattered to the argmaxes) and the second derivative is 0, as in PyTorch.
  Window scan order and ties are PyTorch's: the first maximum in row-major window order wins, a
  NaN wins over numbers (the last NaN), padding counts as -inf and is never chosen.
* max_unpool: y = S x with S the scatter of x to ``indices`` (G^T); where indices repeat within a
  plane the last write wins, as in PyTorch's loop. (PyTorch's gradient then gathers for every
  duplicate, which is not the derivative of its forward; here the gradient is S^T, the true one.)

Shapes: 2-D ops take (N, C, H, W) or unbatched (C, H, W); 1-D ops (N, C, L) or (C, L).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import linops
from ..linops.im2col import sliding_windows
from ..linops.pool import PoolingError, pool_output_shape
from ..tensor import Tensor
from .linear import apply_linear
from .elementwise import where
from .movement import reshape


def _tuple(value, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of 1 or ``n`` ints -> an ``n``-tuple (PyTorch's _pair / _single)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        items = tuple(value)
    except TypeError:
        items = None
    if items is None or len(items) not in (1, n) or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items):
        raise PoolingError(f"{op}: {name} must either be a single int, or a tuple of {n} ints, "
                           f"got {value!r}")
    return tuple(int(v) for v in items) * (n // len(items))


def _batched(input, spatial: int, op: str):
    """(input viewed with a batch axis, whether one was added); PyTorch's allowed ranks."""
    ok = input.ndim in (spatial + 1, spatial + 2) and all(n > 0 for n in input.shape[1:])
    if not ok:
        raise PoolingError(f"{op}: Expected {spatial + 1}D or {spatial + 2}D (batch mode) tensor "
                           f"with optional 0 dim batch size for input, but got: {input.shape}")
    if input.ndim == spatial + 1:
        return reshape(input, (1,) + input.shape), True
    return input, False


def _unbatch(t, added: bool):
    return reshape(t, t.shape[1:]) if added else t


# ---- max pooling -------------------------------------------------------------------------------
def max_pool_indices(x, kernel, stride, padding, dilation, ceil_mode, op="max_pool2d"):
    """Flat per-plane argmax indices (N, C, Ho, Wo) of 2-D max pooling of an array (N, C, H, W)."""
    xp = linops.array_module(x)
    n, c, h, w = x.shape
    ho, wo = pool_output_shape(x.shape, kernel, stride, padding, dilation, ceil_mode, op)
    low = -np.inf if x.dtype.kind == "f" else (np.iinfo(x.dtype).min if x.dtype.kind in "iu"
                                              else False)
    extra = [max(0, (o - 1) * s + (k - 1) * d + 1 - size - 2 * p) for o, s, k, d, size, p in
             zip((ho, wo), stride, kernel, dilation, (h, w), padding)]
    xpad = xp.pad(x, ((0, 0), (0, 0), (padding[0], padding[0] + extra[0]),
                      (padding[1], padding[1] + extra[1])), constant_values=low)
    win = sliding_windows(xpad, kernel, stride, dilation)[:, :, :ho, :wo]   # (N, C, Ho, Wo, k1, k2)
    taps = kernel[0] * kernel[1]
    win = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c, taps, ho, wo)
    # Geometry of each tap: its input row / column and whether it lies inside the input.
    rows = (np.arange(ho) * stride[0] - padding[0])[:, None] + np.arange(kernel[0]) * dilation[0]
    cols = (np.arange(wo) * stride[1] - padding[1])[:, None] + np.arange(kernel[1]) * dilation[1]
    inside = ((rows >= 0) & (rows < h)).T[:, None, :, None] & ((cols >= 0) & (cols < w)).T[None, :, None, :]
    flat = (rows.T[:, None, :, None] * w + cols.T[None, :, None, :])
    inside = xp.asarray(inside.reshape(taps, ho, wo))
    flat = xp.asarray(np.clip(flat, 0, h * w - 1).reshape(taps, ho, wo))
    if x.dtype.kind == "f":
        nan = xp.isnan(win) & inside
        cand = xp.where(inside & ~nan, win, xp.asarray(-np.inf, dtype=x.dtype))
    else:
        nan = None
        cand = xp.where(inside, win, xp.asarray(low, dtype=x.dtype))
    # A window with no tap inside the input (possible with dilation) is -inf in PyTorch, with
    # index (first row >= 0) * W + (first column >= 0), which may lie outside the plane.
    empty = ~inside.any(axis=0)
    best = cand.max(axis=2, keepdims=True)
    choice = xp.argmax((cand == best) & inside, axis=2)            # the first maximum
    if nan is not None:
        last_nan = taps - 1 - xp.argmax(nan[:, :, ::-1], axis=2)     # the last NaN wins
        choice = xp.where(nan.any(axis=2), last_nan, choice)
    index = xp.take_along_axis(xp.broadcast_to(flat, win.shape), choice[:, :, None], axis=2)[:, :, 0]
    if bool(empty.any()):
        first = [np.where(r[:, :1] < 0, r[:, :1] + (-r[:, :1] + d - 1) // d * d, r[:, :1])[:, 0]
                 for r, d in ((rows, dilation[0]), (cols, dilation[1]))]
        index = xp.where(empty, xp.asarray(first[0][:, None] * w + first[1][None, :]), index)
    return index, empty


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """torch.nn.functional.max_pool2d: (N, C, H, W) -> (N, C, Ho, Wo) window maxima,
    Ho = floor_or_ceil((H + 2p - d(k-1) - 1) / s) + 1. With ``return_indices`` also the int64
    flat index h * W + w of each maximum in its (H, W) plane (the input to max_unpool2d)."""
    x, added = _batched(input, 2, "max_pool2d")
    kernel = _tuple(kernel_size, 2, "kernel_size", "max_pool2d")
    stride = kernel if stride is None or (not isinstance(stride, numbers.Integral)
                                          and len(stride) == 0) else \
        _tuple(stride, 2, "stride", "max_pool2d")
    padding = _tuple(padding, 2, "padding", "max_pool2d")
    dilation = _tuple(dilation, 2, "dilation", "max_pool2d")
    index, empty = max_pool_indices(x.data, kernel, stride, padding, dilation, bool(ceil_mode))
    if bool(empty.any()):     # windows outside the input: -inf (gradient 0), PyTorch's index
        keep = x.xp.broadcast_to(~empty, index.shape)
        out = apply_linear(linops.PlaneGather(x.shape, x.xp.where(keep, index, 0), keep,
                                              dtype=x.dtype), x)
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        out = where(x.xp.broadcast_to(empty, index.shape), Tensor._make(
            x.xp.asarray(low, dtype=x.dtype), None), out)
    else:
        out = apply_linear(linops.PlaneGather(x.shape, index, dtype=x.dtype), x)
    if return_indices:
        return _unbatch(out, added), _unbatch(Tensor._make(index, None), added)
    return _unbatch(out, added)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """torch.nn.functional.max_pool1d: (N, C, L) -> (N, C, Lo); indices are positions in L."""
    x, added = _batched(input, 1, "max_pool1d")
    one = lambda v, name: None if v is None else (1,) + _tuple(v, 1, name, "max_pool1d")  # noqa: E731
    stride = None if stride is None or (not isinstance(stride, numbers.Integral)
                                        and len(stride) == 0) else one(stride, "stride")
    x4 = reshape(x, x.shape[:2] + (1, x.shape[2]))
    res = max_pool2d(x4, one(kernel_size, "kernel_size"), stride, (0,) + _tuple(padding, 1, "padding", "max_pool1d"),
                     one(dilation, "dilation"), ceil_mode, return_indices)
    outs = res if return_indices else (res,)
    outs = tuple(_unbatch(reshape(t, t.shape[:2] + t.shape[3:]), added) for t in outs)
    return outs if return_indices else outs[0]


def _unpool_output_size(shape, kernel, stride, padding, output_size):
    """PyTorch's _unpool_output_size: the default (n-1)s + k - 2p, or a checked output_size."""
    spatial = len(kernel)
    default = [(shape[-spatial + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
               for d in range(spatial)]
    if output_size is None:
        return tuple(default)
    output_size = tuple(int(v) for v in output_size)
    if len(output_size) == spatial + 2:
        output_size = output_size[2:]
    if len(output_size) != spatial:
        raise ValueError(f"max_unpool: output_size should be a sequence containing {spatial} or "
                         f"{spatial + 2} elements, but it has a length of '{len(output_size)}'")
    for d in range(spatial):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < output_size[d] < hi:
            raise ValueError(f'max_unpool: invalid output_size "{output_size}" (dim {d} must be '
                             f'between {lo} and {hi})')
    return output_size


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch.nn.functional.max_unpool2d: (N, C, H, W) values and their int64 per-plane flat
    ``indices`` (as max_pool2d returns them) -> zeros (N, C, Ho, Wo) with each value written at
    its index; Ho = (H - 1) s - 2p + k unless ``output_size`` picks one of the sizes that pool
    back to H."""
    kernel = _tuple(kernel_size, 2, "kernel_size", "max_unpool2d")
    stride = kernel if stride is None else _tuple(stride, 2, "stride", "max_unpool2d")
    padding = _tuple(padding, 2, "padding", "max_unpool2d")
    size = _unpool_output_size(input.shape, kernel, stride, padding, output_size)
    return _unpool(input, indices, size, "max_unpool2d")


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch.nn.functional.max_unpool1d on (N, C, L) or (C, L)."""
    kernel = _tuple(kernel_size, 1, "kernel_size", "max_unpool1d")
    stride = kernel if stride is None else _tuple(stride, 1, "stride", "max_unpool1d")
    padding = _tuple(padding, 1, "padding", "max_unpool1d")
    size = _unpool_output_size(input.shape, kernel, stride, padding, output_size)
    return _unpool(input, indices, size, "max_unpool1d")


def _unpool(input, indices, size, op):
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype != np.int64:
        raise TypeError(f"{op}: elements in indices should be type int64 but got: {idx.dtype}")
    if tuple(idx.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Expected shape of indices to be same as that of the input tensor "
                         f"({input.shape}) but got indices tensor with shape: {tuple(idx.shape)}")
    x, added = _batched(input, len(size), op)
    idx = idx.reshape(x.shape)
    plane = int(np.prod(size))
    xp = linops.array_module(idx)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        bad = int(idx.max()) if int(idx.max()) >= plane else int(idx.min())
        raise RuntimeError(f"{op}: Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(str(s) for s in size)})")
    # Last write wins within a plane: keep only the last occurrence of each target.
    flat = (idx.reshape(x.shape[0] * x.shape[1], -1)
            + xp.arange(x.shape[0] * x.shape[1])[:, None] * plane).ravel()
    _, first_from_end = xp.unique(flat[::-1], return_index=True)
    keep = xp.zeros(flat.size, dtype=bool)
    keep[flat.size - 1 - first_from_end] = True
    gather = linops.PlaneGather(x.shape[:2] + tuple(size), idx, keep.reshape(idx.shape),
                                dtype=x.dtype)
    return _unbatch(apply_linear(gather.T, x), added)


# ---- average pooling ---------------------------------------------------------------------------
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch.nn.functional.avg_pool2d: (N, C, H, W) -> (N, C, Ho, Wo) window means (see
    :class:`tinygan.linops.AvgPool` for the divisor); VJP = the operator's adjoint."""
    x, added = _batched(input, 2, "avg_pool2d")
    kernel = _tuple(kernel_size, 2, "kernel_size", "avg_pool2d")
    stride = None if stride is None or (not isinstance(stride, numbers.Integral)
                                        and len(stride) == 0) else \
        _tuple(stride, 2, "stride", "avg_pool2d")
    op = linops.AvgPool(x.shape, kernel, stride, _tuple(padding, 2, "padding", "avg_pool2d"),
                        count_include_pad, dtype=x.dtype, ceil_mode=ceil_mode,
                        divisor_override=divisor_override)
    return _unbatch(apply_linear(op, x), added)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """torch.nn.functional.avg_pool1d: (N, C, L) -> (N, C, Lo)."""
    x, added = _batched(input, 1, "avg_pool1d")
    stride = None if stride is None or (not isinstance(stride, numbers.Integral)
                                        and len(stride) == 0) else \
        _tuple(stride, 1, "stride", "avg_pool1d")
    op = linops.AvgPool(x.shape, _tuple(kernel_size, 1, "kernel_size", "avg_pool1d"), stride,
                        _tuple(padding, 1, "padding", "avg_pool1d"), count_include_pad,
                        dtype=x.dtype, ceil_mode=ceil_mode)
    return _unbatch(apply_linear(op, x), added)


def _adaptive(input, output_size, spatial: int, op: str):
    x, added = _batched(input, spatial, op)
    items = (output_size,) * spatial if output_size is None or isinstance(
        output_size, numbers.Integral) else tuple(output_size)
    if len(items) != spatial:
        raise ValueError(f"{op}: output_size must be an int or {spatial} ints (or None), "
                         f"got {output_size!r}")
    size = tuple(n if s is None else int(s) for s, n in zip(items, x.shape[2:]))
    if min(size) < 0:
        raise PoolingError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {size}")
    return _unbatch(apply_linear(linops.AdaptiveAvgPool(x.shape, size, dtype=x.dtype), x), added)


def adaptive_avg_pool2d(input, output_size):
    """torch.nn.functional.adaptive_avg_pool2d: (N, C, H, W) -> (N, C, *output_size), output
    (i, j) the mean over rows [floor(iH/Ho), ceil((i+1)H/Ho)) and the same for columns; a None in
    ``output_size`` keeps that input size."""
    return _adaptive(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input, output_size):
    """torch.nn.functional.adaptive_avg_pool1d: (N, C, L) -> (N, C, output_size)."""
    return _adaptive(input, output_size, 1, "adaptive_avg_pool1d")
