"""Any :class:`tinygan.linops.LinearOperator` as a differentiable op.

For y = A x the VJP is x_bar = A^T y_bar: backprop *is* the adjoint. The adjoint is again a linear
operator applied through this same Function, so gradients of gradients come for free.
"""
from __future__ import annotations

from ..autograd import Function


class ApplyLinear(Function):
    name = "linear_operator"

    @staticmethod
    def forward(ctx, x, op):
        return op.apply(x)

    @staticmethod
    def vjp(ctx, g):
        op = ctx.inputs[1]
        return ApplyLinear.apply(g, op.T), None


def apply_linear(op, x):
    """y = A x for a Tensor x (shape ``op.in_shape``, checked by ``op.apply``), differentiable
    through ``op.T``."""
    return ApplyLinear.apply(x, op)
