"""The "numpy" backend: the convolution kernels as im2col + one GEMM per group, tuned for speed.

Same contract and index math as :mod:`tinygan.backends.reference` (the spec, tested against it):
``conv2d_fwd`` gathers the windows of the zero-padded input into a matrix with the shared
im2col view (:func:`~tinygan.backends.reference.sliding_windows`) and multiplies it by the
weight, one GEMM per group::

    cols[(g, c, r, t), pixel(n, i, j)] = xpad[n, g*Cg + c, sh*i + dh*r, sw*j + dw*t]
    y_g (Og, pixels) = w_g (Og, Cg*R*S) @ cols_g (Cg*R*S, pixels)

``conv2d_dgrad`` is the adjoint in x: ``cols = w_g^T @ dy_g``, then col2im
(:func:`~tinygan.backends.reference.fold_windows`) adds every column back onto its window and
the padding is cropped; padded rows no window reaches stay zero (the ``output_padding`` of the
equivalent transpose conv). ``conv2d_wgrad`` is the adjoint in w: ``dw_g = dy_g @ cols_g^T``.

What makes it fast (measurements: benchmarks/README.md, "NumPy backend"):

* channel-major layouts: channels outermost, so a group's rows of ``cols`` are one block and one
  ``matmul`` over a leading group axis is the one GEMM per group. The pixel axes are batch-last
  ``(C, H, W, N)`` when the output plane is small (``Ho*Wo < N``), else batch-outer
  ``(C, N, H, W)``; the NCHW <-> CHWN transposes run in L1-sized tiles.
* large intermediates (cols, the padded input, the padded gradient) live in per-thread scratch
  buffers reused between calls; nothing returned to the caller aliases them.
* batch norm and the pointwise kernels come from :mod:`.numpy_norm` and :mod:`.numpy_pointwise`
  (in-place updates, fewer passes), the pairwise L1 distances from :mod:`.numpy_distance`.
"""
from __future__ import annotations

import threading

import numpy as np

from .reference import fold_windows, sliding_windows

__all__ = ["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad", "clear_workspace", "matmul"]

# Bytes one transpose tile reads on its strided side: ~L1-sized (best of 4-64 KB, measured).
_TILE_BYTES = 32 * 1024

_tls = threading.local()


