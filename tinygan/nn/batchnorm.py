"""BatchNorm1d / BatchNorm2d: per-channel normalisation with learnable scale and shift.

Training mode normalises with the batch's mean and biased variance and updates the running
statistics (unbiased variance, ``momentum`` as PyTorch: ``running = (1 - momentum) * running +
momentum * batch``; ``momentum=None`` gives the cumulative average over all batches seen). Eval
mode normalises with the running statistics. The op is :func:`tinygan.ops.norm.batch_norm`
(kernels ``batchnorm_fwd`` / ``batchnorm_bwd`` from the kernel registry).

Parameters ``weight`` (gamma, init 1) and ``bias`` (beta, init 0), shape (C,), when ``affine``;
buffers ``running_mean`` (0), ``running_var`` (1), ``num_batches_tracked`` (int64 scalar) when
``track_running_stats`` -- the names and state_dict keys are PyTorch's.
"""
from __future__ import annotations

import numpy as np

from ..devices import array_module, normalize_device
from ..ops.norm import batch_norm
from ..dtypes import as_dtype
from ..tensor import Tensor
from .module import Module, Parameter


class _BatchNorm(Module):
    _accepted_ndims: tuple = ()
    _shape_doc = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = as_dtype(dtype) or np.dtype(np.float32)
        xp = array_module(normalize_device(device))
        c = self.num_features
        if self.affine:
            self.weight = Parameter(xp.ones((c,), dtype=dtype))
            self.bias = Parameter(xp.zeros((c,), dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros((c,), dtype=dtype)))
            self.register_buffer("running_var", Tensor(xp.ones((c,), dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, x):
        if x.ndim not in self._accepted_ndims:
            raise ValueError(f"{type(self).__name__}: expected input {self._shape_doc}, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels (dim 1), "
                             f"got input of shape {x.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:       # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """(N, C) or (N, C, L) -> same shape; statistics over N (and L) per channel C."""
    _accepted_ndims = (2, 3)
    _shape_doc = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """(N, C, H, W) -> same shape; statistics over N, H, W per channel C."""
    _accepted_ndims = (4,)
    _shape_doc = "(N, C, H, W)"
