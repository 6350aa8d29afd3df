"""Dense: a fully connected layer's matrix W acting on the last axis."""
from __future__ import annotations

from .base import LinearOperator, _fmt_shape, array_module


class Dense(LinearOperator):
    """x (..., n) -> x @ W^T (..., m) for W (m, n); A^T y = y @ W.

    Every row of x is multiplied by the same W, so the matrix of A is kron(I, W).
    """

    def __init__(self, W, in_shape):
        in_shape = tuple(in_shape)
        if W.ndim != 2 or not in_shape or in_shape[-1] != W.shape[1]:
            raise ValueError(f"Dense: W of shape {_fmt_shape(W.shape)} cannot act on the last axis "
                             f"of shape {_fmt_shape(in_shape)}")
        super().__init__(in_shape, in_shape[:-1] + (W.shape[0],), W.dtype, array_module(W))
        self.W = W
        # Axis 0 is a batch axis unless x is a single vector.
        self.per_sample = len(in_shape) > 1

    def _apply(self, x):
        return x @ self.W.T

    def _adjoint(self, y):
        return y @ self.W
