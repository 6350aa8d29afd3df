"""Gradient reversal (Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation").

    forward:   R(x) = x                        (any shape)
    backward:  dL/dx = -lambda * dL/dR          (the VJP is -lambda times the identity)

Put between a feature extractor F and a domain classifier D, one backward pass of the domain loss
L_d(D(R(F(x)))) gives D the gradient that *lowers* L_d and F the gradient that *raises* it (times
lambda): the minimax game  min_F max_D [ -L_d ]  played with ordinary gradient descent on every
parameter at once. The VJP is written with a Tensor op (``g * -lambda``), so it can be
differentiated again: the reversal's second derivative is zero and the VJP of its VJP is again
-lambda times the identity.

PyTorch has no such layer; the usual recipe is ``torch.autograd.Function`` with ``forward``
returning ``x.view_as(x)`` and ``backward`` returning ``-lambda * grad``, which is what this is.
"""
from __future__ import annotations

import math
import numbers

from ..autograd import Function
from ..tensor import Tensor
from .module import Module


def _check_lambda(lambda_, who: str) -> float:
    if isinstance(lambda_, bool) or not isinstance(lambda_, numbers.Real):
        raise TypeError(f"{who}: lambda_ must be a real number, got {type(lambda_).__name__}")
    value = float(lambda_)
    if not math.isfinite(value):
        raise ValueError(f"{who}: lambda_ must be finite, got {value}")
    return value


class GradientReversalFunction(Function):
    """The custom autograd Function: identity forward, -lambda * g backward."""

    name = "gradient_reversal"

    @staticmethod
    def forward(ctx, x, lambda_):
        ctx.lambda_ = lambda_
        return x.view()            # a new array header on the same memory, like torch's view_as

    @staticmethod
    def vjp(ctx, g):
        return g * (-ctx.lambda_), None


def gradient_reversal(x: Tensor, lambda_: float = 1.0) -> Tensor:
    """x (any shape, floating) -> x, whose gradient is multiplied by -lambda_ on the way back.

    lambda_ = 0 blocks the gradient (the output still records the graph); lambda_ < 0 is accepted
    (it makes the layer a gradient *scaler*)."""
    lam = _check_lambda(lambda_, "gradient_reversal")
    if not isinstance(x, Tensor):
        raise TypeError(f"gradient_reversal: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"gradient_reversal: expected a floating tensor, got dtype {x.dtype} "
                        f"(shape {tuple(x.shape)})")
    return GradientReversalFunction.apply(x, lam)


class GradientReversal(Module):
    """``GradientReversal(lambda_=1.0)``: the identity forward, -lambda_ times the gradient backward.

    ``lambda_`` is a plain attribute, so a schedule sets it between steps (the paper's
    lambda_p = 2 / (1 + exp(-10 p)) - 1, p the training progress in [0, 1]). It holds no parameter
    and nothing in its state_dict: a trainer saves its schedule itself."""

    def __init__(self, lambda_: float = 1.0):
        super().__init__()
        self.lambda_ = _check_lambda(lambda_, "GradientReversal")

    def forward(self, x):
        return gradient_reversal(x, self.lambda_)

    def extra_repr(self):
        return f"lambda_={self.lambda_:g}"
