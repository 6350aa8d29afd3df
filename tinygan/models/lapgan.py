"""LAPGAN for 28 x 28 MNIST: a Laplacian pyramid of generators (Denton, Chintala, Szlam & Fergus,
"Deep Generative Image Models using a Laplacian Pyramid of Adversarial Networks", 2015).

The pyramid (:class:`tinygan.linops.LaplacianPyramid`, d = 2 x 2 mean, u = bilinear x2) splits a
digit I_0 (28 x 28) into the coarse image I_2 = d d I_0 (7 x 7) and the residuals
h_1 = I_1 - u I_2 (14 x 14) and h_0 = I_0 - u I_1 (28 x 28). One GAN per level:

* 7 x 7: an unconditional GAN, G_7(z) -> I~_2 and D_7(I_2), fully connected (49 pixels)::

      G_7: z (N, 100) -> Linear 256 -> BN -> ReLU -> Linear 256 -> BN -> ReLU -> Linear 49 -> tanh
           -> (N, 1, 7, 7)
      D_7: (N, 1, 7, 7) -> Flatten -> Linear 256 -> LReLU 0.2 -> Linear 256 -> LReLU 0.2 -> Linear 1

* 14 x 14 and 28 x 28: a conditional GAN of the residual given the upsampled coarser image
  l = u I_{k+1}. G sees l and a plane of noise z (N, 1, s, s) as two channels; D sees the pair
  (l, h) as two channels (the paper adds l to h before D's first convolution: a first convolution
  of the pair can compute that sum, and more)::

      G_s: [l ; z] (N, 2, s, s) -> Conv 3x3 w -> ReLU -> Conv 3x3 w -> ReLU -> Conv 3x3 1 -> h~ (linear)
      D_s: [l ; h] (N, 2, s, s) -> Conv 5x5 s2 w/2 -> LReLU 0.2 -> Conv 5x5 s2 w -> LReLU 0.2
                                -> Flatten -> Linear 1 (a logit)

The BatchNorm layers keep G_7 from collapsing onto a few coarse digits (README, LAPGAN section);
like the DCGAN generator it draws with the batch's statistics (training-mode BatchNorm).

Sampling runs the pyramid's synthesis with generated residuals, coarse to fine:
I~_2 = G_7(z_7), I~_1 = u I~_2 + G_14(u I~_2, z_14), I~_0 = u I~_1 + G_28(u I~_1, z_28).
"""
from __future__ import annotations

from .. import nn, ops
from ..linops.pyramid import pyramid_shapes, up

Z_DIM = 100
SIZE = 28
LEVELS = 3                    # 28 -> 14 -> 7
WIDTH = 32                    # channels of the residual generators (D: WIDTH/2, WIDTH)


def upsample(image):
    """u I: (N, 1, s, s) -> (N, 1, 2s, 2s), the pyramid's bilinear x2 (differentiable)."""
    return up(tuple(image.shape), image.dtype)(image)


class CoarseGenerator(nn.Module):
    """G_7: z (N, z_dim) -> coarse images (N, 1, s, s) in [-1, 1]."""

    def __init__(self, z_dim: int = Z_DIM, side: int = 7, hidden: int = 256, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.z_dim, self.side = int(z_dim), int(side)
        self.net = nn.Sequential(nn.Linear(self.z_dim, hidden, **kw), nn.BatchNorm1d(hidden, dtype=dtype),
                                 nn.ReLU(), nn.Linear(hidden, hidden, **kw), nn.BatchNorm1d(hidden, dtype=dtype),
                                 nn.ReLU(), nn.Linear(hidden, self.side ** 2, **kw), nn.Tanh(),
                                 nn.Unflatten(1, (1, self.side, self.side)))

    def forward(self, z):
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"lapgan G_{self.side}: expected z of shape (N, {self.z_dim}), got {z.shape}")
        return self.net(z)


class CoarseDiscriminator(nn.Module):
    """D_7: coarse images (N, 1, s, s) -> logits (N, 1)."""

    def __init__(self, side: int = 7, hidden: int = 256, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.side = int(side)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(self.side ** 2, hidden, **kw), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden, **kw), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1, **kw))

    def forward(self, image):
        _check_planes(f"lapgan D_{self.side}", image, 1, self.side)
        return self.net(image)


