"""Batched matrix product with numpy's broadcasting over leading (batch) axes.

out = a @ b with a (..., m, k), b (..., k, n); VJP: ga = g @ b^T, gb = a^T @ g, each summed back
over the batch axes that broadcasting added. 1-D operands are promoted as in numpy.
"""
from __future__ import annotations

from .. import backends
from ..autograd import Function
from ..devices import device_of
from ..tensor import Tensor
from ._util import broadcast_shape, lift
from .movement import reshape, unbroadcast


class MatMul(Function):
    """The product comes from the registry's ``matmul`` kernel (numpy: ``a @ b``; the backends
    with their own thread pool call BLAS single-threaded, see tinygan/backends/_blas.py)."""
    name = "matmul"
    forward = staticmethod(lambda ctx, a, b: backends.get("matmul", device_of(a))(a, b))

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(matmul(g, b.mT), a.shape) if na else None
        gb = unbroadcast(matmul(a.mT, g), b.shape) if nb else None
        return ga, gb


def matmul(a, b):
    """Matrix product (``a @ b``); errors name both shapes."""
    if not isinstance(a, Tensor):
        a = lift(a, b)
    if not isinstance(b, Tensor):
        b = lift(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape}: both operands need >= 1 dimension")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim == 1 and b.ndim == 1:      # a dot product: 0-d result
        return reshape(matmul(reshape(a, (1, -1)), reshape(b, (-1, 1))), ())
    if a.ndim == 1:
        return reshape(matmul(reshape(a, (1, -1)), b), b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return reshape(matmul(a, reshape(b, (-1, 1))), a.shape[:-1])
    broadcast_shape("matmul", a.shape[:-2], b.shape[:-2])
    return MatMul.apply(a, b)


def linear(input, weight, bias=None):
    """torch.nn.functional.linear: input (*, in) @ weight^T + bias -> (*, out), weight (out, in)
    (or (in,): the output drops the last axis), bias (out,) or anything broadcasting to the
    output. The VJPs are matmul's and add's."""
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"linear: both arguments to linear need to be at least 1D, but they are "
                           f"{input.ndim}D and {weight.ndim}D")
    if weight.ndim > 2:
        raise RuntimeError(f"linear: weight must be (out, in) or (in,), got shape {weight.shape}")
    if input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"linear: input shape {input.shape} and weight shape {weight.shape} "
                           f"cannot be multiplied ({input.shape[-1]} != {weight.shape[-1]})")
    out = matmul(input, weight.mT if weight.ndim == 2 else weight)
    if bias is None:
        return out
    try:
        fits = broadcast_shape("linear", bias.shape, out.shape) == out.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"linear: bias shape {bias.shape} does not broadcast to the output "
                           f"shape {out.shape}")
    return out + bias
