"""layer_norm, group_norm, instance_norm: batch normalisation over other groupings of the axes.

Each normalises groups of values to zero mean and unit (biased) variance,
``xhat = (x - mean) / sqrt(var + eps)``, then applies a per-feature affine map:

* layer_norm(x, normalized_shape): one group per leading index, over the trailing
  ``normalized_shape`` axes; weight / bias have shape ``normalized_shape`` (Ba, Kiros, Hinton,
  "Layer Normalization", 2016).
* group_norm(x, G): x (N, C, *); one group per (sample, group of C/G channels); weight / bias (C,)
  (Wu, He, "Group Normalization", 2018).
* instance_norm(x): one group per (sample, channel), over the spatial axes; weight / bias (C,);
  optional running statistics (Ulyanov, Vedaldi, Lempitsky, "Instance Normalization", 2016).

All three reshape x to (1, groups, values) and call the batch-norm op
(:class:`.norm.BatchNorm`, kernels ``batchnorm_fwd`` / ``batchnorm_bwd`` from the registry), whose
channels are then exactly these groups -- PyTorch's own instance_norm does the same. Its VJP is the
closed form ``dx = invstd * (g - mean(g) - xhat * mean(g * xhat))``, composed from Tensor ops
under ``create_graph``, so grad of grad works; the affine part is ordinary broadcasting ops.
"""
from __future__ import annotations

import math
import numbers

from ..tensor import Tensor
from .movement import broadcast_to, reshape
from .norm import BatchNorm
from .reduce import mean


def _standardize(x, groups: int, eps: float):
    """x viewed as (1, groups, -1), each row normalised; returned in x's shape."""
    if x.numel() == 0:
        return x * 1.0
    x3 = reshape(x, (1, groups, x.numel() // groups))
    if x3.shape[2] > 1:
        y = BatchNorm.apply(x3, None, None, None, None, True, 0.0, float(eps))
    else:   # one value per group: var = 0, xhat = 0 * eps^(-1/2) (the kernels need two values)
        y = (x3 - mean(x3, 2, keepdims=True)) * (1.0 / math.sqrt(eps))
    return reshape(y, x.shape)


def _shape_of(t):
    return None if t is None else tuple(t.shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: normalise over the trailing ``normalized_shape`` axes,
    then ``* weight + bias`` (both of shape ``normalized_shape``, or None)."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, numbers.Integral) \
        else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"layer_norm: Given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape_of(t) != shape:
            raise RuntimeError(f"layer_norm: Expected {name} to be of same shape as "
                               f"normalized_shape, but got {name} of shape {list(t.shape)} and "
                               f"normalized_shape = {list(shape)}")
    lead = math.prod(input.shape[:input.ndim - k])
    y = _standardize(input, lead, eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _channel_affine(y, weight, bias, op: str):
    """y * weight[c] + bias[c] along axis 1."""
    c = y.shape[1]
    view = (1, c) + (1,) * (y.ndim - 2)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and _shape_of(t) != (c,):
            raise RuntimeError(f"{op}: Expected {name} of shape ({c},) for an input of shape "
                               f"{list(y.shape)}, but got {name} of shape {list(t.shape)}")
    if weight is not None:
        y = y * reshape(weight, view)
    if bias is not None:
        y = y + reshape(bias, view)
    return y


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.group_norm: x (N, C, *) with C divisible by ``num_groups``; statistics
    per sample over each group of C/G channels (and all spatial positions)."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim}")
    n, c = input.shape[:2]
    if isinstance(num_groups, numbers.Integral) and num_groups >= 1 and \
            n * c // num_groups * math.prod(input.shape[2:]) == 1:    # PyTorch's own check
        raise ValueError(f"group_norm: Expected more than 1 value per channel when training, got "
                         f"input size {[n * c // num_groups, num_groups] + list(input.shape[2:])}")
    if not isinstance(num_groups, numbers.Integral) or num_groups < 1 or c % num_groups:
        raise RuntimeError(f"group_norm: Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    y = _standardize(input, n * int(num_groups), eps)
    return _channel_affine(y, weight, bias, "group_norm")


def _repeat(t, n: int):
    """(C,) -> (n*C,): t tiled n times, differentiably."""
    return reshape(broadcast_to(reshape(t, (1, t.shape[0])), (n, t.shape[0])), (n * t.shape[0],))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """torch.nn.functional.instance_norm: x (N, C, *spatial); statistics per (sample, channel)
    over the spatial axes (``use_input_stats``), else the running statistics (eval).

    Running statistics (C,) are updated in place when given and ``use_input_stats``: each
    instance updates its copy as batch norm does (unbiased variance, ``momentum``) and the
    copies are averaged over N -- PyTorch's rule."""
    if input.ndim < 2:
        raise ValueError(f"instance_norm: expected an input (N, C, ...), got shape {input.shape}")
    n, c = input.shape[:2]
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"instance_norm: Expected more than 1 spatial element when training, "
                         f"got input size {list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and _shape_of(t) != (c,):
            raise RuntimeError(f"instance_norm: {name} should contain {c} elements (one per "
                               f"channel of an input of shape {list(input.shape)}), not "
                               f"{math.prod(t.shape)}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
    stats = [None if t is None else (t.data if isinstance(t, Tensor) else t)
             for t in (running_mean, running_var)]
    xp = input.xp
    reps = [None if s is None else xp.tile(xp.asarray(s), n) for s in stats]
    x3 = reshape(input, (1, n * c) + input.shape[2:])
    w = None if weight is None else _repeat(weight, n)
    b = None if bias is None else _repeat(bias, n)
    y = BatchNorm.apply(x3, w, b, reps[0], reps[1], bool(use_input_stats), float(momentum),
                        float(eps))
    if use_input_stats:
        for s, rep in zip(stats, reps):
            if s is not None:
                s[...] = rep.reshape(n, c).mean(axis=0).astype(s.dtype, copy=False)
    return reshape(y, input.shape)

