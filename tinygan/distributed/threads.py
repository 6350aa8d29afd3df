"""Threads per rank: ranks x threads = the cores the ranks were given.

Each rank's thread count is the number of CPUs it may run on (its affinity: ``mpiexec`` may bind
each rank to a core, or let them share the machine) divided by the number of ranks on the same
machine that share that very set of CPUs. ``TINYGAN_NUM_THREADS`` or ``OMP_NUM_THREADS``, when
set, win. The choice is applied to every thread pool a step uses: numpy's BLAS and any OpenMP
runtime already loaded (threadpoolctl), the C++ kernels (``tinygan._C``), Numba, and, through
the environment, the libraries loaded later.
"""
from __future__ import annotations

import os
import sys

_limits = None          # threadpoolctl's handle: the limits hold while it lives


def _affinity() -> frozenset:
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return frozenset(range(os.cpu_count() or 1))


def choose_threads(comm) -> tuple:
    """(threads, reason) for this rank of ``comm`` (collective: every rank calls it)."""
    for var in ("TINYGAN_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            n = int(os.environ.get(var, "").split(",")[0])
        except ValueError:
            continue
        if n > 0:
            return n, f"{var}={n}"
    mine = _affinity()
    host = os.uname().nodename
    everyone = comm.all_gather_object((host, sorted(mine)))
    sharing = sum(1 for h, cpus in everyone if h == host and frozenset(cpus) == mine)
    n = max(1, len(mine) // max(1, sharing))
    return n, f"{len(mine)} CPU(s) available to this rank, shared by {sharing} rank(s)"


def set_threads(n: int) -> None:
    """Use ``n`` threads in every pool a training step uses (see the module docstring)."""
    global _limits
    n = max(1, int(n))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "TINYGAN_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits   # a dependency; guarded all the same
        _limits = threadpool_limits(limits=n)
    except Exception:  # noqa: BLE001 -- a pool threadpoolctl cannot drive: leave it alone
        _limits = None
    cpp = sys.modules.get("tinygan.backends.cpp")
    if cpp is not None and getattr(cpp, "AVAILABLE", False):
        cpp.set_num_threads(n)
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        except Exception:  # noqa: BLE001 -- numba's pool already fixed smaller: keep it
            pass


def configure_threads(comm) -> tuple:
    """Choose and set this rank's threads; returns (threads, reason)."""
    n, reason = choose_threads(comm)
    set_threads(n)
    return n, reason
