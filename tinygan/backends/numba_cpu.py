"""Numba CPU backend: conv2d_fwd / conv2d_dgrad / conv2d_wgrad / batchnorm_fwd / batchnorm_bwd, and
the pointwise kernels (LeakyReLU, dropout's masked scale, Adam: :mod:`.numba_pointwise`).

Same contract as :mod:`tinygan.backends.reference` (the spec; tested against it). Numba is
imported only when this module is (the registry imports backends lazily); without it the module
sets ``AVAILABLE = False`` and ``UNAVAILABLE_REASON`` instead of raising. Kernels are compiled
with ``@njit(parallel=True, fastmath=True, cache=True)`` (``cache`` writes to ``__pycache__``);
:func:`compile_all` compiles them for float32 and float64 up front and returns the seconds spent
(cold: ~43 s on this 2-core machine, ~21 s per dtype; from numba's on-disk cache: ~1 s; a
kernel not compiled yet compiles on its first call). Threads:
``numba.set_num_threads`` / ``NUMBA_NUM_THREADS``. Code: :mod:`.numba_conv`, :mod:`.numba_norm`,
:mod:`.numba_pointwise`.

Algorithms, and why (measured on the DCGAN layers at batch 64 on AMD Zen 5, 2 cores; the
2-thread table is in benchmarks/README.md, ``benchmarks/bench_numba_kernels.py``)
------------------------------------------------------------------------------------------------
The convolutions are GEMMs written in Numba itself, not calls to BLAS:

* numpy's OpenBLAS (and the SciPy one behind ``np.dot`` in ``njit``) runs its Haswell (AVX2)
  kernels on this CPU; Numba compiles for the host, so LLVM emits AVX-512 for the tile loops
  below. A lone 128 x 3136 x 3200 GEMM tile loop measured ~135 GFLOP/s on one core, OpenBLAS
  ~95. (Numba's ``np.dot`` would also need SciPy, and OpenBLAS's spinning worker threads fight
  Numba's pool for the 2 cores when the two alternate.)
* Packing happens tile by tile inside the parallel loop, so no 40 MB im2col matrix exists.

Two loop forms (details in :mod:`.numba_conv`): the "dot form", a 4x4 tile of outputs as 16 dot
products over 8 rows contiguous along the reduction (16 vector accumulators, 8 loads per 16
FMAs, then 16 horizontal sums), for long reductions; and the "axpy form", 4 output rows x 4
reduction steps per pass with the output pixels innermost (no horizontal sums), for short ones.

* ``conv2d_fwd``: reduction C/G*R*S >= 128: dot form over tiles of 64 output pixels, patches
  packed from x copied channel-last (each tap one contiguous run of channels), reduction
  blocked by 4 KB so a tile's 4 weight rows stay in L1. Shorter (a 1-channel input: 25 taps):
  axpy form per image over the im2col of that image (the dot form spent most of its time in
  horizontal sums there: 16 GFLOP/s).
* ``conv2d_dgrad``: gather form per stride phase in the dot form: dx pixel ``(sh*u + a, sw*v +
  b)`` only receives the taps with ``(a + ph - dh*r) % sh == 0``, from dy pixel ``(u + (a + ph
  - dh*r) // sh, ...)``; per phase that is fwd's GEMM over dy channel-last with those taps. No
  zero-inserted dy, no col2im scatter, every dx element written by exactly one thread; dy
  rows/cols out of range (padding, or a dy smaller than conv's natural output: transpose conv
  with output_padding >= stride) read as zero. With < 4 input channels per group or short
  reductions: the numpy backend's algorithm per image in the axpy form (W^T dy, then col2im), since
  packing a patch row per dx pixel for 1 output channel costs more than the GEMM.
* ``conv2d_wgrad``: dot form ``dw[o, (c, r, t)] = sum_p dy[o, p] cols[(c, r, t), p]`` over all
  N*Ho*Wo pixels (dy repacked channel-first), the im2col rows generated from the zero-padded x
  16 at a time over 16 KB pixel chunks; threads own blocks of 16 dw columns (no reduction).
  Also measured and dropped: the axpy form over channel-last x and dy without any im2col
  (60-89 vs 86-104 GFLOP/s on one core: the per-pixel setup of 16 scalar broadcasts is not
  amortised over 64-128 channels).
* batch norm: per-channel float64 sums in two passes, one fused pass for y / dx
  (:mod:`.numba_norm`); parallel over channels (or channel blocks for (N, C) input).

Result (2 threads, float32, batch 64, quiet machine): every DCGAN conv kernel is 1.03-2.0x
faster than numpy (the 15 together: 97 vs 140 ms, 1.44x), batch norm 2-7x; torch (oneDNN,
AVX-512) is still ~1.8x faster on the convolutions (53 ms). One core, CPU time (ms), numba vs numpy: D conv2
fwd 11.8 vs 14.6, dgrad 13.6 vs 17.8, wgrad 14.9 vs 14.5; G tconv1 as a conv: fwd 36.1 vs
49.5, dgrad 44.8 vs 50.6, wgrad 49.4 vs 48.7.

Work items are handed out one at a time (``numba.parallel_chunksize(1)``): on a shared machine
a statically split loop waits for its slowest (descheduled) thread. Under heavy load the
``workqueue`` threading layer (``NUMBA_THREADING_LAYER=workqueue``) stalled less than ``omp``,
whose idle threads spin; the backend does not choose the layer (a process-wide setting).
"""
from __future__ import annotations

