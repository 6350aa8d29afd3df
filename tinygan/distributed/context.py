"""The data-parallel step in flight: which slice of the global batch this rank holds.

Exactness against one process rests on one rule: every rank draws the GLOBAL batch's random
numbers (data indices, z, dropout masks) from the same streams, exactly as one process would,
and keeps its own slice ``[lo, hi)`` of the batch dimension. Inside :func:`step` (entered by
:class:`~tinygan.distributed.DataParallel` around a trainer's step):

* :func:`shard` cuts a global-batch tensor or array (leading dimension ``batch``) to the slice;
* :class:`~tinygan.distributed.SyncBatchNorm` reduces its statistics over every rank;
* dropout modules draw the global batch's mask and keep their slice.

Outside it (pictures, evaluation, a single process) all three behave as without MPI.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor


@dataclass(frozen=True)
class Shard:
    """This rank's part of a global batch of ``batch`` samples: rows ``lo:hi``."""
    comm: object
    batch: int
    lo: int
    hi: int

    @property
    def size(self) -> int:
        return self.hi - self.lo

    @property
    def weight(self) -> float:
        """This rank's share of a batch mean: (hi - lo) / batch."""
        return self.size / self.batch


def shard_range(batch: int, rank: int, size: int) -> tuple:
    """Rows ``[lo, hi)`` of a global batch of ``batch`` held by ``rank`` of ``size`` ranks: the
    first ``batch % size`` ranks hold one row more (numpy.array_split's rule)."""
    if batch < size:
        raise ValueError(f"a global batch of {batch} cannot be split over {size} processes "
                         f"(each needs at least one sample): raise --batch-size or use fewer ranks")
    base, extra = divmod(batch, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def shard_indices(indices, batch: int, rank: int, size: int) -> np.ndarray:
    """This rank's share of an epoch's shuffled ``indices``: each consecutive global batch of
    ``batch`` indices cut by :func:`shard_range` (a last, short batch is cut the same way)."""
    indices = np.asarray(indices)
    parts = []
    for start in range(0, len(indices), batch):
        chunk = indices[start:start + batch]
        lo, hi = shard_range(len(chunk), rank, size) if len(chunk) >= size else (0, 0)
        parts.append(chunk[lo:hi])
    return np.concatenate(parts) if parts else indices[:0]


_active: Shard | None = None


def active() -> Shard | None:
    """The :class:`Shard` of the data-parallel step in flight, or None."""
    return _active


@contextmanager
def step(shard: Shard):
    """Mark a data-parallel step (see the module docstring); not reentrant."""
    global _active
    if _active is not None:
        raise RuntimeError("distributed.step: a data-parallel step is already in flight")
    _active = shard
    try:
        yield shard
    finally:
        _active = None


def shard(x):
    """Inside a data-parallel step: ``x[lo:hi]`` when ``x`` (Tensor or array) is a global batch
    (leading dimension equal to the global batch size); anything else unchanged. Outside a step
    (or in a world of one) the identity. Trainers call it on global-batch tensors that reach the
    loss without passing through one of the job's modules (targets, labels)."""
    s = _active
    if s is None or s.comm.size == 1:
        return x
    if isinstance(x, (Tensor, np.ndarray)) or hasattr(x, "__cuda_array_interface__"):
        if x.ndim >= 1 and x.shape[0] == s.batch:
            return x[s.lo:s.hi]
    return x
