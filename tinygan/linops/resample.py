"""Resampling as linear operators: Interpolate (nearest, linear, cubic) and AdaptiveAvgPool.

Both act on (N, C, *spatial) one spatial axis at a time (:mod:`.separable`), with PyTorch's tables
(ATen's UpSample.h and AdaptiveAveragePooling), computed in the operator's dtype as PyTorch does
in float32 / float64 ("opmath"). For output index i along an axis of input length n, output m:

* scale ``r``: ``(n-1)/(m-1)`` with align_corners (0 when m = 1), else ``1/scale_factor`` when a
  scale factor is passed on, else ``n/m``.
* source coordinate ``u``: ``r i`` with align_corners, else ``r (i + 1/2) - 1/2`` (clamped at 0
  for linear, not for cubic).
* nearest: ``min(floor(i r), n-1)`` with r in float32 (PyTorch's ``nearest_idx``; m = n is the
  identity, m = 2n halves the index); 'nearest-exact': ``min(floor((i + 1/2) r), n-1)``.
* linear: ``j = min(floor(u), n-1)``, ``l = clamp(u - j, 0, 1)``, taps j and min(j+1, n-1) with
  weights 1-l and l (m = n copies).
* cubic (Keys' kernel, a = -0.75): taps j-1 .. j+2 clamped to [0, n-1], weights
  ``W(l+1), W(l), W(1-l), W(2-l)`` with W(x) = (a+2)|x|^3 - (a+3)|x|^2 + 1 on |x| <= 1 and
  a|x|^3 - 5a|x|^2 + 8a|x| - 4a on 1 < |x| < 2 (R. Keys, "Cubic convolution interpolation for
  digital image processing", 1981).
* adaptive average (``mode='area'``): window ``[floor(i n/m), ceil((i+1) n/m))``, weight 1/length.

The adjoint of each is the same taps read backwards (:class:`.separable.AxisTaps`): a gradient of
an upsampling is a weighted sum over the outputs each input fed.
"""
from __future__ import annotations

import numpy

from .base import _fmt_shape
from .separable import AxisTaps, Separable

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "bicubic", "area")
CUBIC_A = -0.75


def _scale(n: int, m: int, align_corners: bool, scale, dt):
    """PyTorch's area_pixel_compute_scale in dtype ``dt``."""
    if align_corners:
        return dt.type((n - 1) / (m - 1)) if m > 1 else dt.type(0)
    if scale is not None and scale > 0:
        return dt.type(1.0 / scale)
    return dt.type(n) / dt.type(m)


def _source(r, i, align_corners: bool, cubic: bool):
    """Source coordinates u of output indices i (PyTorch's area_pixel_compute_source_index)."""
    i = i.astype(r.dtype)
    if align_corners:
        return r * i
    u = r * (i + r.dtype.type(0.5)) - r.dtype.type(0.5)
    return u if cubic else numpy.maximum(u, r.dtype.type(0))


def _guard(u, n: int):
    """Index j = min(floor(u), n-1) (floor taken in float32, as floorf) and l = clamp(u - j)."""
    j = numpy.minimum(numpy.floor(u.astype(numpy.float32)).astype(numpy.int64), n - 1)
    lam = numpy.clip(u - j.astype(u.dtype), 0, 1).astype(u.dtype)
    return j, lam


def nearest_taps(n: int, m: int, scale=None, exact: bool = False) -> AxisTaps:
    i = numpy.arange(m)
    if not exact and m == n:
        return AxisTaps(n, i)
    if not exact and m == 2 * n:
        return AxisTaps(n, i >> 1)
    r = numpy.float32(1.0 / scale) if scale is not None and scale > 0 else \
        numpy.float32(n) / numpy.float32(m)
    if exact:   # (i + 0.5) * r in double, then floorf (a float32 floor)
        src = numpy.floor(((i + 0.5) * numpy.float64(r)).astype(numpy.float32))
    else:
        src = numpy.floor(i.astype(numpy.float32) * r)
    return AxisTaps(n, numpy.minimum(src.astype(numpy.int64), n - 1))


def linear_taps(n: int, m: int, align_corners: bool, scale, dt) -> AxisTaps:
    i = numpy.arange(m)
    if m == n:
        return AxisTaps(n, numpy.stack([i, i], 1),
                        numpy.stack([numpy.ones(m, dt), numpy.zeros(m, dt)], 1))
    j, lam = _guard(_source(_scale(n, m, align_corners, scale, dt), i, align_corners, False), n)
    j1 = j + (j < n - 1)
    return AxisTaps(n, numpy.stack([j, j1], 1), numpy.stack([dt.type(1) - lam, lam], 1))


