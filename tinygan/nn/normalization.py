"""LayerNorm, GroupNorm, InstanceNorm1d/2d/3d with PyTorch's arguments, parameter and buffer
names (so ``state_dict`` keys match torch's). The ops are in :mod:`tinygan.ops.normalization`.

* LayerNorm(normalized_shape): weight (1) and bias (0) of shape ``normalized_shape`` when
  ``elementwise_affine`` (``bias=False`` drops the bias).
* GroupNorm(num_groups, num_channels): weight / bias (C,) when ``affine``.
* InstanceNorm: no affine parameters by default (``affine=False``) and no running statistics
  (``track_running_stats=False``): each sample is normalised with its own statistics, in eval
  mode too. With ``track_running_stats`` the buffers running_mean / running_var /
  num_batches_tracked exist and eval mode uses them (momentum None counts as 0, as in torch).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..devices import array_module, normalize_device
from ..ops.normalization import group_norm, instance_norm, layer_norm
from ..dtypes import as_dtype
from ..tensor import Tensor
from .module import Module, Parameter


def _alloc(shape, fill, dtype, device):
    dtype = as_dtype(dtype) or np.dtype(np.float32)
    return array_module(normalize_device(device)).full(shape, fill, dtype=dtype)


class LayerNorm(Module):
    """x (*, *normalized_shape) -> same shape, normalised over the trailing normalized_shape."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(_alloc(self.normalized_shape, 1, dtype, device))
            if bias:
                self.bias = Parameter(_alloc(self.normalized_shape, 0, dtype, device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """x (N, C, *) -> same shape; statistics per sample over each group of C/G channels."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("GroupNorm: num_channels must be divisible by num_groups, got "
                             f"{num_channels} and {num_groups}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        if self.affine:
            self.weight = Parameter(_alloc((self.num_channels,), 1, dtype, device))
            self.bias = Parameter(_alloc((self.num_channels,), 0, dtype, device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    _spatial = 1

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(_alloc((c,), 1, dtype, device))
            self.bias = Parameter(_alloc((c,), 0, dtype, device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(_alloc((c,), 0, dtype, device)))
            self.register_buffer("running_var", Tensor(_alloc((c,), 1, dtype, device)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input):
        name, k = type(self).__name__, self._spatial
        if input.ndim not in (k + 1, k + 2):
            raise ValueError(f"{name}: expected {k + 1}D (unbatched) or {k + 2}D (batched) input, "
                             f"got shape {input.shape}")
        unbatched = input.ndim == k + 1
        x = input.reshape((1,) + input.shape) if unbatched else input
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{name}: expected input's size at dim={1 - unbatched} to match "
                             f"num_features ({self.num_features}), but got: {x.shape[1]}.")
        y = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          0.0 if self.momentum is None else self.momentum, self.eps)
        return y.reshape(input.shape) if unbatched else y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """(N, C, L) or (C, L) -> same shape; statistics per (sample, channel) over L."""
    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """(N, C, H, W) or (C, H, W) -> same shape; statistics per (sample, channel) over H, W."""
    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """(N, C, D, H, W) or (C, D, H, W) -> same shape."""
    _spatial = 3
