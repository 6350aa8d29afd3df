"""Row-wise similarities and distances with torch.nn.functional's names and formulas:
cosine_similarity and pairwise_distance (cdist, all pairs, is in :mod:`.distance`).

    cosine_similarity(x1, x2, dim, eps) = sum_dim (x1 / N(x1)) (x2 / N(x2)),  N(x) = max(||x||_2, eps)
    pairwise_distance(x1, x2, p, eps)   = || x1 - x2 + eps ||_p   over the last axis

torch clamps the norms of cosine_similarity in place under ``no_grad``: the clamped value divides,
but the gradient flows as if the norm were not clamped. :class:`ClampMinValueOnly` is that
clamp -- max(x, lo) in value, the identity in its VJP -- so our gradients are torch's also for
tiny nonzero vectors (a zero vector gets gradient 0 from the norm's VJP, as in torch).
Both are compositions of differentiable ops, so grad of grad comes from theirs.
"""
from __future__ import annotations

from ..autograd import Function
from ..devices import xp_of
from ._util import broadcast_shape, require_float, to_float
from .activation import vector_norm
from .movement import broadcast_to
from .reduce import sum as _sum


class ClampMinValueOnly(Function):
    """y = max(x, lo) in value; VJP g (the identity): torch's ``x.clamp_(min=lo)`` under no_grad
    on a tensor that stays in the graph (cosine_similarity's norms, gaussian_nll_loss's var)."""
    name = "clamp_min_value_only"

    @staticmethod
    def forward(ctx, a, lo):
        return xp_of(a).maximum(a, a.dtype.type(lo))

    @staticmethod
    def vjp(ctx, g):
        return g, None


def clamp_min_value_only(x, lo):
    """max(x, lo) whose gradient is the identity (see :class:`ClampMinValueOnly`)."""
    return ClampMinValueOnly.apply(x, float(lo))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim`` (the shapes broadcast; the result drops
    ``dim``): sum_dim (x1 / max(||x1||, eps)) (x2 / max(||x2||, eps)), in [-1, 1]. Floating
    inputs only, as torch."""
    require_float(x1, "cosine_similarity")
    require_float(x2, "cosine_similarity")
    shape = broadcast_shape("cosine_similarity", x1.shape, x2.shape)
    ndim = max(len(shape), 1)
    if not -ndim <= dim < ndim:
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for inputs of shapes "
                         f"{x1.shape} and {x2.shape} (broadcast {shape})")
    if x1.shape != shape:
        x1 = broadcast_to(x1, shape)
    if x2.shape != shape:
        x2 = broadcast_to(x2, shape)
    n1 = clamp_min_value_only(vector_norm(x1, 2, dim, keepdim=True), eps)
    n2 = clamp_min_value_only(vector_norm(x2, 2, dim, keepdim=True), eps)
    return _sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """|| x1 - x2 + eps ||_p over the last axis of the broadcast shapes (torch adds eps to the
    difference, so equal rows have distance ||eps||_p, not 0, and a finite gradient). Integer
    inputs give float32, as torch."""
    x1, x2 = to_float(x1), to_float(x2)
    broadcast_shape("pairwise_distance", x1.shape, x2.shape)
    return vector_norm(x1 - x2 + eps, p, -1, keepdim=keepdim)


__all__ = ["cosine_similarity", "pairwise_distance", "clamp_min_value_only"]
