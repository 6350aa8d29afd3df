r"""Differentiable augmentation of D's inputs (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable
Augmentation for Data-Efficient GAN Training"): D sees every image -- real, and generated for both
players' losses -- randomly translated and with a square cut out, so it cannot memorise a small
training set; the same random transform applies to G's samples, so G's gradient passes through it.

Both transforms of one image are one linear operator, a gather with a keep mask
(:class:`tinygan.linops.PlaneGather`). With x in [-1, 1] and the background at ``fill`` (-1 for
MNIST)::

    y[n, c, i, j] = fill + keep[n, i, j] * (x[n, c, i + ty_n, j + tx_n] - fill)
    keep[n, i, j] = [0 <= i + ty_n < H and 0 <= j + tx_n < W] * [(i, j) outside the cut-out square of n]

translation: ty, tx uniform integers in [-s, s], s = round(ratio H) (ratio 1/8: +-4 pixels on 28);
cutout: a square of side round(H / 2) whose centre is uniform over the image (clipped at the border).
The map x - fill -> y - fill is linear, so the VJP is the gather's adjoint (a scatter of the kept
pixels back to where they came from) and grad of grad comes for free. The paper's code fills
with 0, the mid grey of its [-1, 1] CIFAR images; MNIST's background is -1, so a translated digit
keeps a clean background here.
"""
from __future__ import annotations

import numpy as np

from .. import linops
from ..devices import move
from ..ops.linear import apply_linear
from ..random import get_generator
from .module import Module

POLICIES = ("translation", "cutout")
TRANSLATION_RATIO, CUTOUT_RATIO = 0.125, 0.5        # the paper's code's defaults


def parse_policy(text: str) -> tuple[str, ...]:
    """"translation,cutout" -> ("translation", "cutout"); ValueError naming an unknown part."""
    parts = tuple(p.strip() for p in str(text).split(",") if p.strip())
    unknown = [p for p in parts if p not in POLICIES]
    if unknown or not parts or len(set(parts)) != len(parts):
        raise ValueError(f"augmentation policy {text!r}: give one or more of {', '.join(POLICIES)}, "
                         "comma-separated, each once")
    return tuple(p for p in POLICIES if p in parts)          # a fixed order: the draws are reproducible


def augment_index(shape, policy, generator=None):
    """The gather of :func:`diff_augment` for images of ``shape`` (N, C, H, W): (index, keep), both
    (N, C, H, W), index the flat source position in each plane, keep the mask above."""
    n, c, h, w = shape
    rng = get_generator(generator)
    ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    src_i, src_j = np.broadcast_to(ii, (n, h, w)), np.broadcast_to(jj, (n, h, w))
    keep = np.ones((n, h, w), dtype=bool)
    if "translation" in policy:                     # the paper's rand_translation
        si, sj = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
        ty, tx = rng.integers(-si, si + 1, (n,)), rng.integers(-sj, sj + 1, (n,))
        src_i, src_j = src_i + ty[:, None, None], src_j + tx[:, None, None]
        keep &= (src_i >= 0) & (src_i < h) & (src_j >= 0) & (src_j < w)
    if "cutout" in policy:                          # the paper's rand_cutout: rows [top, top + ch)
        ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
        top = rng.integers(0, h + (1 - ch % 2), (n,)) - ch // 2
        left = rng.integers(0, w + (1 - cw % 2), (n,)) - cw // 2
        rows = (ii[None] >= top[:, None, None]) & (ii[None] < top[:, None, None] + ch)
        cols = (jj[None] >= left[:, None, None]) & (jj[None] < left[:, None, None] + cw)
        keep &= ~(rows & cols)
    index = np.where(keep, np.clip(src_i, 0, h - 1) * w + np.clip(src_j, 0, w - 1), 0)
    return (np.ascontiguousarray(np.broadcast_to(index[:, None], shape)),
            np.ascontiguousarray(np.broadcast_to(keep[:, None], shape)))


def diff_augment(x, policy=POLICIES, generator=None, fill: float = -1.0):
    """x (N, C, H, W) -> the same shape, each image translated and / or cut out (module docstring);
    differentiable in x. ``policy``: a tuple of :data:`POLICIES` or their comma-separated string."""
    if isinstance(policy, str):
        policy = parse_policy(policy)
    if x.ndim != 4:
        raise ValueError(f"diff_augment: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    index, keep = augment_index(tuple(x.shape), policy, generator)
    gather = linops.PlaneGather(x.shape, move(index, x.device), move(keep, x.device), dtype=x.dtype)
    return apply_linear(gather, x - fill) + fill


class DiffAugment(Module):
    """``DiffAugment(policy="translation,cutout", fill=-1.0, generator=None)``: :func:`diff_augment`
    in training mode, the identity in eval mode. Put first in D: every image D judges in training
    is augmented, real or generated, in D's loss and in G's. No PyTorch counterpart."""

    def __init__(self, policy="translation,cutout", fill: float = -1.0, generator=None):
        super().__init__()
        self.policy = parse_policy(policy) if isinstance(policy, str) else tuple(policy)
        self.fill, self.generator = float(fill), generator

    def forward(self, x):
        return diff_augment(x, self.policy, self.generator, self.fill) if self.training else x

    def extra_repr(self):
        return f"policy={','.join(self.policy)}, fill={self.fill}"
