"""The "cpp" backend: C++ CPU kernels (``tinygan._C``, built from csrc/cpu by setup.py).

Same contract as :mod:`tinygan.backends.reference` (the spec
it is tested against). What this module adds around the compiled kernels:

* float32 runs the C++ kernels; float64 convolutions fall back to the numpy backend (the C++
  convolutions are float32 only), batch norm runs in C++ for both float32 and float64. Any other
  dtype goes to the numpy backend's kernels too.
* the pairwise L1 distances and their VJP (csrc/cpu/distance.cpp) run in C++ for float32 and
  float64 (3-D operands of one dtype; anything else: the numpy backend's).
* the pointwise kernels (csrc/cpu/pointwise.cpp: LeakyReLU, dropout's
  masked scale, bias add / channel sum, Adam) run in C++ for float32 and float64; ``keep_mask``
  (csrc/cpu/random.cpp) reproduces NumPy's PCG64 words; ``matmul`` is the numpy backend's on one
  OpenBLAS thread (see :mod:`._blas`).
* inputs are made C-contiguous here (the C++ side rejects anything else), outputs are fresh
  arrays (never views of the kernels' scratch memory).
* the OpenMP thread count: ``TINYGAN_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs this
  process may run on. ``set_num_threads(n)`` changes it at run time.
* batch norm's running statistics are updated here with numpy_norm's own NumPy expressions, so
  they are bit-identical to the numpy backend's given the same batch statistics.

Imported lazily by the registry (never by ``import tinygan``). Without a compiled extension the
module still imports and reports ``AVAILABLE = False`` with the reason.
"""
from __future__ import annotations

import os

import numpy as np

from . import _blas, numpy_distance, numpy_norm, numpy_pointwise
from . import numpy as numpy_backend

__all__ = ["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad", "batchnorm_fwd", "batchnorm_bwd",
           "leaky_relu_fwd", "leaky_relu_bwd", "masked_scale", "bias_add", "channel_sum", "keep_mask", "adam_update", "matmul",
           "cdist_l1", "cdist_l1_vjp", "set_num_threads", "get_num_threads", "clear_workspace", "build_info"]

try:
    from .. import _C
except ImportError as exc:  # no compiler at install time, or a failed build
    _C = None
    AVAILABLE = False
    UNAVAILABLE_REASON = f"tinygan._C was not built (no compiler at install time?): {exc}"
else:
    AVAILABLE = True
    UNAVAILABLE_REASON = None


def _default_threads() -> int:
    for var in ("TINYGAN_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            n = int(os.environ.get(var, "").split(",")[0])
        except ValueError:
            continue
        if n > 0:
            return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def set_num_threads(n: int) -> None:
    """Threads used by every C++ kernel (OpenMP)."""
    _C.set_num_threads(int(n))


def get_num_threads() -> int:
    return _C.get_num_threads()


def clear_workspace() -> None:
    """Free the calling thread's scratch buffers (they grow to the largest layer seen)."""
    _C.clear_workspace()


def build_info() -> str:
    """The instruction set the extension was compiled for, e.g. ``"avx512, openmp, ..."``."""
    return _C.build_info()


if AVAILABLE:
    set_num_threads(_default_threads())

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _f32(*arrays) -> bool:
    return all(a.dtype == _F32 for a in arrays)


def _c(a):
    """C-contiguous (a copy only when needed); unlike np.ascontiguousarray, a 0-d array stays 0-d."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


# --- convolutions --------------------------------------------------------------------------------

def conv2d_fwd(x, w, stride, padding, dilation, groups):
    """``y = conv2d(x, w)``: x (N, C, H, W), w (O, C/G, R, S) -> y (N, O, Ho, Wo)."""
    if not _f32(x, w):
        return numpy_backend.conv2d_fwd(x, w, stride, padding, dilation, groups)
    return _C.conv2d_fwd(_c(x), _c(w), stride[0], stride[1], padding[0], padding[1],
                         dilation[0], dilation[1], int(groups))


def conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups):
    """Adjoint of conv2d_fwd in x (conv_transpose2d's forward); dy may be spatially cropped."""
    if not _f32(dy, w):
        return numpy_backend.conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups)
    n, c, h, wd = (int(v) for v in x_shape)
    return _C.conv2d_dgrad(_c(dy), _c(w), n, c, h, wd, stride[0], stride[1], padding[0], padding[1],
                           dilation[0], dilation[1], int(groups))


def conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups):
    """Adjoint of conv2d_fwd in w; conv_transpose2d's weight gradient with x and dy swapped."""
    if not _f32(x, dy):
        return numpy_backend.conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups)
    o, cg, r, s = (int(v) for v in w_shape)
    return _C.conv2d_wgrad(_c(x), _c(dy), o, cg, r, s, stride[0], stride[1], padding[0], padding[1],
                           dilation[0], dilation[1], int(groups))


# --- batch norm ------------------------------------------------------------------------------------

def _as3d(x):
    n, c = x.shape[0], x.shape[1]
    return _c(x).reshape(n, c, -1) if x.size else np.zeros((n, c, int(np.prod(x.shape[2:]))), x.dtype)


def _vec(v, dtype):
    return None if v is None else np.ascontiguousarray(v, dtype=dtype)


