"""Channel dropout: ``nn.Dropout1d`` / ``F.dropout1d`` and ``nn.Dropout2d`` / ``F.dropout2d``
(Tompson et al., "Efficient Object Localization Using Convolutional Networks": neighbouring
pixels are correlated, so drop whole feature maps).

y[n, c] = x[n, c] * keep[n, c] / (1 - p), one Bernoulli(1 - p) draw per (sample, channel). The op
is dropout's ``MaskedScale`` with the channel mask spread over the plane: diagonal and linear in x,
so its VJP is itself with the same mask.
"""
from __future__ import annotations

import numpy as np

from ..devices import move
from ..ops.loss import MaskedScale
from ..random import get_generator
from .module import Module


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """Zero whole channels of an (N, C, H, W) input (or (N, C, L), torch's 1-D channel behaviour)
    with probability p, scaling kept ones by 1/(1-p); identity when not training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input (N, C, H, W), got shape {input.shape}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    channels = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = get_generator(generator).keep_mask(channels, p)
    keep = np.ascontiguousarray(np.broadcast_to(keep, input.shape))
    return MaskedScale.apply(input, move(keep, input.device), 1.0 / (1.0 - p))


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """Zero whole channels of an (N, C, L) input (or unbatched (C, L)) with probability p, one
    Bernoulli(1 - p) draw per (sample, channel), scaling kept ones by 1/(1-p); identity when not
    training. Diagonal and linear in x: the VJP is the same masked scale."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout1d: dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input "
                           f"(shape {input.shape}); dropout1d drops channels of (N, C, L) or (C, L)")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = get_generator(generator).keep_mask(input.shape[:-1] + (1,), p)
    keep = np.ascontiguousarray(np.broadcast_to(keep, input.shape))
    return MaskedScale.apply(input, move(keep, input.device), 1.0 / (1.0 - p))


class Dropout1d(Module):
    """``Dropout1d(p=0.5, inplace=False)``: zero whole channels of (N, C, L) / (C, L) in training
    mode (see :func:`dropout1d`); the identity in eval mode. ``inplace`` is accepted, not in place."""

    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout1d: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = float(p), bool(inplace), generator

    def forward(self, x):
        return dropout1d(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """``Dropout2d(p=0.5, inplace=False)``: zero whole channels in training mode (see
    :func:`dropout2d`); the identity in eval mode. ``inplace`` is accepted, not in place."""

    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p must be in [0, 1], got {p}")
        self.p, self.inplace, self.generator = float(p), bool(inplace), generator

    def forward(self, x):
        return dropout2d(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}"


class GaussianNoise(Module):
    """``GaussianNoise(std)``: y = x + std * eps, eps ~ N(0, I) of x's shape, in training mode; the
    identity in eval mode. Additive noise is Salimans et al.'s regulariser of the semi-supervised
    discriminator ("Improved Techniques for Training GANs": std 0.3 on the input, 0.5 on each
    layer). The noise is a constant, so the VJP is the identity. No PyTorch counterpart."""

    def __init__(self, std: float, generator=None):
        super().__init__()
        if not std >= 0.0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std, self.generator = float(std), generator

    def forward(self, x):
        if not self.training or self.std == 0.0:
            return x
        eps = get_generator(self.generator).normal(tuple(x.shape), np.dtype(x.dtype))
        return x + move(eps * np.asarray(self.std, eps.dtype), x.device)

    def extra_repr(self):
        return f"std={self.std}"
