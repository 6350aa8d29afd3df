r"""Pairwise distances, ``cdist`` (torch.cdist): for x1 (*, P, M) and x2 (*, R, M),

    d[..., i, j] = || x1[..., i, :] - x2[..., j, :] ||_p            -> (*, P, R)

the leading axes broadcast. The plain definition is the p-norm (:func:`vector_norm`) of the
broadcast difference x1[..., :, None, :] - x2[..., None, :, :] over its last axis: differentiable
by composition, for every p >= 0 (0: the count of differing entries, inf: the largest).

p = 1 -- minibatch discrimination's distance (:mod:`tinygan.nn.minibatch`) -- also has fused
kernels on the CPU (``cdist_l1`` / ``cdist_l1_vjp`` in the kernel registry; the plain NumPy
statement of both is in :mod:`tinygan.backends.reference`), which never store the (*, P, R, M)
difference:

    forward   d[b, i, j]   =  sum_m |x1[b, i, m] - x2[b, j, m]|
    VJP       dx1[b, i, m] =  sum_j g[b, i, j] s[b, i, j, m]
              dx2[b, j, m] = -sum_i g[b, i, j] s[b, i, j, m],   s = sign(x1[b, i, m] - x2[b, j, m])

s is piecewise constant in x1 and x2, so the VJP is linear in g with x fixed (its derivative in
x is 0 almost everywhere, as for |x| itself). When a graph of the gradient is wanted (grad of
grad, ``create_graph=True``) the VJP is that linear map written with Tensor ops; otherwise the
kernel computes it in one pass.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from ..autograd import Function, is_grad_enabled
from ..devices import device_of, xp_of
from ._util import constant
from .activation import vector_norm
from .movement import broadcast_to, reshape

COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist")


class CdistL1(Function):
    """d = cdist(x1, x2, p=1) for x1 (B, P, M), x2 (B, R, M): kernels ``cdist_l1`` and
    ``cdist_l1_vjp`` (the module docstring has both equations)."""
    name = "cdist"

    @staticmethod
    def forward(ctx, x1, x2):
        return backends.get("cdist_l1", device_of(x1))(x1, x2)

    @staticmethod
    def vjp(ctx, g):
        x1, x2 = ctx.inputs[0].data, ctx.inputs[1].data
        if is_grad_enabled():              # create_graph: the same linear map of g, on the graph
            s = constant(xp_of(x1).sign(x1[:, :, None, :] - x2[:, None, :, :]))
            gs = g.unsqueeze(3) * s
            return gs.sum(2), -gs.sum(1)
        dx1, dx2 = backends.get("cdist_l1_vjp", device_of(x1))(x1, x2, g.data)
        return constant(dx1), constant(dx2)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """torch.cdist: the p-norm distance of every row of x1 (*, P, M) to every row of x2 (*, R, M),
    (*, P, R) with the leading axes broadcast.

    Unsupported: compute_mode's matrix-product shortcut (distances always come from differences)
    -- the argument is accepted and checked; torch's shortcut for p = 2 matches to rounding."""
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
        if x.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]}")
    if not p >= 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if compute_mode not in COMPUTE_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    try:
        batch = tuple(np.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2])))
    except ValueError:
        raise RuntimeError(f"cdist: the batch shapes of x1 {tuple(x1.shape)} and x2 "
                           f"{tuple(x2.shape)} do not broadcast") from None
    (P, M), R = x1.shape[-2:], x2.shape[-2]
    if float(p) == 1.0 and device_of(x1.data) == "cpu":
        n = math.prod(batch)
        a = reshape(broadcast_to(x1, batch + (P, M)), (n, P, M))
        b = reshape(broadcast_to(x2, batch + (R, M)), (n, R, M))
        return reshape(CdistL1.apply(a, b), batch + (P, R))
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), float(p), dim=-1)
