"""BLAS calls from backends that run their own thread pool: one OpenBLAS thread per call.

OpenBLAS's worker threads do not sleep when a GEMM ends: they spin (a ``sched_yield`` loop, up
to ~0.1 s by default) waiting for the next one. On a machine with as many cores as tinygan's
OpenMP (C++) or Numba threads, the spinning thread takes a core away from the next kernel, which
then runs at half speed until it gives up. Measured on the project's 2-core CPU, whole DCGAN
train step with the cpp backend (under cProfile): 265 -> 168 ms at batch 64 and 1006 -> 644 ms at
batch 256 with the Linear layers' GEMMs on one OpenBLAS thread, the GEMMs themselves included
(15 -> 7 ms at batch 64). The Linear GEMMs of a GAN are small (0.01-0.6 GFLOP), so one thread
costs them little. ``one_thread()`` limits numpy's BLAS for the duration of one call and restores
it (threadpoolctl, ~10 us per call); numpy's BLAS elsewhere in the program keeps its threads.
"""
from __future__ import annotations

import contextlib

_controller = None


def _blas():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController().select(user_api="blas")
        except Exception:  # noqa: BLE001 -- no threadpoolctl, or a BLAS it cannot drive: leave BLAS alone
            _controller = False
    return _controller


def one_thread():
    """Context manager: numpy's BLAS runs single-threaded inside (a no-op without threadpoolctl)."""
    blas = _blas()
    return blas.limit(limits=1) if blas else contextlib.nullcontext()
