"""Layers with PyTorch's names, weight layouts and default initialisations.

Every layer with weights takes ``dtype=`` (default float32), ``device=`` and ``generator=`` (the
random stream of its initial weights). Shapes are in each docstring; N is the batch size.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..devices import array_module, normalize_device
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.embedding import embedding
from ..dtypes import as_dtype
from . import functional as F
from . import init_fills as init
from .module import Module, Parameter


def _empty(shape, dtype, device):
    dtype = as_dtype(dtype) or np.dtype(np.float32)
    if dtype.kind != "f":
        raise TypeError(f"layer weights must be floating, got dtype {dtype}")
    return Parameter(array_module(normalize_device(device)).zeros(shape, dtype=dtype))


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {v}")
    return v


class Identity(Module):
    """Returns its input (any shape)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """x (N, *, in_features) -> x W^T + b (N, *, out_features); W is (out, in), b is (out,).

    Init (PyTorch's): W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a = sqrt 5), the same
    bound for b."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, generator=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = _empty((self.out_features, self.in_features), dtype, device)
        if bias:
            self.bias = _empty((self.out_features,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            init.default_bias_(self.bias, self.weight, generator)

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input (..., {self.in_features}), got {x.shape}")
        y = ops.matmul(x, self.weight.T)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _ConvNd(Module):
    transposed, _ntuple = False, staticmethod(_pair)     # Conv1d (nn/conv1d.py): 1-tuples

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, output_padding, dtype, device, generator):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels {in_channels} and out_channels "
                             f"{out_channels} must be divisible by groups {groups}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = self._ntuple(kernel_size, "kernel_size")
        self.stride, self.dilation = self._ntuple(stride, "stride"), self._ntuple(dilation, "dilation")
        self.padding = padding if isinstance(padding, str) else self._ntuple(padding, "padding")
        self.output_padding = self._ntuple(output_padding, "output_padding")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = _empty(shape, dtype, device)
        if bias:
            self.bias = _empty((self.out_channels,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            init.default_bias_(self.bias, self.weight, generator)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        zeros = (0,) * len(self.kernel_size)
        if self.padding != zeros:
            s += f", padding={self.padding}"
        if self.transposed and self.output_padding != zeros:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * len(self.kernel_size):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """(N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = (H + 2p - d(k-1) - 1) // s + 1.

    weight (C_out, C_in/groups, kH, kW), bias (C_out,); PyTorch's default init. ``padding``
    may be an int, a pair, "same" or "valid"."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None, generator=None):
        modes = ("zeros", "reflect", "replicate", "circular")
        if padding_mode not in modes:
            raise ValueError(f"Conv2d: padding_mode must be one of {modes}, but got "
                             f"padding_mode={padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, 0, dtype, device, generator)
        self.padding_mode = padding_mode
        if padding_mode != "zeros":
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions")
            # F.pad's (left, right, top, bottom); 'same' splits d(k-1) with the extra at the end.
            totals = [0, 0] if padding == "valid" else (
                [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)] if padding == "same"
                else [2 * p for p in self.padding])
            self._mode_pad = (totals[1] // 2, totals[1] - totals[1] // 2,
                              totals[0] // 2, totals[0] - totals[0] // 2)

    def forward(self, x):
        if self.padding_mode != "zeros":   # pad with the mode, then an unpadded conv (as torch)
            return conv2d(F.pad(x, self._mode_pad, self.padding_mode), self.weight, self.bias,
                          self.stride, 0, self.dilation, self.groups)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose1d / 2d share: torch's constructor (zero padding only, no string
    padding) and ``output_size`` -> output_padding for the last n = len(kernel_size) axes."""
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None, generator=None):
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'{name}: Only "zeros" padding mode is supported for {name}, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, output_padding, dtype, device, generator)
        self.padding_mode = padding_mode

    def _output_padding(self, x, output_size):
        """The output_padding that makes the output's last n sizes ``output_size``: each axis
        gives (L-1)s - 2p + d(k-1) + 1 + output_padding, output_padding in [0, max(s, d))."""
        if output_size is None:
            return self.output_padding
        n = len(self.kernel_size)
        size = tuple(output_size)[-n:]
        pads = []
        for i in range(n):
            s, p, d, k = self.stride[i], self.padding[i], self.dilation[i], self.kernel_size[i]
            base = (x.shape[x.ndim - n + i] - 1) * s - 2 * p + d * (k - 1) + 1
            if not 0 <= size[i] - base < max(s, d):
                shown = size[0] if n == 1 else size
                raise ValueError(f"{type(self).__name__}: output_size {shown} is not reachable from an "
                                 f"input of shape {x.shape} (sizes {base}..{base + max(s, d) - 1})")
            pads.append(size[i] - base)
        return tuple(pads)


class ConvTranspose2d(_ConvTransposeNd):
    """(N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = (H-1)s - 2p + d(k-1) + output_padding + 1: the
    adjoint of Conv2d with the same weight (layout (C_in, C_out/groups, kH, kW)), plus bias.

    ``forward(x, output_size=None)``: giving the wanted (Ho, Wo) chooses output_padding."""

    def forward(self, x, output_size=None):
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(x, output_size), self.groups, self.dilation)


class ReLU(Module):
    """max(x, 0), any shape."""

    def __init__(self, inplace: bool = False):
        super().__init__()

    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x, any shape (DCGAN's D uses slope 0.2)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh x, any shape."""

    def forward(self, x):
        return ops.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x), any shape."""

    def forward(self, x):
        return ops.sigmoid(x)


class Flatten(Module):
    """Merge dims start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim into unflattened_size: Unflatten(1, (C, H, W)) maps (N, C*H*W) -> (N, C, H, W)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = int(dim), tuple(int(n) for n in unflattened_size)

    def forward(self, x):
        dim = self.dim % x.ndim
        if math.prod(self.unflattened_size) != x.shape[dim]:
            raise ValueError(f"Unflatten: size {x.shape[dim]} of dim {self.dim} of {x.shape} cannot "
                             f"become {self.unflattened_size}")
        return ops.reshape(x, x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Embedding(Module):
    """Integer indices of shape S -> S + (embedding_dim,); weight (num_embeddings, embedding_dim)
    ~ N(0, 1) (PyTorch's init); the padding_idx row starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, device=None,
                 dtype=None, generator=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} out of range")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = _empty((self.num_embeddings, self.embedding_dim), dtype, device)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        init.normal_(self.weight, 0.0, 1.0, generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """Zero entries with probability p and scale the rest by 1/(1-p); any shape.

    Active in training mode only -- unless ``always_on=True``, which keeps it on in eval mode too
    (pix2pix's generator uses dropout as its noise source at test time). ``inplace`` is torch's,
    accepted and ignored: ops never write into their input."""

    def __init__(self, p: float = 0.5, inplace: bool = False, always_on: bool = False, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.always_on, self.generator = float(p), bool(always_on), generator

    def forward(self, x):
        return ops.dropout(x, self.p, training=self.training or self.always_on,
                           generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}" + (", always_on=True" if self.always_on else "")
