"""torch.nn.functional.interpolate (and the older upsample names): resampling of (N, C, *spatial).

Every mode is linear in the input, so the op is :class:`tinygan.linops.Interpolate` applied with
:func:`.linear.apply_linear`: its VJP is the operator's adjoint (each output's gradient sent back
along the taps that made it), which differentiates again. The sizes, scale factors and tables
are PyTorch's (see :mod:`tinygan.linops.resample` for the formulas):

* ``size`` sets the output size; ``scale_factor`` sets it to floor(n * scale) per axis, and is
  also passed to the kernel (r = 1/scale) unless ``recompute_scale_factor=True`` (then r = n/m).
* ``align_corners`` (linear / bilinear / trilinear / bicubic only; default False) maps the corner
  pixel centres onto each other: r = (n-1)/(m-1).
* modes: 'nearest', 'nearest-exact', 'linear' (3-D input), 'bilinear' / 'bicubic' (4-D),
  'trilinear' (5-D), 'area' (adaptive average pooling). ``antialias`` is not supported.
"""
from __future__ import annotations

import math
import numbers

from .. import linops
from .linear import apply_linear

_ALIGNED = ("linear", "bilinear", "bicubic", "trilinear")
_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """torch.nn.functional.interpolate: (N, C, *spatial) -> (N, C, *size); see the module doc."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    spatial = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"interpolate: Input and output must have the same number of "
                                 f"spatial dimensions, but got input with spatial dimensions of "
                                 f"{list(spatial)} and output size of {size}")
            if not all(_is_int(v) for v in size):
                raise TypeError(f"interpolate: expected size to be one of int or Tuple[int], but "
                                f"got size with types {[type(v) for v in size]}")
            out = tuple(int(v) for v in size)
        elif _is_int(size):
            out = (int(size),) * dim
        else:
            raise TypeError(f"interpolate: expected size to be an int or a tuple of ints, got "
                            f"{size!r}")
        scales = None
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(f"interpolate: Input and scale_factor must have the same number "
                                 f"of spatial dimensions, but got input with spatial dimensions "
                                 f"of {list(spatial)} and scale_factor of shape {scale_factor}")
            scales = tuple(float(s) for s in scale_factor)
        else:
            scales = (float(scale_factor),) * dim
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                         "explicit size.")
    if recompute_scale_factor or mode == "area":
        scales = None
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    valid = mode in ("nearest", "nearest-exact", "area") and 3 <= input.ndim <= 5
    if mode in _RANK:
        if input.ndim != _RANK[mode] and 3 <= input.ndim <= 5:
            raise NotImplementedError(f"interpolate: Got {input.ndim}D input, but {mode} mode "
                                      f"needs {_RANK[mode]}D input")
        valid = input.ndim == _RANK[mode]
    if not valid:
        raise NotImplementedError(
            f"interpolate: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact"
            f" (got {mode})")
    if min(spatial) < 1 or min(out) < 1:
        raise RuntimeError(f"interpolate: Input and output sizes should be greater than 0, but "
                           f"got input {spatial} output {out}")
    if input.dtype.kind != "f":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented for "
                                  f"{input.dtype} input")
    op = linops.Interpolate(input.shape, out, mode, bool(align_corners), scales,
                            dtype=input.dtype)
    return apply_linear(op, input)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """torch.nn.functional.upsample (deprecated there): :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """torch.nn.functional.upsample_nearest: interpolate(..., mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """torch.nn.functional.upsample_bilinear: bilinear with align_corners=True."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