import time

try:
    import numba  # noqa: F401
    import numpy as np

    from .numba_conv import conv2d_dgrad, conv2d_fwd, conv2d_wgrad  # noqa: F401
    from .numba_norm import batchnorm_bwd, batchnorm_fwd  # noqa: F401
    from .numba_pointwise import (adam_update, bias_add, channel_sum, leaky_relu_bwd,  # noqa: F401
                                  leaky_relu_fwd, masked_scale, matmul)
except ImportError as exc:  # numba missing (or too old for this numpy): report, don't raise
    AVAILABLE = False
    UNAVAILABLE_REASON = f"numba is not installed or failed to import ({exc}); pip install numba"
else:
    AVAILABLE = True
    UNAVAILABLE_REASON = None

__all__ = ["conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad", "batchnorm_fwd", "batchnorm_bwd",
           "leaky_relu_fwd", "leaky_relu_bwd", "masked_scale", "bias_add", "channel_sum", "adam_update", "matmul",
           "compile_all", "AVAILABLE", "UNAVAILABLE_REASON"]


def compile_all() -> float:
    """JIT-compile (or load from the on-disk cache) every kernel for float32 and float64.

    Returns the seconds spent. Calls every kernel, with each of its algorithms, once on tiny
    inputs, so every specialisation the kernels use (C-contiguous NCHW / NC arrays, both dtypes)
    is built before the first real call.
    """
    if not AVAILABLE:
        raise RuntimeError(f"numba backend unavailable: {UNAVAILABLE_REASON}")
    from . import numba_conv
    t0 = time.perf_counter()
    saved = numba_conv.FORCE_PATH
    try:
        for dt in (np.float32, np.float64):
            x = np.ones((2, 2, 5, 5), dt)
            w = np.ones((4, 2, 3, 3), dt)
            args = ((2, 2), (1, 1), (1, 1), 1)
            for path in ("large", "small"):
                numba_conv.FORCE_PATH = path
                y = conv2d_fwd(x, w, *args)
                conv2d_dgrad(y, w, x.shape, *args)
                conv2d_wgrad(x, y, w.shape, *args)
            c = np.ones(2, dt)
            for xs in ((4, 2), (4, 2, 3, 3)):
                xb = np.arange(np.prod(xs), dtype=dt).reshape(xs)
                y, m, s = batchnorm_fwd(xb, c, c, c.copy(), c.copy(), True, 0.1, 1e-5)
                batchnorm_bwd(y, xb, c, m, s, True)
            leaky_relu_bwd(x, leaky_relu_fwd(x, 0.2), 0.2)
            masked_scale(x, x > 0, 2.0)
            adam_update(x.copy(), x, x.copy(), x.copy(), 0.9, 0.999, 1e-3, 0.5, 1e-8)
            channel_sum(bias_add(x, np.ones(2, dt)))
    finally:
        numba_conv.FORCE_PATH = saved
    return time.perf_counter() - t0
