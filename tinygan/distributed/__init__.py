"""Data-parallel training over MPI (mpi4py; NCCL through CuPy on "cuda"): ``tinygan.distributed``.

    mpiexec -n 2 python -m tinygan.train dcgan --distributed        # every trainer on the loop

N processes compute the step one process computes at the same global batch: every rank draws
the global batch's random numbers and keeps its slice, batch norm uses the global batch's
statistics (:class:`SyncBatchNorm`), gradients are all-reduced in buckets. See
docs/scaling.md and :mod:`.data_parallel`.
"""
from .comm import MPI_HINT, Communicator, DistributedUnavailable, MPIComm, SingleProcess  # noqa: F401
from .group import get_rank, get_world_size, init, is_initialized, world  # noqa: F401
from .context import Shard, active, shard, shard_indices, shard_range, step  # noqa: F401
from .functional import all_reduce, batch_mean, gather_rows, sync_batch_norm  # noqa: F401
from .modules import (GlobalDropout, GlobalDropout2d, GlobalMinibatchDiscrimination,  # noqa: F401
                      SyncBatchNorm, convert_dropout)  # noqa: F401
from .data_parallel import BUCKET_BYTES, DataParallel  # noqa: F401
from .threads import choose_threads, configure_threads, set_threads  # noqa: F401