def _bn_native(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype in (_F32, _F64) and x.ndim >= 2


def batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """See numpy_norm.batchnorm_fwd: returns ``(y, save_mean, save_invstd)``; running stats are
    updated in place when training."""
    if not _bn_native(x):
        return numpy_norm.batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps)
    m = x.size // x.shape[1] if x.shape[1] else 0
    if (training and m <= 1) or (not training and (running_mean is None or running_var is None)):
        # the spec raises the error
        return numpy_norm.batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps)
    dt = x.dtype
    w, b = _vec(weight, dt), _vec(bias, dt)
    if training:
        y, mean, var, invstd = _C.batchnorm_fwd_train(_as3d(x), w, b, float(eps))
        # numpy_norm's update, expression for expression.
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * m / (m - 1)) * var
        return y.reshape(x.shape), mean, invstd
    mean = running_mean.copy()
    invstd = (1.0 / np.sqrt(running_var + eps)).astype(dt, copy=False)
    y = _C.batchnorm_fwd_eval(_as3d(x), w, b, _vec(mean, dt), _vec(invstd, dt))
    return y.reshape(x.shape), mean, invstd


def batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training):
    """See numpy_norm.batchnorm_bwd: returns ``(dx, dweight, dbias)``."""
    if not (_bn_native(x) and isinstance(dy, np.ndarray) and dy.dtype == x.dtype and dy.shape == x.shape):
        return numpy_norm.batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training)
    dt = x.dtype
    dx, dweight, dbias = _C.batchnorm_bwd(_as3d(dy), _as3d(x), _vec(weight, dt), _vec(save_mean, dt),
                                          _vec(save_invstd, dt), bool(training))
    return dx.reshape(x.shape), dweight, dbias


# --- matmul --------------------------------------------------------------------------------------

def matmul(a, b):
    """The numpy backend's (numpy / OpenBLAS), on one OpenBLAS thread: see :mod:`._blas` (its spinning
    workers would take a core from the next OpenMP kernel)."""
    with _blas.one_thread():
        return numpy_backend.matmul(a, b)


# --- pointwise (csrc/cpu/pointwise.cpp) ----------------------------------------------------------

_native = numpy_pointwise.native   # float32 / float64 NumPy arrays of one dtype (else: the spec's)


def leaky_relu_fwd(x, slope):
    if not _native(x):
        return numpy_pointwise.leaky_relu_fwd(x, slope)
    return _C.leaky_relu_fwd(_c(x), float(slope))


def leaky_relu_bwd(x, g, slope):
    if not (_native(x, g) and x.shape == g.shape):
        return numpy_pointwise.leaky_relu_bwd(x, g, slope)
    return _C.leaky_relu_bwd(_c(x), _c(g), float(slope))


def masked_scale(x, keep, scale):
    if not (_native(x) and type(keep) is np.ndarray and keep.dtype == np.bool_ and keep.shape == x.shape):
        return numpy_pointwise.masked_scale(x, keep, scale)
    return _C.masked_scale(_c(x), _c(keep), float(scale))


def bias_add(x, b):
    if not (_native(x, b) and x.ndim >= 2 and b.shape == (x.shape[1],) and x.size):
        return numpy_pointwise.bias_add(x, b)
    return _C.bias_add(_as3d(x), _c(b)).reshape(x.shape)


def channel_sum(g):
    if not (_native(g) and g.ndim >= 2 and g.size):
        return numpy_pointwise.channel_sum(g)
    return _C.channel_sum(_as3d(g))


def keep_mask(state, inc, n, threshold):
    m64 = (1 << 64) - 1
    return _C.keep_mask(int(state) >> 64, int(state) & m64, int(inc) >> 64, int(inc) & m64, int(n), int(threshold))


def adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps):
    """In place: when p, m or v is not C-contiguous (or the dtypes differ) the spec's path runs,
    so the update always lands in the caller's arrays. g is only read: copied if strided (a
    Linear weight's gradient arrives transposed)."""
    if not (_native(p, g, m, v) and all(a.flags.c_contiguous for a in (p, m, v))
            and p.shape == g.shape == m.shape == v.shape):
        return numpy_pointwise.adam_update(p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps)
    _C.adam_update(p, _c(g), m, v, float(beta1), float(beta2), float(step_size), float(bc2_sqrt), float(eps))


# --- pairwise L1 distances (csrc/cpu/distance.cpp) -----------------------------------------------

def _pair_native(x1, x2):
    return (_native(x1, x2) and x1.ndim == x2.ndim == 3 and x1.shape[0] == x2.shape[0]
            and x1.shape[2] == x2.shape[2])


def cdist_l1(x1, x2):
    if not _pair_native(x1, x2):
        return numpy_distance.cdist_l1(x1, x2)
    return _C.cdist_l1(_c(x1), _c(x2))


def cdist_l1_vjp(x1, x2, g):
    if not (_pair_native(x1, x2) and _native(x1, g) and g.shape == (x1.shape[0], x1.shape[1], x2.shape[1])):
        return numpy_distance.cdist_l1_vjp(x1, x2, g)
    return tuple(_C.cdist_l1_vjp(_c(x1), _c(x2), _c(g)))
