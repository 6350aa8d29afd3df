"""Triton backend (device "cuda"): launches the Triton kernels of tinygan/kernels/*.py.

Same contract as :mod:`tinygan.backends.reference` (the spec; tested
against it): conv2d_fwd, conv2d_dgrad, conv2d_wgrad, batchnorm_fwd, batchnorm_bwd, float32 and
float64, C-contiguous outputs.

Arrays: on a GPU the arguments are CuPy arrays; they reach the kernels as torch tensors through
DLPack (``torch.from_dlpack``: no copy) and outputs are allocated with CuPy, so what comes back
is a CuPy array from CuPy's memory pool. Under ``TRITON_INTERPRET=1`` (CI without a GPU) the
arguments are numpy arrays, shared with torch CPU tensors through ``torch.from_numpy``, and
the results are numpy arrays. torch and triton are imported here only, and this module is
imported only when the registry first needs it (never by ``import tinygan``).

Precision: float32 GEMM tiles use ``input_precision="ieee"`` (true fp32 FMAs, no TF32).
``set_input_precision("tf32")`` switches to TF32 for an explicitly labelled benchmark row.

Tiles and grids are chosen here (the kernel modules document the tiling itself):

* conv: BM x BN output tiles, BM = 64 (32 when that leaves fewer programs than SMs), BN = the
  next power of two >= the tile's channel count, clamped to [16, 64] for ``tl.dot`` (16 is its
  minimum) -- a layer with fewer than 16 channels on the N side (the 1-channel dgrad of
  DCGAN's first layer), and float64, use the FMA path with a narrow BN instead.
* wgrad: the pixel reduction is split so that about 2 x SMs programs run (each split >= 256
  pixels); the partials are summed with one ``torch.sum`` (fixed order: deterministic).
* batch norm: SPLITS chunks per channel so that C * SPLITS is about 4 x SMs.
"""
from __future__ import annotations

import math
import os

import numpy as np

from . import numpy_norm

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")

try:
    import torch
    import triton

    from tinygan.kernels import batchnorm as _bn
    from tinygan.kernels import conv_dgrad as _dgrad
    from tinygan.kernels import conv_fwd as _fwd
    from tinygan.kernels import conv_wgrad as _wgrad
except ImportError as exc:  # pragma: no cover - depends on the machine
    AVAILABLE, UNAVAILABLE_REASON = False, f"needs torch and triton ({exc})"
else:
    if INTERPRET:
        AVAILABLE, UNAVAILABLE_REASON = True, None
    elif not torch.cuda.is_available():
        AVAILABLE, UNAVAILABLE_REASON = False, "torch sees no CUDA GPU (and TRITON_INTERPRET is not set)"
    else:
        AVAILABLE, UNAVAILABLE_REASON = True, None

__all__ = ["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad", "batchnorm_fwd", "batchnorm_bwd",
           "set_input_precision"]

_INPUT_PRECISION = "ieee"
# Streaming multiprocessors assumed under the interpreter (only shapes the split heuristics).
INTERPRETER_SMS = 4


def set_input_precision(mode: str) -> str:
    """"ieee" (default: fp32 FMAs) or "tf32" (tensor cores, ~1e-3 relative error) for the float32
    conv GEMMs; returns the previous mode. Only benchmarks should ask for TF32."""
    global _INPUT_PRECISION
    if mode not in ("ieee", "tf32"):
        raise ValueError(f"input precision must be 'ieee' or 'tf32', got {mode!r}")
    previous, _INPUT_PRECISION = _INPUT_PRECISION, mode
    return previous


# --- arrays ------------------------------------------------------------------------------------

def _xp(a):
    if isinstance(a, np.ndarray):
        return np
    import cupy
    return cupy


def _contiguous(a):
    return _xp(a).ascontiguousarray(a)


def _t(a):
    """A torch view of the (contiguous) array ``a``, sharing memory."""
    if isinstance(a, np.ndarray):
        return torch.from_numpy(a)
    return torch.from_dlpack(a)


def _sm_count() -> int:
    if INTERPRET:
        return INTERPRETER_SMS
    return torch.cuda.get_device_properties(torch.cuda.current_device()).multi_processor_count


def _check_size(*arrays):
    for a in arrays:
        if a.size >= 2**31:
            raise ValueError(f"triton backend: arrays of 2**31 or more elements are not supported "
                             f"(32-bit index math), got shape {tuple(a.shape)}")


