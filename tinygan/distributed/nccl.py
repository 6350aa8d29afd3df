"""Collectives on the GPU through NCCL (CuPy's ``cupy.cuda.nccl``), for ``--device cuda``.

UNTESTED ON A GPU: written without one (the project's CI and the machine it was written on have
none); tests/test_distributed_mpi.py covers the MPI communicator only. Treat it as a sketch to
check on a multi-GPU machine before trusting it.

One GPU per rank: rank r of the machine's ranks uses GPU ``local_rank % device_count`` (made
CuPy's current device, so tinygan's "cuda" is that GPU). The NCCL unique id is broadcast over
MPI, which also carries host arrays and Python objects; CuPy arrays are reduced in place on the
GPU, on CuPy's current stream.
"""
from __future__ import annotations

import time

import numpy as np

from .comm import Communicator, MPIComm, _is_host


class NCCLComm(Communicator):
    """A Communicator over NCCL for CuPy arrays, over ``mpi`` (an :class:`MPIComm`) for the rest."""

    backend = "nccl"

    def __init__(self, mpi: MPIComm):
        super().__init__()
        import cupy                           # optional: only on GPU machines
        from cupy.cuda import nccl
        self.cupy, self.nccl, self.mpi = cupy, nccl, mpi
        self.rank, self.size = mpi.rank, mpi.size
        local = mpi.local_comm()
        cupy.cuda.Device(local.Get_rank() % cupy.cuda.runtime.getDeviceCount()).use()
        uid = mpi.broadcast_object(nccl.get_unique_id() if mpi.rank == 0 else None)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._types = {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64,
                       np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.int64): nccl.NCCL_INT64,
                       np.dtype(np.int32): nccl.NCCL_INT32}

    def _dtype(self, a):
        try:
            return self._types[np.dtype(a.dtype)]
        except KeyError:
            raise TypeError(f"NCCLComm: no NCCL type for {a.dtype}") from None

    def all_reduce_(self, a):
        if _is_host(a):
            return self.mpi.all_reduce_(a)
        start = time.perf_counter()
        stream = self.cupy.cuda.get_current_stream()
        self.comm.allReduce(a.data.ptr, a.data.ptr, a.size, self._dtype(a), self.nccl.NCCL_SUM, stream.ptr)
        stream.synchronize()
        self.seconds += time.perf_counter() - start
        return a

    def broadcast_(self, a, root: int = 0):
        if _is_host(a):
            return self.mpi.broadcast_(a, root)
        start = time.perf_counter()
        stream = self.cupy.cuda.get_current_stream()
        self.comm.bcast(a.data.ptr, a.size, self._dtype(a), root, stream.ptr)
        stream.synchronize()
        self.seconds += time.perf_counter() - start
        return a

    def broadcast_object(self, value, root: int = 0):
        return self.mpi.broadcast_object(value, root)

    def all_gather_object(self, value) -> list:
        return self.mpi.all_gather_object(value)

    def abort(self, code: int = 1) -> None:
        self.mpi.abort(code)
