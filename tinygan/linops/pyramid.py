"""The Laplacian pyramid as a pair of linear operators: analysis A and synthesis S, with S A = I.

Burt & Adelson, "The Laplacian Pyramid as a Compact Image Code" (1983), as Denton, Chintala, Szlam
& Fergus use it in "Deep Generative Image Models using a Laplacian Pyramid of Adversarial
Networks" (2015). With a downsampling d and an upsampling u (both linear), an image I_0 = x of
(N, C, H, W) has the levels

    I_{k+1} = d I_k,        h_k = I_k - u I_{k+1}       (k = 0 .. K-1),      coarse I_K,

and is rebuilt from the coarse image and the residuals, finest last:

    I_k = u I_{k+1} + h_k       (k = K-1 .. 0).

Whatever d and u are, the synthesis undoes the analysis: the residual holds exactly what the
up-sampled coarser level misses. Here d is the 2 x 2 mean (:class:`.AvgPool`, kernel 2, stride 2)
and u the bilinear x2 upsampling (:class:`.Interpolate`, ``align_corners=False``); each level
halves H and W, so 28 x 28 digits give 28 -> 14 -> 7.

:class:`LaplacianPyramid` is A: x (N, C, H, W) -> packed (N, C, P), the residuals h_0 (finest)
.. h_{K-1} and the coarse I_K flattened and concatenated along the last axis (P = sum of H_k W_k);
:meth:`LaplacianPyramid.split` / :meth:`LaplacianPyramid.pack` go between packed arrays and the
list of levels. ``A.synthesis`` is S: packed -> x. Their adjoints, by reverse-mode accumulation:

    A^T: a = g_K;  for k = K-1 .. 0:  a = g_k + d^T (a - u^T g_k)        (returns a)
    S^T: a = g;    for k = 0 .. K-1:  g_k = a,  a = u^T a                 (g_K = a)
"""
from __future__ import annotations

import functools

import numpy

from .base import LinearOperator, _fmt_shape, array_module
from .pool import AvgPool
from .resample import Interpolate


def down_operator(in_shape, dtype=numpy.float64) -> AvgPool:
    """d: (N, C, H, W) -> (N, C, H/2, W/2), the mean of each 2 x 2 block (H, W even)."""
    in_shape = tuple(int(s) for s in in_shape)
    if len(in_shape) != 4 or in_shape[2] % 2 or in_shape[3] % 2:
        raise ValueError(f"pyramid: the 2 x 2 downsampling needs (N, C, H, W) with H and W even, "
                         f"got {_fmt_shape(in_shape)}")
    return AvgPool(in_shape, 2, dtype=dtype)


def up_operator(in_shape, dtype=numpy.float64) -> Interpolate:
    """u: (N, C, H, W) -> (N, C, 2H, 2W), bilinear (torch interpolate, scale 2, align_corners False)."""
    in_shape = tuple(int(s) for s in in_shape)
    if len(in_shape) != 4:
        raise ValueError(f"pyramid: the x2 upsampling needs (N, C, H, W), got {_fmt_shape(in_shape)}")
    return Interpolate(in_shape, (2 * in_shape[2], 2 * in_shape[3]), "bilinear", dtype=dtype)


@functools.lru_cache(maxsize=64)
def up(in_shape, dtype=numpy.float32) -> Interpolate:
    """:func:`up_operator`, built once per (shape, dtype): the models call it every step."""
    return up_operator(in_shape, numpy.dtype(dtype))


