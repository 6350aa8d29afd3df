"""Differentiable collectives and synchronised batch normalisation.

``all_reduce(x, comm)``: every rank's output is the sum of every rank's ``x``. It is linear, and
its adjoint is itself: rank s's input reaches every rank's output, so the cotangent of x_s is the
sum over ranks r of the cotangents g_r of their outputs -- another all-reduce. The VJP below is
that op applied to the cotangent (a Tensor op), so grad of grad works as everywhere else. (With
uneven shards of the batch, each rank's cotangent is weighted by its share on the way: see
:func:`all_reduce`.)

``batch_mean(x)``: the mean over the global batch's rows (feature matching's batch means).

``gather_rows(x)``: the global batch's rows, every rank's in place (minibatch discrimination).

``sync_batch_norm``: batch normalisation whose statistics are those of the GLOBAL batch spread
over the ranks (Ioffe & Szegedy, "Batch Normalization"; the cross-device statistics of Peng et
al., "MegDet"). With n the global count per channel (all-reduced) and axes = (0, 2, 3, ...)::

    mean = all_reduce(sum(x, axes)) / n
    var  = all_reduce(sum((x - mean)^2, axes)) / n                     (biased, as training BN)
    y    = (x - mean) / sqrt(var + eps) * weight + bias

The sum of squared deviations (two passes) is all-reduced rather than the sum of squares
(one pass, E[x^2] - mean^2): the same bytes, one more round trip, and no cancellation in float32
(the single-process kernels are two-pass too). It is composed of Tensor ops, so autograd's
backward makes exactly the two all-reduced reductions of the BN backward (sum(g) and
sum(g * xhat), through the VJPs of the two all-reduces) and grad of grad is available. The
running statistics are updated as :func:`tinygan.ops.norm.batch_norm` does (unbiased variance of
the global batch, ``momentum``), identically on every rank.
"""
from __future__ import annotations

from ..autograd import Function, no_grad
from ..creation import zeros
from ..ops import cat, reshape, sqrt
from ..ops import sum as tsum
from ..tensor import Tensor
from . import context


class AllReduce(Function):
    name = "all_reduce"

    @staticmethod
    def forward(ctx, x, comm, share):
        out = x.copy()
        return comm.all_reduce_(out)

    @staticmethod
    def vjp(ctx, g):
        comm, share = ctx.inputs[1], ctx.inputs[2]
        if share == 1.0:
            return AllReduce.apply(g, comm, share), None, None
        return AllReduce.apply(g * share, comm, share) / share, None, None


def all_reduce(x: Tensor, comm, share: float = 1.0) -> Tensor:
    """Differentiable sum over the ranks of ``comm`` (any shape; every rank gets the sum).

    ``share``: this rank's weight w_r in the objective sum_r w_r L_r when each rank
    back-propagates its own L_r and the gradients are then summed weighted by w_r (data
    parallelism with shares n_r / B of the batch). The VJP is then all_reduce(w_r g) / w_r,
    so that the weighted sum of the ranks' gradients is that objective's gradient; with equal
    shares (or ``share=1``) it is the plain adjoint, all_reduce(g)."""
    return AllReduce.apply(x, comm, float(share))


def batch_mean(x: Tensor) -> Tensor:
    """The mean of ``x`` (N, ...) over its first axis -- over the GLOBAL batch inside a
    data-parallel step over more than one rank (this rank's rows are its shard of it):
    all_reduce(sum_i x_i) / B with this rank's share as the weight (see :func:`all_reduce`), so
    a loss that is not linear in the batch mean (feature matching) gets one process's gradient.
    Elsewhere simply ``x.mean(0)``."""
    shard = context.active()
    if shard is None or shard.comm.size == 1 or x.shape[0] != shard.size:
        return x.mean(0)
    return all_reduce(tsum(x, 0), shard.comm, shard.weight) / shard.batch


def gather_rows(x: Tensor) -> Tensor:
    """Inside a data-parallel step over more than one rank: the GLOBAL batch's rows of ``x``
    (N_r, ...) -> (B, ...), every rank's slice in place (minibatch discrimination's sum over the
    batch). It is this rank's rows written into zeros at ``lo:hi`` and all-reduced -- a linear
    map whose adjoint sends each rank the sum of every rank's cotangent of its rows (with this
    rank's share as the weight, see :func:`all_reduce`). Elsewhere ``x`` itself."""
    shard = context.active()
    if shard is None or shard.comm.size == 1 or x.shape[0] != shard.size:
        return x
    rest = tuple(x.shape[1:])
    parts = [zeros((shard.lo,) + rest, dtype=x.dtype, device=x.device), x,
             zeros((shard.batch - shard.hi,) + rest, dtype=x.dtype, device=x.device)]
    return all_reduce(cat(parts, 0), shard.comm, shard.weight)


def sync_batch_norm(x: Tensor, running_mean, running_var, weight, bias, momentum: float,
                    eps: float, comm, share: float = 1.0) -> Tensor:
    """Training-mode batch norm over the global batch (see the module docstring). ``x`` is
    (N_r, C, *) on this rank; the other arguments (C,) Tensors or None; ``momentum`` a float;
    ``share`` this rank's share of the batch (see :func:`all_reduce`; uneven shards)."""
    if x.ndim < 2:
        raise ValueError(f"sync_batch_norm: expected an input (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    n = int(round(comm.all_reduce_sum(x.numel() // max(c, 1))))
    if n <= 1:
        raise ValueError(f"sync_batch_norm: expected more than 1 value per channel over all "
                         f"ranks when training, got {n} (input of shape {x.shape} on this rank)")
    mean = all_reduce(tsum(x, axes), comm, share) / n
    centred = x - reshape(mean, shape)
    var = all_reduce(tsum(centred * centred, axes), comm, share) / n
    y = centred * reshape(1.0 / sqrt(var + eps), shape)
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    if running_mean is not None and running_var is not None:
        with no_grad():
            f = float(momentum)               # the order of ops of backends/numpy_norm.py
            rm, rv = getattr(running_mean, "data", running_mean), getattr(running_var, "data", running_var)
            rm *= 1.0 - f
            rm += f * mean.data
            rv *= 1.0 - f
            rv += (f * n / (n - 1)) * var.data
    return y
