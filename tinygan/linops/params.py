"""Hyper-parameter normalisation shared by the conv-family operators.

1-D operators run on the 2-D kernels with H = 1: (N,C,L) is viewed as (N,C,1,L), a kernel of size
K as (1,K), stride s as (1,s), padding p as (0,p). These helpers do that bookkeeping in one place.
"""
from __future__ import annotations

from .shapes import pair


def spatial_ndim(in_shape, op: str) -> int:
    """1 for (N,C,L), 2 for (N,C,H,W); anything else is an error naming ``op``."""
    if len(in_shape) not in (3, 4):
        raise ValueError(f"{op}: expected an input shape (N,C,L) or (N,C,H,W), "
                         f"got {tuple(in_shape)}")
    return len(in_shape) - 2


def as_pair(value, ndim: int, name: str, op: str, fill: int) -> tuple[int, int]:
    """An int or an ``ndim``-tuple as the (H, W) pair of the 2-D kernels (``fill`` for H in 1-D)."""
    if ndim == 2:
        return pair(value, name, op)
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} for a 1-D operator must be an int or a 1-tuple, "
                             f"got {value!r}")
        value = value[0]
    return fill, pair(value, name, op)[1]


def as_4d_shape(shape) -> tuple[int, ...]:
    """(N,C,L) -> (N,C,1,L); a 4-D shape is returned as is."""
    shape = tuple(shape)
    return shape[:2] + (1,) + shape[2:] if len(shape) == 3 else shape


def user_value(value: tuple[int, int], ndim: int):
    """The inverse of ``as_pair`` for reprs: (1,s) -> s in 1-D, (a,b) stays a pair in 2-D."""
    return value[1] if ndim == 1 else value
