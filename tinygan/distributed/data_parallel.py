"""Data-parallel training of a whole job: N ranks, one global batch, one model.

:class:`DataParallel` takes a job's modules (name -> Module), its optimizers and the global
batch size, and makes N processes compute the step one process would compute:

1. the modules' batch-norm layers become :class:`SyncBatchNorm` (``sync_bn``) and their dropout
   layers draw the global batch's mask (:mod:`.modules`);
2. each top-level module cuts its global-batch inputs to this rank's rows (:func:`.context.shard`)
   while a step runs, so a trainer that draws the global batch (data, z, labels) as one process
   does needs no code of its own;
3. each optimizer's ``step`` first all-reduces its parameters' gradients, in buckets of about
   ``bucket_bytes`` (one collective per bucket, not one per parameter), each rank's gradient
   weighted by its share of the batch (n_r / B): every loss being a batch mean, the sum is the
   gradient of the global batch's mean;
4. :meth:`reduce_values` gives every rank the global batch's step values (weighted the same way)
   and whether any rank was asked to stop (Ctrl-C / SIGTERM), so that all ranks stop together;
5. :meth:`broadcast` makes rank 0's weights, buffers and job states everyone's.

Assumptions (PyTorch's DistributedDataParallel has the same ones): every loss is a mean over
the batch; every rank runs the same code, so the collectives come in the same order; tensors
that reach a loss without passing through a top-level module are cut with
:func:`tinygan.distributed.shard` by the trainer.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..devices import xp_of
from ..tensor import Tensor
from . import context
from .modules import SyncBatchNorm, convert_dropout

BUCKET_BYTES = 4 << 20


class DataParallel:
    """See the module docstring. ``comm``: a Communicator; ``modules`` / ``optimizers``: dicts."""

    def __init__(self, comm, modules: dict, optimizers: dict, batch_size: int, *,
                 sync_bn: bool = True, bucket_bytes: int = BUCKET_BYTES):
        lo, hi = context.shard_range(int(batch_size), comm.rank, comm.size)
        self.comm, self.sync_bn, self.bucket_bytes = comm, bool(sync_bn), int(bucket_bytes)
        self.shard = context.Shard(comm, int(batch_size), lo, hi)
        self.modules, self.optimizers = modules, optimizers
        self.allreduce_calls, self.allreduce_seconds = 0, 0.0     # the gradient buckets only
        if comm.size > 1:
            for name, module in modules.items():
                if sync_bn:
                    module = SyncBatchNorm.convert_sync_batchnorm(module)
                modules[name] = convert_dropout(module)
                self._shard_inputs(modules[name])
            for optimizer in optimizers.values():
                self._reduce_before_step(optimizer)

    # ----- wiring --------------------------------------------------------------------------------
    def _shard_inputs(self, module) -> None:
        forward = module.forward

        def sharded_forward(*args, **kwargs):
            if context.active() is not None:
                args = tuple(context.shard(a) for a in args)
                kwargs = {k: context.shard(v) for k, v in kwargs.items()}
            return forward(*args, **kwargs)
        object.__setattr__(module, "forward", sharded_forward)

    def _reduce_before_step(self, optimizer) -> None:
        step = optimizer.step

        def reducing_step(*args, **kwargs):
            self.all_reduce_gradients([p for g in optimizer.param_groups for p in g["params"]])
            return step(*args, **kwargs)
        optimizer.step = reducing_step

    def step(self):
        """Context manager around one training step (see :mod:`.context`)."""
        return context.step(self.shard)

    # ----- collectives -----------------------------------------------------------------------------
    def all_reduce_gradients(self, params) -> None:
        """p.grad <- sum over ranks of (n_r / B) * p.grad, for the parameters that have a
        gradient, packed into buckets of about ``bucket_bytes`` per dtype and device."""
        if self.comm.size == 1:
            return
        live = [p for p in params if p.grad is not None]
        buckets, current, nbytes, key = [], [], 0, None
        for p in live:
            g = p.grad.data
            k = (g.dtype, type(g))
            if current and (k != key or nbytes + g.nbytes > self.bucket_bytes):
                buckets.append(current)
                current, nbytes = [], 0
            current.append(p)
            nbytes += g.nbytes
            key = k
        if current:
            buckets.append(current)
        w = self.shard.weight
        before = self.comm.seconds
        with no_grad():
            for bucket in buckets:
                grads = [p.grad.data for p in bucket]
                xp = xp_of(grads[0])
                flat = xp.concatenate([g.reshape(-1) for g in grads])
                if w != 1.0:
                    flat *= flat.dtype.type(w)
                self.comm.all_reduce_(flat)
                self.allreduce_calls += 1
                start = 0
                for p, g in zip(bucket, grads):
                    p.grad = Tensor._make(flat[start:start + g.size].reshape(g.shape), None)
                    start += g.size
        self.allreduce_seconds += self.comm.seconds - before

    def reduce_values(self, values: dict, stop: bool = False) -> tuple:
        """(the global batch's values, whether any rank asked to stop): each float weighted by
        this rank's share of the batch and summed over the ranks (float64)."""
        if self.comm.size == 1:
            return values, bool(stop)
        keys = list(values)
        vec = np.array([float(values[k]) * self.shard.weight for k in keys] + [float(bool(stop))])
        self.comm.all_reduce_(vec)
        return {k: float(v) for k, v in zip(keys, vec[:-1])}, bool(vec[-1] > 0)

    def broadcast(self, states=None):
        """Rank 0's parameters and buffers (in place, every module) and ``states`` (any picklable
        value, e.g. a job's optimizer, data-order and random-stream states) to every rank;
        returns rank 0's ``states``."""
        if self.comm.size == 1:
            return states
        with no_grad():
            for module in self.modules.values():
                for value in module.state_dict(keep_vars=True).values():
                    a = value.data
                    if a.ndim > 0 and a.flags.c_contiguous:
                        self.comm.broadcast_(a)
                    else:                       # 0-d buffers (num_batches_tracked), views
                        b = xp_of(a).ascontiguousarray(a).reshape(-1)
                        self.comm.broadcast_(b)
                        a[...] = b.reshape(a.shape)
        return self.comm.broadcast_object(states)
