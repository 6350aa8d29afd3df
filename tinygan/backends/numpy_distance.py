"""The numpy backend's pairwise L1 distances (``torch.cdist`` with p = 1), the kernel of
minibatch discrimination. Same contract as :mod:`tinygan.backends.reference` (the spec, tested
against it); written against ``xp``, so the cpp backend's fallback reuses it.

``cdist_l1(x1, x2) -> d``
    ``d[b, i, j] = sum_m |x1[b, i, m] - x2[b, j, m]|``: x1 ``(B, P, M)``, x2 ``(B, R, M)``.
``cdist_l1_vjp(x1, x2, g) -> (dx1, dx2)``
    with ``s[b, i, j, m] = sign(x1[b, i, m] - x2[b, j, m])``:
    ``dx1[b, i, m] = sum_j g[b, i, j] s[b, i, j, m]`` and ``dx2[b, j, m] = -sum_i g[b, i, j] s[b, i, j, m]``.

The spec broadcasts to (B, P, R, M) at once; here the sum over m runs as a loop of (B, P, R)
passes (M is small: 5 in the default D), so no 4-D temporary is made.
"""
from __future__ import annotations

from ..devices import xp_of

__all__ = ["cdist_l1", "cdist_l1_vjp"]


def cdist_l1(x1, x2):
    xp = xp_of(x1)
    d = xp.zeros((x1.shape[0], x1.shape[1], x2.shape[1]), dtype=x1.dtype)
    for m in range(x1.shape[2]):
        d += xp.abs(x1[:, :, None, m] - x2[:, None, :, m])
    return d


def cdist_l1_vjp(x1, x2, g):
    xp = xp_of(x1)
    dx1, dx2 = xp.empty(x1.shape, dtype=x1.dtype), xp.empty(x2.shape, dtype=x2.dtype)
    for m in range(x1.shape[2]):
        gs = g * xp.sign(x1[:, :, None, m] - x2[:, None, :, m])
        dx1[:, :, m] = gs.sum(2)
        dx2[:, :, m] = -gs.sum(1)
    return dx1, dx2