def _keys(x, a):
    """Keys' cubic kernel on |x| <= 1 (near) and 1 <= |x| <= 2 (far), PyTorch's expressions."""
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return near, far


def cubic_taps(n: int, m: int, align_corners: bool, scale, dt) -> AxisTaps:
    i = numpy.arange(m)
    j, lam = _guard(_source(_scale(n, m, align_corners, scale, dt), i, align_corners, True), n)
    a, one = dt.type(CUBIC_A), dt.type(1)
    w0 = _keys(lam + one, a)[1]
    w1 = _keys(lam, a)[0]
    w2 = _keys(one - lam, a)[0]
    w3 = _keys(one - lam + one, a)[1]
    index = numpy.clip(j[:, None] - 1 + numpy.arange(4), 0, n - 1)
    return AxisTaps(n, index, numpy.stack([w0, w1, w2, w3], 1).astype(dt))


def area_taps(n: int, m: int, dt) -> AxisTaps:
    """Adaptive average pooling windows [floor(i n / m), ceil((i+1) n / m)) (exact integers)."""
    i = numpy.arange(m)
    start = (i * n) // m
    end = -((-(i + 1) * n) // m)
    width = int((end - start).max()) if m else 1
    index = start[:, None] + numpy.arange(width)
    valid = index < end[:, None]
    weight = (dt.type(1) / (end - start).astype(dt))[:, None] * numpy.ones(width, dt)
    return AxisTaps(n, numpy.where(valid, index, start[:, None]), weight, valid)


class Interpolate(Separable):
    """torch.nn.functional.interpolate on (N, C, *spatial) -> (N, C, *size) (1 to 3 spatial axes).

    ``size`` is the output spatial size; ``scales`` (one per axis, or None) the scale factors that
    PyTorch passes to its kernel (when given, they set r = 1/scale instead of n/m).
    ``mode``: 'nearest', 'nearest-exact', 'linear'/'bilinear'/'trilinear' (the same per-axis
    rule), 'bicubic', 'area' (= AdaptiveAvgPool). A^T spreads each output back over its taps.
    """

    def __init__(self, in_shape, size, mode="nearest", align_corners=False, scales=None,
                 dtype=numpy.float64):
        in_shape = tuple(int(s) for s in in_shape)
        if len(in_shape) < 3:
            raise ValueError(f"Interpolate: expected (N, C, *spatial), got {_fmt_shape(in_shape)}")
        if mode not in MODES:
            raise ValueError(f"Interpolate: unknown mode {mode!r}; choose from {', '.join(MODES)}")
        spatial = in_shape[2:]
        size = tuple(int(s) for s in size)
        scales = (None,) * len(spatial) if scales is None else tuple(scales)
        if len(size) != len(spatial) or len(scales) != len(spatial):
            raise ValueError(f"Interpolate: size {size} / scales {scales} do not match the "
                             f"{len(spatial)} spatial axes of {_fmt_shape(in_shape)}")
        dt = numpy.dtype(dtype) if numpy.dtype(dtype).kind == "f" else numpy.dtype(numpy.float32)
        self.size, self.mode, self.align_corners, self.scales = size, mode, bool(align_corners), scales
        maps = {}
        for k, (n, m, s) in enumerate(zip(spatial, size, scales)):
            if mode in ("nearest", "nearest-exact"):
                maps[2 + k] = nearest_taps(n, m, s, exact=mode == "nearest-exact")
            elif mode == "bicubic":
                maps[2 + k] = cubic_taps(n, m, self.align_corners, s, dt)
            elif mode == "area":
                maps[2 + k] = area_taps(n, m, dt)
            else:
                maps[2 + k] = linear_taps(n, m, self.align_corners, s, dt)
        super().__init__(in_shape, maps, dtype)

    def _repr_params(self):
        params = {"mode": self.mode}
        if self.align_corners:
            params["align_corners"] = True
        return params


class AdaptiveAvgPool(Interpolate):
    """torch adaptive_avg_pool{1,2,3}d: (N, C, *spatial) -> (N, C, *output_size), each output
    the mean of its window [floor(i n/m), ceil((i+1) n/m)) per axis. A^T spreads y / window
    length back over each window."""

    def __init__(self, in_shape, output_size, dtype=numpy.float64):
        super().__init__(in_shape, output_size, "area", dtype=dtype)
