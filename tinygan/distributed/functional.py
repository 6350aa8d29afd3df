"""Differentiable collectives and synchronised batch normalisation.

``all_reduce(x, comm)``: every rank's output is the sum of every rank's ``x``. It is linear, and
its adjoint is itself: rank s's input reaches every rank's output, so the cotangent of x_s is the
sum over ranks r of the cotangents g_r of their outputs -- another all-reduce. The VJP below is
that op applied to the cotangent (a Tensor op), so grad of grad works as everywhere else.

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
from ..ops import reshape, sqrt
from ..ops import sum as tsum
from ..tensor import Tensor


class AllReduce(Function):
    name = "all_reduce"

    @staticmethod
    def forward(ctx, x, comm):
        out = x.copy()
        return comm.all_reduce_(out)

    @staticmethod
    def vjp(ctx, g):
        return AllReduce.apply(g, ctx.inputs[1]), None


def all_reduce(x: Tensor, comm) -> Tensor:
    """Differentiable sum over the ranks of ``comm`` (any shape; every rank gets the sum)."""
    return AllReduce.apply(x, comm)


def sync_batch_norm(x: Tensor, running_mean, running_var, weight, bias, momentum: float,
                    eps: float, comm) -> Tensor:
    """Training-mode batch norm over the global batch (see the module docstring). ``x`` is
    (N_r, C, *) on this rank; the other arguments (C,) Tensors or None; ``momentum`` a float."""
    if x.ndim < 2:
        raise ValueError(f"sync_batch_norm: expected an input (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    n = int(round(comm.all_reduce_sum(x.numel() // max(c, 1))))
    if n <= 1:
        raise ValueError(f"sync_batch_norm: expected more than 1 value per channel over all "
                         f"ranks when training, got {n} (input of shape {x.shape} on this rank)")
    mean = all_reduce(tsum(x, axes), comm) / n
    centred = x - reshape(mean, shape)
    var = all_reduce(tsum(centred * centred, axes), comm) / n
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
