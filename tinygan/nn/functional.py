"""torch.nn.functional's names over tinygan's ops, so PyTorch users feel at home.

Convolutions are the bilinear ops of :mod:`tinygan.ops.conv` (three kernels, closed under
transposition); pooling, upsampling and padding are the linear operators of :mod:`tinygan.linops`
made differentiable by :func:`tinygan.ops.apply_linear` (their VJP is the adjoint A^T).
"""
from __future__ import annotations

import numpy as np

from .. import linops
from ..ops import (apply_linear, binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                   cross_entropy, dropout, l1_loss, leaky_relu, log_sigmoid, log_softmax, mse_loss,
                   nll_loss, relu, sigmoid, softmax, softplus, tanh)
from ..ops import pad as _pad_numpy_style
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling (N, C, H, W) -> (N, C, Ho, Wo), torch's output size; VJP = the operator's
    adjoint (spread each gradient evenly over its window)."""
    if ceil_mode or divisor_override is not None:
        raise NotImplementedError("avg_pool2d: ceil_mode and divisor_override are not supported")
    if input.ndim != 4:
        raise ValueError(f"avg_pool2d: expected input (N, C, H, W), got {input.shape}")
    op = linops.AvgPool(input.shape, kernel_size, stride, padding, count_include_pad, dtype=input.dtype)
    return apply_linear(op, input)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    if ceil_mode:
        raise NotImplementedError("avg_pool1d: ceil_mode is not supported")
    if input.ndim != 3:
        raise ValueError(f"avg_pool1d: expected input (N, C, L), got {input.shape}")
    op = linops.AvgPool(input.shape, kernel_size, stride, padding, count_include_pad, dtype=input.dtype)
    return apply_linear(op, input)


def upsample_nearest2d(input, scale_factor):
    """Nearest-neighbour upsampling by an integer factor (or pair); VJP sums each block."""
    if input.ndim != 4:
        raise ValueError(f"upsample_nearest2d: expected input (N, C, H, W), got {input.shape}")
    return apply_linear(linops.Upsample(input.shape, scale_factor, dtype=input.dtype), input)


def interpolate(input, size=None, scale_factor=None, mode="nearest"):
    """torch's interpolate for mode="nearest" with integer scale factors (or sizes that are
    integer multiples of the input size)."""
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (only 'nearest')")
    spatial = input.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        size = (size,) * len(spatial) if isinstance(size, int) else tuple(size)
        if any(s % n for s, n in zip(size, spatial)):
            raise NotImplementedError(f"interpolate: size {size} is not an integer multiple of {spatial}")
        scale_factor = tuple(s // n for s, n in zip(size, spatial))
    factors = np.broadcast_to(np.asarray(scale_factor), (len(spatial),))
    if not np.all(factors == np.round(factors)):
        raise NotImplementedError(f"interpolate: only integer scale factors, got {scale_factor}")
    op = linops.Upsample(input.shape, tuple(int(f) for f in factors), dtype=input.dtype)
    return apply_linear(op, input)


def pad(input, pad, mode="constant", value=0.0):
    """torch's F.pad: ``pad`` lists (left, right) of the last axis first, then the one before...
    Only constant padding; negative entries (cropping) are rejected."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported (only 'constant')")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {pad} must have an even length of at most 2 * {input.ndim} "
                         f"for an input of shape {input.shape}")
    width = [(0, 0)] * input.ndim
    for k in range(len(pad) // 2):
        width[input.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return _pad_numpy_style(input, width, value)


# ---- activations and elementwise math (issue 18): torch.nn.functional's names ------------------
from ..ops.activation import (celu, elu, gelu, hardsigmoid, hardswish, mish, normalize, selu,  # noqa: E402,F401
                              silu, softmin, softsign)
from ..ops.activation import softplus  # noqa: E402,F401,F811 -- torch's (beta, threshold) softplus