def _gemm_config(m: int, n: int, dtype) -> dict:
    """Tile sizes for an (m x n) implicit-GEMM output; see the module docstring."""
    fp32 = np.dtype(dtype) == np.float32
    bn = min(64, triton.next_power_of_2(max(n, 1)))
    use_dot = fp32 and bn >= 16
    if not use_dot:
        bn = min(bn, 16)
    bm = 64 if use_dot else 32
    if use_dot and triton.cdiv(m, bm) * triton.cdiv(n, bn) < _sm_count():
        bm = 32
    bk = 32 if use_dot else 8
    return dict(BM=bm, BN=bn, BK=bk, USE_DOT=use_dot, INPUT_PRECISION=_INPUT_PRECISION,
                num_warps=4)


# --- convolutions ------------------------------------------------------------------------------

def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv2d_fwd(x, w, stride, padding, dilation, groups):
    """x (N, C, H, W), w (O, C/G, R, S) -> y (N, O, Ho, Wo); see tinygan/kernels/conv_fwd.py."""
    x, w = _contiguous(x), _contiguous(w)
    n, c, h, wd = x.shape
    o, cg, r, s = w.shape
    ho = _out_size(h, r, stride[0], padding[0], dilation[0])
    wo = _out_size(wd, s, stride[1], padding[1], dilation[1])
    y = _xp(x).empty((n, o, ho, wo), x.dtype)
    _check_size(x, y)
    og, m = o // groups, n * ho * wo
    if y.size == 0:
        return y
    cfg = _gemm_config(m, og, x.dtype)
    grid = (triton.cdiv(m, cfg["BM"]), triton.cdiv(og, cfg["BN"]), groups)
    _fwd.conv2d_fwd_kernel[grid](_t(x), _t(w), _t(y), c, h, wd, o, ho, wo, r, s, cg, og, m,
                                 *stride, *padding, *dilation, **cfg)
    return y


def conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups):
    """dy (N, O, Ho, Wo), w (O, C/G, R, S) -> dx ``x_shape``: one launch per stride phase."""
    dy, w = _contiguous(dy), _contiguous(w)
    n, c, h, wd = x_shape
    o, cg, r, s = w.shape
    ho, wo = dy.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    dx = _xp(dy).empty(tuple(x_shape), dy.dtype)
    _check_size(dy, dx)
    if dx.size == 0:
        return dx
    og = o // groups
    dy_t, w_t, dx_t = _t(dy), _t(w), _t(dx)
    for a_h in range(min(sh, h)):
        taps_h = _dgrad.phase_taps(a_h, sh, ph, dh, r)
        hu = (h - a_h + sh - 1) // sh
        for a_w in range(min(sw, wd)):
            taps_w = _dgrad.phase_taps(a_w, sw, pw, dw, s)
            wu = (wd - a_w + sw - 1) // sw
            m = n * hu * wu
            cfg = _gemm_config(m, cg, dy.dtype)
            grid = (triton.cdiv(m, cfg["BM"]), triton.cdiv(cg, cfg["BN"]), groups)
            _dgrad.conv2d_dgrad_kernel[grid](dy_t, w_t, dx_t, c, h, wd, o, ho, wo, r, s, cg, og,
                                             a_h, a_w, hu, wu, m, sh, sw, *taps_h, *taps_w, **cfg)
    return dx