class LaplacianPyramid(LinearOperator):
    """A: images (N, C, H, W) -> packed levels (N, C, P), ``levels`` - 1 residuals then the coarse
    image (the module docstring); ``shapes`` lists each level's (H_k, W_k), finest first."""

    per_sample = True

    def __init__(self, in_shape, levels: int = 3, dtype=numpy.float64):
        in_shape = tuple(int(s) for s in in_shape)
        if int(levels) < 1:
            raise ValueError(f"LaplacianPyramid: levels must be >= 1, got {levels}")
        if len(in_shape) != 4:
            raise ValueError(f"LaplacianPyramid: expected (N, C, H, W), got {_fmt_shape(in_shape)}")
        self.levels = int(levels)
        self.downs, self.ups, shape = [], [], in_shape
        self.shapes = [in_shape[2:]]
        for _ in range(self.levels - 1):
            d = down_operator(shape, dtype)
            self.downs.append(d)
            self.ups.append(up_operator(d.out_shape, dtype))
            shape = d.out_shape
            self.shapes.append(shape[2:])
        self.sizes = [h * w for h, w in self.shapes]
        super().__init__(in_shape, in_shape[:2] + (sum(self.sizes),), dtype)

    # -- packing --------------------------------------------------------------------------------
    def split(self, packed) -> list:
        """Packed (N, C, P) -> [h_0, ..., h_{K-1}, I_K], each (N, C, H_k, W_k)."""
        ends = numpy.cumsum(self.sizes)
        return [packed[..., e - s:e].reshape(packed.shape[:2] + hw)
                for s, e, hw in zip(self.sizes, ends, self.shapes)]

    def pack(self, levels) -> "numpy.ndarray":
        """[h_0, ..., h_{K-1}, I_K] -> packed (N, C, P) (the inverse of :meth:`split`)."""
        xp = array_module(levels[0])
        return xp.concatenate([v.reshape(v.shape[:2] + (-1,)) for v in levels], axis=-1)

    # -- A and A^T ------------------------------------------------------------------------------
    def _apply(self, x):
        out, image = [], x
        for d, u in zip(self.downs, self.ups):
            coarser = d._apply(image)
            out.append(image - u._apply(coarser))
            image = coarser
        return self.pack(out + [image])

    def _adjoint(self, y):
        g = self.split(y)
        a = g[-1]
        for k in reversed(range(self.levels - 1)):
            a = g[k] + self.downs[k]._adjoint(a - self.ups[k]._adjoint(g[k]))
        return a

    @property
    def synthesis(self) -> "PyramidSynthesis":
        """S: packed levels -> images, a left inverse of A (S A = I; A S is the projection onto
        the packed arrays that are some image's pyramid)."""
        return PyramidSynthesis(self)

    def _repr_params(self):
        return {"levels": self.levels}


class PyramidSynthesis(LinearOperator):
    """S: packed levels (N, C, P) -> images (N, C, H, W), I_k = u I_{k+1} + h_k from the coarse
    image up; S A = I for the :class:`LaplacianPyramid` A it is built from."""

    per_sample = True

    def __init__(self, analysis: LaplacianPyramid):
        super().__init__(analysis.out_shape, analysis.in_shape, analysis.dtype)
        self.analysis = analysis

    def _apply(self, y):
        levels = self.analysis.split(y)
        image = levels[-1]
        for k in reversed(range(self.analysis.levels - 1)):
            image = self.analysis.ups[k]._apply(image) + levels[k]
        return image

    def _adjoint(self, x):
        grads, a = [], x
        for u in self.analysis.ups:
            grads.append(a)
            a = u._adjoint(a)
        return self.analysis.pack(grads + [a])

    def __repr__(self) -> str:
        return f"{self.analysis!r}.synthesis"


def pyramid_shapes(size: int, levels: int) -> list:
    """The side of each level of a ``size`` x ``size`` image, finest first (28, 3 -> [28, 14, 7])."""
    sides = [int(size)]
    for _ in range(int(levels) - 1):
        if sides[-1] % 2:
            raise ValueError(f"pyramid: {size} x {size} cannot be halved {levels - 1} times")
        sides.append(sides[-1] // 2)
    return sides


__all__ = ["LaplacianPyramid", "PyramidSynthesis", "down_operator", "up_operator", "up",
           "pyramid_shapes"]