class ResidualGenerator(nn.Module):
    """G_s(l, z): upsampled coarser image l and a noise plane z, each (N, 1, s, s) -> residual
    h~ (N, 1, s, s) (a linear output: residuals are signed and small)."""

    def __init__(self, side: int, width: int = WIDTH, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.side = int(side)
        self.net = nn.Sequential(nn.Conv2d(2, width, 3, padding=1, **kw), nn.ReLU(),
                                 nn.Conv2d(width, width, 3, padding=1, **kw), nn.ReLU(),
                                 nn.Conv2d(width, 1, 3, padding=1, **kw))

    def forward(self, low, z):
        _check_planes(f"lapgan G_{self.side}", low, 1, self.side)
        _check_planes(f"lapgan G_{self.side} noise", z, 1, self.side)
        return self.net(ops.cat([low, z], dim=1))


class ResidualDiscriminator(nn.Module):
    """D_s(l, h): the pair (upsampled coarser image, residual), each (N, 1, s, s) -> logits (N, 1)."""

    def __init__(self, side: int, width: int = WIDTH, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.side = int(side)
        out = ((self.side + 1) // 2 + 1) // 2         # after two 5x5 stride-2 convolutions, padding 2
        self.net = nn.Sequential(nn.Conv2d(2, width // 2, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.2),
                                 nn.Conv2d(width // 2, width, 5, stride=2, padding=2, **kw),
                                 nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(width * out * out, 1, **kw))

    def forward(self, low, residual):
        _check_planes(f"lapgan D_{self.side}", low, 1, self.side)
        _check_planes(f"lapgan D_{self.side} residual", residual, 1, self.side)
        return self.net(ops.cat([low, residual], dim=1))


class LaplacianGenerator(nn.Module):
    """The three generators; ``forward(z_7, z_14, z_28)`` -> [I~_2, I~_1, I~_0] (coarse to fine),
    each (N, 1, s, s); ``z_7`` (N, z_dim), ``z_s`` (N, 1, s, s)."""

    def __init__(self, z_dim: int = Z_DIM, width: int = WIDTH, dtype=None, generator=None):
        super().__init__()
        self.z_dim, self.width = int(z_dim), int(width)
        self.sides = pyramid_shapes(SIZE, LEVELS)[::-1]            # [7, 14, 28]
        self.coarse = CoarseGenerator(self.z_dim, self.sides[0], dtype=dtype, generator=generator)
        self.residuals = nn.ModuleList([ResidualGenerator(s, self.width, dtype=dtype, generator=generator)
                                        for s in self.sides[1:]])

    def noise_shapes(self, n: int) -> list:
        """Shapes of (z_7, z_14, z_28) for ``n`` samples."""
        return [(n, self.z_dim)] + [(n, 1, s, s) for s in self.sides[1:]]

    def forward(self, *noise):
        if len(noise) != len(self.sides):
            raise ValueError(f"lapgan G: expected {len(self.sides)} noise tensors (z_7, z_14, z_28), "
                             f"got {len(noise)}")
        images = [self.coarse(noise[0])]
        for G, z in zip(self.residuals, noise[1:]):
            low = upsample(images[-1])
            images.append(low + G(low, z))
        return images


class LaplacianDiscriminators(nn.Module):
    """The three discriminators: ``coarse`` (7 x 7 images) and ``residuals`` [D_14, D_28]."""

    def __init__(self, width: int = WIDTH, dtype=None, generator=None):
        super().__init__()
        sides = pyramid_shapes(SIZE, LEVELS)[::-1]
        self.coarse = CoarseDiscriminator(sides[0], dtype=dtype, generator=generator)
        self.residuals = nn.ModuleList([ResidualDiscriminator(s, int(width), dtype=dtype, generator=generator)
                                        for s in sides[1:]])


def build(z_dim: int = Z_DIM, width: int = WIDTH, dtype=None, generator=None):
    """(LaplacianGenerator, LaplacianDiscriminators), initialised from ``generator`` (G first)."""
    return (LaplacianGenerator(z_dim, width, dtype=dtype, generator=generator),
            LaplacianDiscriminators(width, dtype=dtype, generator=generator))


def _check_planes(name, x, channels, side):
    if x.ndim != 4 or tuple(x.shape[1:]) != (channels, side, side):
        raise ValueError(f"{name}: expected input of shape (N, {channels}, {side}, {side}), got {x.shape}")


