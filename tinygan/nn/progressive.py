"""The layers of Progressive GAN (Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of
GANs for Improved Quality, Stability, and Variation", section 4): pixel-wise feature
normalisation, the minibatch standard-deviation feature and equalised-learning-rate layers.
PyTorch has none of them; each is a few differentiable Tensor ops, so its gradient (and the
gradient of its gradient, which WGAN-GP's penalty needs) comes from autograd.

* ``PixelNorm``: b_{n,c,h,w} = a_{n,c,h,w} / sqrt(1/C sum_c' a_{n,c',h,w}^2 + eps), eps = 1e-8:
  each pixel's feature vector scaled to unit root-mean-square over the channels (paper eq. 2).
* ``MinibatchStdDev``: split the batch into groups of G samples (sample n in group n mod M,
  M = N / G); per group the standard deviation of every feature over its G samples,
  s = sqrt(1/G sum_g (x_g - mean_g x)^2 + 1e-8), averaged over (C, H, W) into one number; that
  number is appended as an extra constant feature map to each sample of the group:
  (N, C, H, W) -> (N, C + 1, H, W) (section 3).
* ``EqualizedLinear`` / ``EqualizedConv2d``: weights stored as w ~ N(0, 1) (biases 0) and scaled
  at run time, w_hat = w * gain / sqrt(fan_in), gain sqrt(2) by default (He et al. 2015, "Delving
  Deep into Rectifiers"), fan_in = in_features or C_in * kH * kW (section 4.1). Adam's update is
  invariant to the scale of a gradient, so every weight then learns at the same speed whatever its
  layer's fan-in.
"""
from __future__ import annotations

import math

from ..ops import matmul
from ..ops.conv import conv2d
from ..ops.movement import concatenate
from .init import normal_, zeros_
from .layers import _empty
from .module import Module

PIXELNORM_EPS = 1e-8
MBSTD_EPS = 1e-8


class PixelNorm(Module):
    """(N, C, ...) -> same shape: a / sqrt(mean over C of a^2 + eps) (module docstring)."""

    def __init__(self, eps: float = PIXELNORM_EPS):
        super().__init__()
        self.eps = float(eps)

    def forward(self, x):
        if x.ndim < 2:
            raise ValueError(f"PixelNorm: expected input (N, C, ...), got {tuple(x.shape)}")
        return x * ((x * x).mean(dim=1, keepdim=True) + self.eps).rsqrt()

    def extra_repr(self):
        return f"eps={self.eps}"


class MinibatchStdDev(Module):
    """(N, C, H, W) -> (N, C + 1, H, W): the group's mean feature standard deviation as an extra
    channel (module docstring). ``group_size`` G (the paper's 4) is capped at N; N must be a
    multiple of the group size used."""

    def __init__(self, group_size: int = 4, eps: float = MBSTD_EPS):
        super().__init__()
        if int(group_size) < 1:
            raise ValueError(f"MinibatchStdDev: group_size must be >= 1, got {group_size}")
        self.group_size, self.eps = int(group_size), float(eps)

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"MinibatchStdDev: expected input (N, C, H, W), got {tuple(x.shape)}")
        N, C, H, W = x.shape
        G = min(self.group_size, N)
        if N % G:
            raise ValueError(f"MinibatchStdDev: batch {N} is not a multiple of the group size {G}")
        y = x.reshape(G, N // G, C, H, W)                           # y[g, m] = x[g M + m]
        y = y - y.mean(dim=0, keepdim=True)
        s = ((y * y).mean(dim=0) + self.eps).sqrt()                 # (M, C, H, W)
        s = s.mean(dim=(1, 2, 3), keepdim=True)                     # (M, 1, 1, 1)
        s = s.reshape(1, N // G, 1, 1, 1).expand(G, N // G, 1, H, W).reshape(N, 1, H, W)
        return concatenate([x, s], dim=1)

    def extra_repr(self):
        return f"group_size={self.group_size}"


class EqualizedLinear(Module):
    """x (N, in) -> x (c w)^T + b (N, out), w ~ N(0, 1) stored, c = gain / sqrt(in)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2.0),
                 dtype=None, device=None, generator=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.scale = float(gain) / math.sqrt(self.in_features)
        self.weight = _empty((self.out_features, self.in_features), dtype, device)
        self.bias = _empty((self.out_features,), dtype, device)
        normal_(self.weight, generator=generator)
        zeros_(self.bias)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"EqualizedLinear: expected input (N, {self.in_features}), got "
                             f"{tuple(x.shape)}")
        return matmul(x, (self.weight * self.scale).T) + self.bias

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, scale={self.scale:.4g}"


class EqualizedConv2d(Module):
    """(N, C_in, H, W) -> (N, C_out, H', W'): conv2d with the weight c w, w ~ N(0, 1) stored
    (C_out, C_in, k, k), c = gain / sqrt(C_in k^2); stride 1, zero padding ``padding``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0,
                 gain: float = math.sqrt(2.0), dtype=None, device=None, generator=None):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.padding = int(kernel_size), int(padding)
        self.scale = float(gain) / math.sqrt(self.in_channels * self.kernel_size ** 2)
        self.weight = _empty((self.out_channels, self.in_channels, self.kernel_size,
                              self.kernel_size), dtype, device)
        self.bias = _empty((self.out_channels,), dtype, device)
        normal_(self.weight, generator=generator)
        zeros_(self.bias)

    def forward(self, x):
        return conv2d(x, self.weight * self.scale, self.bias, 1, self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"padding={self.padding}, scale={self.scale:.4g}")
