r"""Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", 3.2):
D looks at each sample *together with the rest of its batch*, so a generator that collapses onto
one point produces a batch that is easy to tell from a real one.

With f(x_i) in R^A an intermediate feature of D and a learned tensor T in R^{A x B x C}:

    M_i = f(x_i) T                          in R^{B x C}   (B kernels of C dimensions)
    c_b(x_i, x_j) = exp(-|| M_{i,b} - M_{j,b} ||_1)
    o(x_i)_b = sum_{j=1}^{n} c_b(x_i, x_j)  in R^B          (the paper's sum, j = i included)

and the layer returns [f(x_i), o(x_i)] in R^{A + B}, which the next layer of D reads. The L1
distances of every pair, for each kernel b, are ``cdist(M_b, M_b, p=1)`` (one fused kernel pair
on the CPU: :mod:`tinygan.ops.distance`).

Packing (Lin, Khetan, Fanti & Oh 2018, "PacGAN: The power of two samples in generative adversarial
networks") is the other way for D to see several samples at once: D's input is m samples
concatenated, D(x_1, ..., x_m), all real or all generated. A generator that drops modes makes packs
whose *joint* distribution differs from the real packs' far more than one sample's does (the
paper's total-variation argument), so D punishes mode collapse without any new parameters.
:class:`Pack` is that concatenation as D's first layer.
"""
from __future__ import annotations

import math

from ..ops import cat, cdist, matmul
from . import init
from .layers import _empty
from .module import Module


def minibatch_features(x, T, batch_rows=None):
    """[x, o(x)]: x (N, A), T (A, B, C) -> (N, A + B), the formulas above (differentiable in both).

    ``batch_rows(M)`` -> the M_j of the whole batch, (N_all, B, C), that the sum over j runs over
    (default: M itself). Data-parallel training, where this process holds only rows of the batch,
    passes the gather of every process's rows
    (:class:`tinygan.distributed.GlobalMinibatchDiscrimination`)."""
    n, (a, b, c) = x.shape[0], T.shape
    M = matmul(x, T.reshape(a, b * c)).reshape(n, b, c)
    M_all = M if batch_rows is None else batch_rows(M)
    l1 = cdist(M.permute(1, 0, 2), M_all.permute(1, 0, 2), p=1)    # (B, N, N_all): ||M_ib - M_jb||_1
    o = (-l1).exp().sum(2)                                          # (B, N)
    return cat([x, o.T], 1)


class MinibatchDiscrimination(Module):
    """x (N, A) -> (N, A + B): x with the B closeness statistics o(x_i) appended.

    ``T`` is a Parameter of shape (A, B, C), initialised N(0, 1/A) so that each M_{i,b,c} has
    about the variance of one feature; N >= 1 (a batch of one gets o = 1 for every kernel)."""

    batch_rows = None       # the whole batch's M, see minibatch_features (None: the input's own rows)

    def __init__(self, in_features: int, num_kernels: int = 5, kernel_dim: int = 3, dtype=None,
                 device=None, generator=None):
        super().__init__()
        self.in_features, self.num_kernels, self.kernel_dim = int(in_features), int(num_kernels), int(kernel_dim)
        if min(self.in_features, self.num_kernels, self.kernel_dim) < 1:
            raise ValueError("MinibatchDiscrimination: in_features, num_kernels and kernel_dim must "
                             f"be >= 1, got {in_features}, {num_kernels}, {kernel_dim}")
        self.T = _empty((self.in_features, self.num_kernels, self.kernel_dim), dtype, device)
        init.normal_(self.T, 0.0, 1.0 / math.sqrt(self.in_features), generator=generator)

    @property
    def out_features(self) -> int:
        return self.in_features + self.num_kernels

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"MinibatchDiscrimination: expected input (N, {self.in_features}), "
                             f"got {tuple(x.shape)}")
        return minibatch_features(x, self.T, self.batch_rows)

    def extra_repr(self):
        return (f"in_features={self.in_features}, num_kernels={self.num_kernels}, "
                f"kernel_dim={self.kernel_dim}")


class Pack(Module):
    """PacGAN's packing: x (N, C, *rest) -> (N / m, m C, *rest), samples i m, ..., i m + m - 1
    concatenated along the feature / channel axis (MLP inputs (N, C); images (N, C, H, W), as
    the paper's DCGAN concatenates channels). A reshape: its VJP is the reshape back.

    ``in_features`` = C is what makes the layer idempotent: an input that is already packed,
    (N / m, m C, *rest), passes through unchanged (the gradient penalty interpolates and takes
    norms per pack by handing the critic packed inputs)."""

    def __init__(self, m: int, in_features: int):
        super().__init__()
        self.m, self.in_features = int(m), int(in_features)
        if min(self.m, self.in_features) < 1:
            raise ValueError(f"Pack: m and in_features must be >= 1, got {m}, {in_features}")

    def forward(self, x):
        width = self.m * self.in_features
        if x.ndim >= 2 and x.shape[1] == width:
            return x                                     # already packed
        if x.ndim < 2 or x.shape[1] != self.in_features or x.shape[0] % self.m:
            raise ValueError(f"Pack(m={self.m}): expected (N, {self.in_features}, ...) with N a multiple "
                             f"of {self.m}, got {tuple(x.shape)}")
        return x.reshape(x.shape[0] // self.m, width, *x.shape[2:])

    def extra_repr(self):
        return f"m={self.m}, in_features={self.in_features}"