def wgrad_splits(tiles: int, pixels: int, sms: int, min_pixels: int = 256) -> int:
    """How many pixel chunks the wgrad reduction is cut into: ~2 x SMs programs in all, each
    chunk at least ``min_pixels`` long."""
    return max(1, min(math.ceil(2 * sms / tiles), pixels // min_pixels))


def conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups):
    """x (N, C, H, W), dy (N, O, Ho, Wo) -> dw ``w_shape`` (O, C/G, R, S); split-K over pixels."""
    x, dy = _contiguous(x), _contiguous(dy)
    n, c, h, wd = x.shape
    o, cg, r, s = w_shape
    ho, wo = dy.shape[2:]
    og, k, p = o // groups, cg * r * s, n * ho * wo
    xp = _xp(x)
    dw = xp.empty(tuple(w_shape), x.dtype)
    _check_size(x, dy)
    if p == 0:
        dw.fill(0)
        return dw
    cfg = _gemm_config(og, k, x.dtype)
    tiles = triton.cdiv(og, cfg["BM"]) * triton.cdiv(k, cfg["BN"]) * groups
    splits = wgrad_splits(tiles, p, _sm_count())
    chunk = triton.cdiv(triton.cdiv(p, splits), cfg["BK"]) * cfg["BK"]
    splits = triton.cdiv(p, chunk)
    partial = dw if splits == 1 else xp.empty((splits,) + tuple(w_shape), x.dtype)
    grid = (triton.cdiv(og, cfg["BM"]), triton.cdiv(k, cfg["BN"]), groups * splits)
    _wgrad.conv2d_wgrad_kernel[grid](_t(x), _t(dy), _t(partial), c, h, wd, o, ho, wo, r, s, cg, og,
                                     p, chunk, splits, *stride, *padding, *dilation, **cfg)
    if splits > 1:
        torch.sum(_t(partial), dim=0, out=_t(dw))
    return dw


# --- batch norm --------------------------------------------------------------------------------

_BN_BLOCK = 256


def _bn_split(c: int, m: int) -> tuple[int, int]:
    """(SPLITS, chunk) for a channel of m values: C * SPLITS ~ 4 x SMs, chunks of whole BLOCKs."""
    splits = max(1, min(math.ceil(4 * _sm_count() / c), math.ceil(m / _BN_BLOCK)))
    chunk = triton.cdiv(triton.cdiv(m, splits), _BN_BLOCK) * _BN_BLOCK
    return triton.cdiv(m, chunk), chunk


def _bn_layout(x):
    if x.ndim < 2:
        raise ValueError(f"batch norm: expected an input (N, C, ...), got shape {tuple(x.shape)}")
    c = x.shape[1]
    length = int(np.prod(x.shape[2:], dtype=np.int64))
    return c, length, x.shape[0] * length


def batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """See tinygan/backends/numpy_norm.py; running statistics are updated in place."""
    x = _contiguous(x)
    c, length, m = numpy_norm.check_fwd_args(x, training, running_mean, running_var)
    _check_size(x)
    xp = _xp(x)
    y = xp.empty_like(x)
    mean, invstd = xp.empty(c, x.dtype), xp.empty(c, x.dtype)
    if y.size == 0:
        return y, mean, invstd
    mom = 0.0 if momentum is None else float(momentum)
    unbias = mom * m / (m - 1) if m > 1 else 0.0
    params = numpy_norm.device_constants(xp, xp.asarray, x.dtype, (1.0 - mom, mom, unbias, eps))
    splits, chunk = _bn_split(c, m)
    x_t, params_t = _t(x), _t(params)
    partial_t = params_t
    if training:
        partial_t = _t(xp.empty((c, splits, 3), x.dtype))
        _bn.bn_partial_stats_kernel[(c, splits)](x_t, partial_t, c, length, m, chunk, splits,
                                                 BLOCK=_BN_BLOCK)
    opt = lambda a: params_t if a is None else _t(_contiguous(a))  # noqa: E731 - unused slot
    _bn.bn_forward_kernel[(c, splits)](
        x_t, _t(y), partial_t, params_t, _t(mean), _t(invstd), opt(weight), opt(bias),
        opt(running_mean), opt(running_var), c, length, m, chunk, splits,
        TRAINING=bool(training), HAS_W=weight is not None, HAS_B=bias is not None,
        HAS_RM=running_mean is not None, HAS_RV=running_var is not None,
        BLOCK=_BN_BLOCK, BLOCK_S=triton.next_power_of_2(splits))
    return y, mean, invstd


def batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training):
    """-> (dx, dweight, dbias); see tinygan/backends/numpy_norm.py."""
    dy, x = _contiguous(dy), _contiguous(x)
    c, length, m = _bn_layout(x)
    _check_size(x)
    xp = _xp(x)
    dx = xp.empty_like(x)
    dweight, dbias = xp.empty(c, x.dtype), xp.empty(c, x.dtype)
    if m == 0:
        dweight.fill(0)
        dbias.fill(0)
        return dx, dweight, dbias
    splits, chunk = _bn_split(c, m)
    partial_t = _t(xp.empty((c, splits, 2), x.dtype))
    dy_t, x_t = _t(dy), _t(x)
    mean_t, invstd_t = _t(_contiguous(save_mean)), _t(_contiguous(save_invstd))
    _bn.bn_bwd_partial_kernel[(c, splits)](dy_t, x_t, mean_t, invstd_t, partial_t, c, length, m,
                                           chunk, splits, BLOCK=_BN_BLOCK)
    w_t = mean_t if weight is None else _t(_contiguous(weight))
    _bn.bn_bwd_dx_kernel[(c, splits)](dy_t, x_t, mean_t, invstd_t, w_t, partial_t, _t(dx),
                                      _t(dweight), _t(dbias), c, length, m, chunk, splits,
                                      TRAINING=bool(training), HAS_W=weight is not None,
                                      BLOCK=_BN_BLOCK, BLOCK_S=triton.next_power_of_2(splits))
    return dx, dweight, dbias


# Pointwise kernels (LeakyReLU, dropout's masked scale, Adam): the spec's array expressions, run
# by CuPy on the device (each expression a CuPy elementwise kernel); no fused GPU version yet.
from .numpy_pointwise import (adam_update, bias_add, channel_sum, leaky_relu_bwd,  # noqa: E402,F401
                              leaky_relu_fwd, masked_scale)
from .numpy import matmul  # noqa: E402,F401  (a @ b: CuPy's cuBLAS)
