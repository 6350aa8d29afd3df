"""CUDA backend (device "cuda"): the kernels of csrc/cuda/*.cu, compiled with ``cupy.RawModule``.

Same contract as :mod:`tinygan.backends.reference` (the spec; tested
against it): conv2d_fwd, conv2d_dgrad, conv2d_wgrad, batchnorm_fwd, batchnorm_bwd on CuPy
arrays, float32 and float64, C-contiguous outputs. The index math and tiling of each family
are in the header comment of its .cu file; this module picks tile variants and grids:

* conv: every kernel is an implicit GEMM in 64 x 64 tiles ("wide"), or 256 x 16 ("narrow")
  when the GEMM has 16 columns or fewer (1-channel layers), 256 threads per block.
  dgrad runs one block row per stride phase (blockIdx.z = group * sh*sw + phase).
* wgrad: the pixel reduction is split so that about 2 x SMs blocks run (each split >= 256
  pixels); a second kernel adds the splits in a fixed order (deterministic).
* batch norm: ``splits`` chunks per channel so that C * splits is about 4 x SMs.

Sources are found in ``tinygan/cuda_src`` (a regular install ships them there) or in the
checkout's ``csrc/cuda`` (editable install). NVRTC gets each .cu with common.cuh pasted in place
of its ``#include`` (CuPy's kernel cache is keyed on the source text, so a header change must
change it). All four modules are compiled when the backend loads, so a kernel that does not
compile makes the backend unavailable with the compiler's message instead of failing mid-run.

Launching goes through a small runtime object (``_runtime``: allocate, copy to device, launch by
kernel name), so tests can run this module's host logic and the .cu kernels on the CPU with a
host emulator (tests/test_gpu_kernels.py).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from . import numpy_norm, numpy_pointwise
from .numpy_pointwise import channel_sum  # noqa: F401  (a reduction: CuPy's sum)

__all__ = ["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad", "batchnorm_fwd", "batchnorm_bwd", "keep_mask",
           "leaky_relu_fwd", "leaky_relu_bwd", "masked_scale", "bias_add", "channel_sum", "adam_update",
           "SOURCES", "source_dir", "load_source", "wgrad_splits"]

SOURCES = ("conv_fwd.cu", "conv_dgrad.cu", "conv_wgrad.cu", "batchnorm.cu", "random.cu",
           "pointwise.cu")
# kernel-name prefix -> the source that defines it
_FAMILY = {"conv2d_fwd": "conv_fwd.cu", "conv2d_dgrad": "conv_dgrad.cu",
           "conv2d_wgrad": "conv_wgrad.cu", "batchnorm": "batchnorm.cu", "keep_mask": "random.cu",
           "leaky_relu": "pointwise.cu", "masked_scale": "pointwise.cu", "bias_add": "pointwise.cu",
           "adam_update": "pointwise.cu"}
THREADS = 256
_TILES = {"wide": (64, 64), "narrow": (256, 16)}
NVRTC_OPTIONS = ("-std=c++17",)


def source_dir() -> Path | None:
    """The directory holding the .cu sources and common.cuh, or None."""
    package = Path(__file__).resolve().parent.parent
    for d in (package / "cuda_src", package.parent / "csrc" / "cuda"):
        if (d / "common.cuh").is_file():
            return d
    return None


def load_source(name: str) -> str:
    """The text NVRTC compiles for ``name`` (a file of SOURCES): common.cuh inlined."""
    d = source_dir()
    if d is None:
        raise FileNotFoundError("tinygan: the CUDA sources (csrc/cuda) are not installed")
    header = (d / "common.cuh").read_text().replace("#pragma once", "")
    return re.sub(r'^#include "common\.cuh"$', lambda _: header, (d / name).read_text(),
                  flags=re.M)


class _CupyRuntime:
    """Allocation and launches on the current CuPy device."""

    def __init__(self):
        import cupy
        self.xp = cupy
        self._modules = {}
        for name in SOURCES:
            module = cupy.RawModule(code=load_source(name), options=NVRTC_OPTIONS)
            module.compile()  # now, so that a broken kernel disables the backend at load
            self._modules[name] = module
        self._functions = {}
        self.sms = cupy.cuda.Device().attributes["MultiProcessorCount"]

    def empty(self, shape, dtype):
        return self.xp.empty(shape, dtype)

    def contiguous(self, a):
        return self.xp.ascontiguousarray(a)

    def asarray(self, a: np.ndarray):
        return self.xp.asarray(a)

    def launch(self, name: str, grid: tuple, args: tuple) -> None:
        fn = self._functions.get(name)
        if fn is None:
            family = next(f for prefix, f in _FAMILY.items() if name.startswith(prefix))
            fn = self._functions[name] = self._modules[family].get_function(name)
        fn(grid, (THREADS,), args)


def _probe():
    try:
        import cupy
    except ImportError as exc:
        return None, f"needs CuPy (pip install -e '.[gpu]'): {exc}"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy sees no CUDA device"
    except Exception as exc:  # noqa: BLE001 - no driver, no device: any CUDA error means "absent"
        return None, f"CuPy sees no usable CUDA device ({exc})"
    if source_dir() is None:
        return None, "the CUDA sources (csrc/cuda) are not installed"
    try:
        return _CupyRuntime(), None
    except Exception as exc:  # noqa: BLE001 - the compiler's message is the useful part
        return None, f"compiling csrc/cuda failed: {exc}"


_runtime, UNAVAILABLE_REASON = _probe()
AVAILABLE = _runtime is not None


# --- helpers -----------------------------------------------------------------------------------

def _suffix(dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return "f32"
    if dtype == np.float64:
        return "f64"
    raise TypeError(f"cuda backend: float32 or float64 arrays only, got {dtype}")


def _i32(*values) -> tuple:
    return tuple(np.int32(v) for v in values)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _check_size(*arrays):
    for a in arrays:
        if a.size >= 2**31:
            raise ValueError(f"cuda backend: arrays of 2**31 or more elements are not supported "
                             f"(32-bit index math), got shape {tuple(a.shape)}")


def _variant(columns: int) -> str:
    return "narrow" if columns <= 16 else "wide"


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_scalars(n, c, h, w, o, ho, wo, r, s, groups, stride, padding, dilation):
    return _i32(n, c, h, w, o, ho, wo, r, s, groups, *stride, *padding, *dilation)


# --- convolutions ------------------------------------------------------------------------------

def conv2d_fwd(x, w, stride, padding, dilation, groups):
    """x (N, C, H, W), w (O, C/G, R, S) -> y (N, O, Ho, Wo); see csrc/cuda/conv_fwd.cu."""
    rt = _runtime
    x, w = rt.contiguous(x), rt.contiguous(w)
    n, c, h, wd = x.shape
    o, cg, r, s = w.shape
    ho = _out_size(h, r, stride[0], padding[0], dilation[0])
    wo = _out_size(wd, s, stride[1], padding[1], dilation[1])
    y = rt.empty((n, o, ho, wo), x.dtype)
    _check_size(x, y)
    if y.size == 0:
        return y
    og = o // groups
    variant = _variant(og)
    bm, bn = _TILES[variant]
    grid = (_cdiv(n * ho * wo, bm), _cdiv(og, bn), groups)
    rt.launch(f"conv2d_fwd_{_suffix(x.dtype)}_{variant}", grid,
              (x, w, y) + _conv_scalars(n, c, h, wd, o, ho, wo, r, s, groups, stride, padding,
                                        dilation))
    return y


def conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups):
    """dy (N, O, Ho, Wo), w (O, C/G, R, S) -> dx ``x_shape``; see csrc/cuda/conv_dgrad.cu."""
    rt = _runtime
    dy, w = rt.contiguous(dy), rt.contiguous(w)
    n, c, h, wd = x_shape
    o, cg, r, s = w.shape
    ho, wo = dy.shape[2:]
    (sh, sw) = stride
    dx = rt.empty(tuple(x_shape), dy.dtype)
    _check_size(dy, dx)
    if dx.size == 0:
        return dx
    variant = _variant(cg)
    bm, bn = _TILES[variant]
    # x extent sized for the largest phase (phase 0); z = group * phases + phase
    grid = (_cdiv(n * _cdiv(h, sh) * _cdiv(wd, sw), bm), _cdiv(cg, bn), groups * sh * sw)
    rt.launch(f"conv2d_dgrad_{_suffix(dy.dtype)}_{variant}", grid,
              (dy, w, dx) + _conv_scalars(n, c, h, wd, o, ho, wo, r, s, groups, stride, padding,
                                          dilation))
    return dx


def wgrad_splits(tiles: int, pixels: int, sms: int, min_pixels: int = 256) -> int:
    """How many pixel chunks the wgrad reduction is cut into: ~2 x SMs blocks in all, each
    chunk at least ``min_pixels`` long."""
    return max(1, min(math.ceil(2 * sms / tiles), pixels // min_pixels))


def conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups):
    """x (N, C, H, W), dy (N, O, Ho, Wo) -> dw ``w_shape``; see csrc/cuda/conv_wgrad.cu."""
    rt = _runtime
    x, dy = rt.contiguous(x), rt.contiguous(dy)
    n, c, h, wd = x.shape
    o, cg, r, s = w_shape
    ho, wo = dy.shape[2:]
    og, kw, p = o // groups, cg * r * s, n * ho * wo
    dw = rt.empty(tuple(w_shape), x.dtype)
    _check_size(x, dy)
    if dw.size == 0:
        return dw
    if p == 0:
        dw[...] = 0
        return dw
    variant = _variant(og)
    bm, bn = _TILES[variant]
    tiles = _cdiv(kw, bm) * _cdiv(og, bn) * groups
    splits = wgrad_splits(tiles, p, rt.sms)
    chunk = _cdiv(_cdiv(p, splits), 16) * 16
    splits = _cdiv(p, chunk)
    partial = dw if splits == 1 else rt.empty((splits,) + tuple(w_shape), x.dtype)
    sfx = _suffix(x.dtype)
    rt.launch(f"conv2d_wgrad_{sfx}_{variant}", (_cdiv(kw, bm), _cdiv(og, bn), groups * splits),
              (x, dy, partial) + _conv_scalars(n, c, h, wd, o, ho, wo, r, s, groups, stride,
                                               padding, dilation) + _i32(splits, chunk))
    if splits > 1:
        count = dw.size
        rt.launch(f"conv2d_wgrad_reduce_{sfx}", (min(_cdiv(count, THREADS), 4 * rt.sms),),
                  (partial, dw) + _i32(splits, count))
    return dw


# --- batch norm --------------------------------------------------------------------------------

def _bn_split(c: int, m: int, sms: int) -> tuple[int, int]:
    """(splits, chunk): C * splits ~ 4 x SMs, chunks of whole multiples of THREADS values."""
    splits = max(1, min(math.ceil(4 * sms / c), math.ceil(m / THREADS)))
    chunk = _cdiv(_cdiv(m, splits), THREADS) * THREADS
    return _cdiv(m, chunk), chunk


def _bn_layout(x):
    if x.ndim < 2:
        raise ValueError(f"batch norm: expected an input (N, C, ...), got shape {tuple(x.shape)}")
    length = int(np.prod(x.shape[2:], dtype=np.int64))
    return x.shape[1], length, x.shape[0] * length


def batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """See tinygan/backends/numpy_norm.py; running statistics are updated in place."""
    rt = _runtime
    x = rt.contiguous(x)
    c, length, m = numpy_norm.check_fwd_args(x, training, running_mean, running_var)
    _check_size(x)
    sfx = _suffix(x.dtype)
    y = rt.empty(x.shape, x.dtype)
    mean, invstd = rt.empty((c,), x.dtype), rt.empty((c,), x.dtype)
    if y.size == 0:
        return y, mean, invstd
    mom = 0.0 if momentum is None else float(momentum)
    unbias = mom * m / (m - 1) if m > 1 else 0.0
    params = numpy_norm.device_constants(rt, rt.asarray, x.dtype, (1.0 - mom, mom, unbias, eps))
    splits, chunk = _bn_split(c, m, rt.sms)
    partial = params  # any valid pointer when unused
    if training:
        partial = rt.empty((c, splits, 3), x.dtype)
        rt.launch(f"batchnorm_partial_stats_{sfx}", (splits, c),
                  (x, partial) + _i32(c, length, m, chunk, splits))
    flags = ((1 if training else 0) | (2 if weight is not None else 0) | (4 if bias is not None else 0)
             | (8 if running_mean is not None else 0) | (16 if running_var is not None else 0))
    opt = lambda a: params if a is None else rt.contiguous(a)  # noqa: E731
    rm = mean if running_mean is None else running_mean  # never read or written when absent
    rv = invstd if running_var is None else running_var
    rt.launch(f"batchnorm_fwd_{sfx}", (splits, c),
              (x, y, partial, params, mean, invstd, opt(weight), opt(bias), rm, rv)
              + _i32(c, length, m, chunk, splits, flags))
    return y, mean, invstd


def batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training):
    """-> (dx, dweight, dbias); see tinygan/backends/numpy_norm.py."""
    rt = _runtime
    dy, x = rt.contiguous(dy), rt.contiguous(x)
    c, length, m = _bn_layout(x)
    _check_size(x)
    sfx = _suffix(x.dtype)
    dx = rt.empty(x.shape, x.dtype)
    dweight, dbias = rt.empty((c,), x.dtype), rt.empty((c,), x.dtype)
    if m == 0:
        dweight[...] = 0
        dbias[...] = 0
        return dx, dweight, dbias
    splits, chunk = _bn_split(c, m, rt.sms)
    partial = rt.empty((c, splits, 2), x.dtype)
    mean, invstd = rt.contiguous(save_mean), rt.contiguous(save_invstd)
    rt.launch(f"batchnorm_bwd_partial_{sfx}", (splits, c),
              (dy, x, mean, invstd, partial) + _i32(c, length, m, chunk, splits))
    flags = (1 if training else 0) | (2 if weight is not None else 0)
    w = mean if weight is None else rt.contiguous(weight)
    rt.launch(f"batchnorm_bwd_dx_{sfx}", (splits, c),
              (dy, x, mean, invstd, w, partial, dx, dweight, dbias)
              + _i32(c, length, m, chunk, splits, flags))
    return dx, dweight, dbias


# --- pointwise kernels (csrc/cuda/pointwise.cu: one fused pass each) ----------------------------
# The spec's array expressions (numpy_pointwise) remain the path for what the kernels do not
# take: other dtypes, arrays that are not C-contiguous or of mixed dtypes; channel_sum (a
# reduction) is CuPy's sum.


def _fused(*arrays) -> bool:
    dt = arrays[0].dtype
    return dt in (np.float32, np.float64) and all(
        a.dtype == dt and a.flags.c_contiguous for a in arrays)


def _grid(n: int) -> tuple:
    return (max(1, min(_cdiv(n, THREADS), 32 * _runtime.sms)),)


def leaky_relu_fwd(x, slope):
    if not _fused(x):
        return numpy_pointwise.leaky_relu_fwd(x, slope)
    _check_size(x)
    y = _runtime.empty(x.shape, x.dtype)
    if x.size:
        _runtime.launch(f"leaky_relu_fwd_{_suffix(x.dtype)}", _grid(x.size),
                        (x, y, x.dtype.type(slope), np.int32(x.size)))
    return y


def leaky_relu_bwd(x, g, slope):
    if not _fused(x, g) or x.shape != g.shape:
        return numpy_pointwise.leaky_relu_bwd(x, g, slope)
    _check_size(x)
    dx = _runtime.empty(x.shape, x.dtype)
    if x.size:
        _runtime.launch(f"leaky_relu_bwd_{_suffix(x.dtype)}", _grid(x.size),
                        (x, g, dx, x.dtype.type(slope), np.int32(x.size)))
    return dx


def masked_scale(x, keep, scale):
    if not _fused(x) or keep.dtype != np.bool_ or keep.shape != x.shape or not keep.flags.c_contiguous:
        return numpy_pointwise.masked_scale(x, keep, scale)
    _check_size(x)
    y = _runtime.empty(x.shape, x.dtype)
    if x.size:
        _runtime.launch(f"masked_scale_{_suffix(x.dtype)}", _grid(x.size),
                        (x, keep, y, x.dtype.type(scale), np.int32(x.size)))
    return y


def bias_add(x, b):
    if not _fused(x, b) or x.ndim < 2 or b.shape != (x.shape[1],):
        return numpy_pointwise.bias_add(x, b)
    _check_size(x)
    y = _runtime.empty(x.shape, x.dtype)
    if x.size:
        length = int(np.prod(x.shape[2:], dtype=np.int64))
        _runtime.launch(f"bias_add_{_suffix(x.dtype)}", _grid(x.size),
                        (x, b, y) + _i32(x.shape[1], length, x.size))
    return y


def adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps):
    if not _fused(p, g, m, v) or not (p.shape == g.shape == m.shape == v.shape):
        return numpy_pointwise.adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps)
    _check_size(p)
    if p.size:
        t = p.dtype.type
        _runtime.launch(f"adam_update_{_suffix(p.dtype)}", _grid(p.size),
                        (p, g, m, v, t(1 - beta1), t(beta2), t(1 - beta2), t(step_size), t(bc2_sqrt),
                         t(eps), np.int32(p.size)))


from .numpy import matmul  # noqa: E402,F401  (a @ b: CuPy's cuBLAS)


# --- dropout masks -----------------------------------------------------------------------------

def keep_mask(state, inc, n, threshold):
    """Dropout's mask on the GPU: bool (n,), entry i = 32-bit word i of NumPy's PCG64 stream from
    (state, inc) >= threshold -- the same bits as numpy_pointwise.keep_mask, made where they are
    used (no host-side draw, no copy). See csrc/cuda/random.cu."""
    rt = _runtime
    n, threshold = int(n), int(threshold)
    if n < 0 or not 0 <= threshold <= 2 ** 32:
        raise ValueError(f"keep_mask: need n >= 0 and 0 <= threshold <= 2**32, got {n}, {threshold}")
    keep = rt.empty((n,), np.bool_)
    if n == 0:
        return keep
    m64 = (1 << 64) - 1
    state, inc = int(state), int(inc)
    blocks = max(1, min(_cdiv((n + 1) // 2, THREADS), 8 * rt.sms))
    rt.launch("keep_mask_u8", (blocks,),
              (keep, np.uint64(state >> 64), np.uint64(state & m64), np.uint64(inc >> 64),
               np.uint64(inc & m64), np.int64(n), np.uint64(threshold)))
    return keep