def _scratch(slot: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array backed by a reusable per-thread buffer.

    Only for intermediates that never escape a kernel; each ``slot`` holds one live array.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    bufs = _tls.__dict__.setdefault("bufs", {})
    buf = bufs.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = np.empty(max(nbytes, 64), np.uint8)
        bufs[slot] = buf
    return buf[:nbytes].view(dtype).reshape(shape)


def clear_workspace() -> None:
    """Free this thread's scratch buffers (they grow to the largest layer seen)."""
    _tls.__dict__.pop("bufs", None)


# --- channel-major layouts ---------------------------------------------------------------------

def _batch_last(n: int, ho: int, wo: int) -> bool:
    """Pixel order for a conv with output plane (Ho, Wo): batch-last when that is the longer run."""
    return n > ho * wo


def _cm_shape(c: int, n: int, h: int, w: int, bl: bool) -> tuple:
    return (c, h, w, n) if bl else (c, n, h, w)


def _spatial_axes(bl: bool) -> tuple:
    """The (H, W) axes of a channel-major array."""
    return (1, 2) if bl else (2, 3)


def _hw(bl: bool, rows: slice, cols: slice) -> tuple:
    """Index selecting spatial ``rows``/``cols`` of a channel-major array."""
    return (slice(None), rows, cols) if bl else (slice(None), slice(None), rows, cols)


def _tiles(c: int, h: int, row_bytes: int):
    """(channel slice, row slice) pairs covering (C, H) whose strided side is ~_TILE_BYTES."""
    rows = max(1, _TILE_BYTES // max(row_bytes, 1))
    if h == 0:
        return
    if rows >= h:  # several whole channels per tile
        for a in range(0, c, rows // h):
            yield slice(a, a + rows // h), slice(None)
    else:
        for a in range(c):
            for h0 in range(0, h, rows):
                yield slice(a, a + 1), slice(h0, h0 + rows)


def _to_channel_major(x: np.ndarray, out: np.ndarray, bl: bool) -> None:
    """Copy ``x`` (N, C, H, W) into the channel-major view ``out`` (any strides)."""
    n, c, h, w = x.shape
    if not bl:  # (C, N, H, W): runs of W elements, a plain copy is fine
        out[...] = x.transpose(1, 0, 2, 3)
        return
    for cs, hs in _tiles(c, h, w * n * x.itemsize):
        out[cs, hs] = x[:, cs, hs].transpose(1, 2, 3, 0)


def _to_nchw(a: np.ndarray, bl: bool) -> np.ndarray:
    """A new C-contiguous (N, C, H, W) copy of the channel-major ``a`` (any strides). Always a
    copy: ``a`` is scratch memory (``ascontiguousarray`` could hand back a view of it)."""
    if not bl:
        return a.transpose(1, 0, 2, 3).copy()
    c, h, w, n = a.shape
    out = np.empty((n, c, h, w), a.dtype)
    for cs, hs in _tiles(c, h, w * n * a.itemsize):
        out[:, cs, hs] = a[cs, hs].transpose(3, 0, 1, 2)
    return out


# --- im2col ------------------------------------------------------------------------------------

def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _reach(out: int, k: int, s: int, d: int) -> int:
    """Padded rows (or columns) some window reaches: ``s*(out-1) + d*(k-1) + 1``."""
    return s * (out - 1) + d * (k - 1) + 1


def _im2col(x, kernel, out_hw, stride, padding, dilation, bl: bool) -> np.ndarray:
    """x (N, C, H, W) -> cols (C*R*S, pixels) in scratch (see the module docstring)."""
    n, c, h, w = x.shape
    (r, s), (ho, wo), (sh, sw), (ph, pw), (dh, dw) = kernel, out_hw, stride, padding, dilation
    # Zero-padded copy, keeping only the rows/cols a window reaches: when H + 2p - d(k-1) - 1 is
    # not a multiple of s the last ones are never read. (Huge padding may reach no input at all.)
    hn, wn = _reach(ho, r, sh, dh), _reach(wo, s, sw, dw)
    hi, wi = max(0, min(h, hn - ph)), max(0, min(w, wn - pw))
    xp = _scratch("xp", _cm_shape(c, n, hn, wn, bl), x.dtype)
    xp[_hw(bl, slice(0, ph), slice(None))] = 0  # zero only the border ...
    xp[_hw(bl, slice(ph + hi, None), slice(None))] = 0
    xp[_hw(bl, slice(None), slice(0, pw))] = 0
    xp[_hw(bl, slice(None), slice(pw + wi, None))] = 0
    _to_channel_major(x[:, :, :hi, :wi], xp[_hw(bl, slice(ph, ph + hi), slice(pw, pw + wi))], bl)

    # the window view (C, Ho, Wo, N, R, S) or (C, N, Ho, Wo, R, S), copied as rows (c, r, t)
    windows = sliding_windows(xp, (r, s), stride, dilation, _spatial_axes(bl))
    windows = windows.transpose(0, 4, 5, 1, 2, 3)
    cols = _scratch("cols", windows.shape, x.dtype)
    cols[...] = windows
    return cols.reshape(c * r * s, n * ho * wo)


def _grouped(mat: np.ndarray, groups: int) -> np.ndarray:
    """(G*a, b) -> (G, a, b) view: a group's channels are one contiguous block of rows."""
    return mat.reshape(groups, mat.shape[0] // groups, mat.shape[1])


# --- kernels -----------------------------------------------------------------------------------

def conv2d_fwd(x, w, stride, padding, dilation, groups):
    """Cross-correlation ``y = conv2d(x, w)``: x (N, C, H, W), w (O, C/G, R, S) -> y (N, O, Ho, Wo).

    ``Ho = (H + 2ph - dh(R-1) - 1) // sh + 1`` (likewise ``Wo``). Its adjoint in x is
    conv2d_dgrad, in w conv2d_wgrad. It is also conv_transpose2d's input gradient.
    """
    assert x.ndim == 4 and w.ndim == 4 and x.dtype == w.dtype
    n, c, h, wd = x.shape
    o, cg, r, s = w.shape
    assert c == cg * groups and o % groups == 0
    ho = _out_size(h, r, stride[0], padding[0], dilation[0])
    wo = _out_size(wd, s, stride[1], padding[1], dilation[1])
    bl = _batch_last(n, ho, wo)
    cols = _grouped(_im2col(x, (r, s), (ho, wo), stride, padding, dilation, bl), groups)
    y = _scratch("gemm", (groups, o // groups, n * ho * wo), x.dtype)
    # One GEMM per group (matmul loops over the leading group axis, one BLAS call each).
    np.matmul(w.reshape(groups, o // groups, cg * r * s), cols, out=y)
    return _to_nchw(y.reshape(_cm_shape(o, n, ho, wo, bl)), bl)


def conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups):
    """Input gradient: dy (N, O, Ho, Wo), w (O, C/G, R, S) -> dx of shape ``x_shape`` (N, C, H, W).

    The adjoint of ``x -> conv2d_fwd(x, w)``; also conv_transpose2d's forward (its
    ``output_padding`` is implied by ``x_shape``).
    """
    assert dy.ndim == 4 and w.ndim == 4 and dy.dtype == w.dtype
    n, c, h, wd = x_shape
    o, cg, r, s = w.shape
    _, _, ho, wo = dy.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    assert c == cg * groups and dy.shape[:2] == (n, o)
    bl = _batch_last(n, ho, wo)
    dym = _scratch("dy", _cm_shape(o, n, ho, wo, bl), dy.dtype)
    _to_channel_major(dy, dym, bl)
    cols = _scratch("cols", (groups, cg * r * s, n * ho * wo), dy.dtype)
    w_t = w.reshape(groups, o // groups, cg * r * s).transpose(0, 2, 1)  # BLAS reads it transposed
    np.matmul(w_t, _grouped(dym.reshape(o, -1), groups), out=cols)
    cols = cols.reshape((c, r, s) + _cm_shape(c, n, ho, wo, bl)[1:])
    # col2im: tap (r, t) of output pixel (i, j) lands on padded pixel (sh*i + dh*r, sw*j + dw*t),
    # one strided-slice add per tap (no zero-inserted dy is built). Rows past the last window's
    # reach (output_padding) just stay zero.
    hp = max(_reach(ho, r, sh, dh), ph + h)
    wp = max(_reach(wo, s, sw, dw), pw + wd)
    dxp = _scratch("xp", _cm_shape(c, n, hp, wp, bl), dy.dtype)
    dxp.fill(0)
    fold_windows(cols.transpose(0, 3, 4, 5, 1, 2), dxp, stride, dilation, _spatial_axes(bl))
    # Crop the padding: the adjoint of zero-padding.
    return _to_nchw(dxp[_hw(bl, slice(ph, ph + h), slice(pw, pw + wd))], bl)


def conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups):
    """Weight gradient: x (N, C, H, W), dy (N, O, Ho, Wo) -> dw of shape ``w_shape`` (O, C/G, R, S).

    The adjoint of ``w -> conv2d_fwd(x, w)``. conv_transpose2d's weight gradient is this with x
    and dy swapped (its output gradient plays x, its input plays dy).
    """
    assert x.ndim == 4 and dy.ndim == 4 and x.dtype == dy.dtype
    n, c, _, _ = x.shape
    o, cg, r, s = w_shape
    _, _, ho, wo = dy.shape
    assert c == cg * groups and dy.shape[:2] == (n, o)
    bl = _batch_last(n, ho, wo)
    cols = _grouped(_im2col(x, (r, s), (ho, wo), stride, padding, dilation, bl), groups)
    dym = _scratch("dy", _cm_shape(o, n, ho, wo, bl), dy.dtype)
    _to_channel_major(dy, dym, bl)
    dw = np.empty((groups, o // groups, cg * r * s), x.dtype)
    # Contract over the long pixel axis: (Og, P) @ (P, Cg*R*S); BLAS reads cols transposed.
    np.matmul(_grouped(dym.reshape(o, -1), groups), cols.transpose(0, 2, 1), out=dw)
    return dw.reshape(o, cg, r, s)


def matmul(a, b):
    """``a @ b``: (..., m, k) @ (..., k, n) with numpy's broadcasting of the leading axes. An inner
    dimension k = 1 (an outer product: the input gradient of a Linear with one output, D's last
    layer) is a broadcast multiply -- the same single products, ~10x faster than numpy's matmul,
    which takes a non-BLAS loop for k = 1."""
    if a.shape[-1] == 1:
        return a * b
    return a @ b


from .numpy_distance import cdist_l1, cdist_l1_vjp  # noqa: F401,E402
from .numpy_norm import batchnorm_bwd, batchnorm_fwd  # noqa: F401,E402
from .numpy_pointwise import (adam_update, bias_add, channel_sum, leaky_relu_bwd,  # noqa: F401,E402
                              keep_mask, leaky_relu_fwd, masked_scale)
