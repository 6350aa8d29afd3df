"""This process's place in the job: :func:`init` joins the process group (MPI, or NCCL over MPI
on "cuda") once per rank; :func:`world` is that group (one process before ``init``)."""
from __future__ import annotations

from .comm import Communicator, DistributedUnavailable, MPIComm, SingleProcess
from .nccl import NCCLComm

_world: Communicator = SingleProcess()


def init(backend: str = "mpi") -> Communicator:
    """Join the job's process group (every rank calls it once) and return it; ``backend`` is
    "mpi" (CPU arrays; CuPy arrays through the host) or "nccl" (CuPy arrays on the GPU, one GPU per
    rank; untested here). Outside ``mpiexec`` the world is this one process."""
    global _world
    if backend == "mpi":
        _world = MPIComm()
    elif backend == "nccl":
        mpi = MPIComm()
        try:
            _world = NCCLComm(mpi)
        except ImportError as exc:
            raise DistributedUnavailable(f"--distributed on --device cuda needs CuPy with NCCL "
                                         f"({exc}): pip install -e \".[gpu,mpi]\"") from None
    else:
        raise ValueError(f"distributed.init: unknown backend {backend!r} (choose mpi or nccl)")
    return _world


def world() -> Communicator:
    """The process group :func:`init` made (a :class:`SingleProcess` before)."""
    return _world


def get_rank() -> int:
    return _world.rank


def get_world_size() -> int:
    return _world.size


def is_initialized() -> bool:
    return not isinstance(_world, SingleProcess)
