"""Stacked GAN for 28 x 28 MNIST: a GAN per level of a pre-trained encoder (Huang, Li, Poursaeed,
Hopcroft & Belongie, "Stacked Generative Adversarial Networks", CVPR 2017).

A classifier is cut into a stack of encoders, x -> h_1 -> y, and each level gets a generator that
inverts one encoder, top-down, from the label and noise:

    E_1: x (N, 1, 28, 28) -> Conv 5x5 s2 32 -> ReLU -> Conv 5x5 s2 64 -> ReLU -> Linear h -> tanh  h_1 (N, h)
    E_0: h_1 -> Linear 10                                                                  class logits
    G_0: [y ; z_0] (N, 10 + z0) -> Linear 128 -> ReLU -> Linear 128 -> ReLU -> Linear h -> tanh    h~_1
    G_1: [h_1 ; z_1] (N, h + z1) -> Linear 64*7*7 -> BN -> ReLU -> ConvT 4x4 s2 32 -> BN -> ReLU
                                 -> ConvT 4x4 s2 1 -> tanh                                   x~ (N, 1, 28, 28)
    D_0: h_1 -> Linear 128 -> LReLU 0.2 -> Linear 128 -> LReLU 0.2 -> t;   logit w.t + b,  Q_0(t) = z~_0
    D_1: x -> Conv 5x5 s2 32 -> LReLU 0.2 -> Conv 5x5 s2 64 -> LReLU 0.2 -> t; logit w.t + b, Q_1(t) = z~_1

(the paper's "GAN level" i generates h_i from h_{i+1}; here h_2 = y and h_0 = x). h_1 lies in
(-1, 1) and G_0 ends in the same tanh: a ReLU output can die (all-zero features carry no label and
pass no gradient) and unbounded features leave G_0, starting near 0, far from their scale
(README, Stacked GAN section). G_1 draws with training-mode BatchNorm, as the DCGAN generator.
Each G_i has
three losses, the paper's:

* adversarial: the non-saturating -log D_i(G_i(h_{i+1}, z_i));
* conditional: the generated representation must encode back to its condition,
  f(E_i(G_i(h_{i+1}, z_i)), h_{i+1}), f the squared Euclidean distance for features (level 1:
  ||E_1(x~) - h_1||^2 / h) and the cross-entropy for the label (level 0: CE(E_0(h~_1), y));
* entropy: G_i must not ignore its noise; a posterior head Q_i, sharing D_i's trunk, recovers z_i
  from the generated sample, and -log Q_i(z_i | G_i(...)) for a Gaussian of unit variance is,
  up to a constant, ||Q_i(x~) - z_i||^2 / 2 (the variational bound on the conditional entropy of
  the paper); it is averaged over the noise's coordinates as well as the batch, so its weight does
  not grow with the size of z_i.
"""
from __future__ import annotations

from .. import nn, ops

NUM_CLASSES = 10
H_DIM = 64            # size of the intermediate representation h_1
Z_DIMS = (16, 16)     # (z_0, z_1)
IMAGE_SHAPE = (1, 28, 28)


def _check(name, x, shape):
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        dims = ", ".join(map(str, shape))
        raise ValueError(f"stackgan {name}: expected input of shape (N, {dims}), got {x.shape}")


def _conv_trunk(activation, kw):
    """Conv 5x5 s2 32 -> act -> Conv 5x5 s2 64 -> act -> Flatten: (N, 1, 28, 28) -> (N, 3136)."""
    return [nn.Conv2d(1, 32, 5, stride=2, padding=2, **kw), activation(),
            nn.Conv2d(32, 64, 5, stride=2, padding=2, **kw), activation(), nn.Flatten()]


class Encoder(nn.Module):
    """The pre-trained stack: ``features`` E_1 (images -> h_1), ``classify`` E_0 (h_1 -> logits)."""

    def __init__(self, h_dim: int = H_DIM, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.h_dim = int(h_dim)
        self.features = nn.Sequential(*_conv_trunk(nn.ReLU, kw), nn.Linear(64 * 7 * 7, self.h_dim, **kw),
                                      nn.Tanh())
        self.classify = nn.Linear(self.h_dim, NUM_CLASSES, **kw)

    def encode(self, x):
        """E_1: images (N, 1, 28, 28) -> features h_1 (N, h)."""
        _check("E_1", x, IMAGE_SHAPE)
        return self.features(x)

    def forward(self, x):
        """E_0(E_1(x)): images -> class logits (N, 10)."""
        return self.classify(self.encode(x))


class FeatureGenerator(nn.Module):
    """G_0(y, z_0): class vectors y (N, 10), noise z_0 (N, z0) -> features h~_1 (N, h)."""

    def __init__(self, h_dim: int = H_DIM, z_dim: int = Z_DIMS[0], dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.h_dim, self.z_dim = int(h_dim), int(z_dim)
        self.net = nn.Sequential(nn.Linear(NUM_CLASSES + self.z_dim, 128, **kw), nn.ReLU(),
                                 nn.Linear(128, 128, **kw), nn.ReLU(), nn.Linear(128, self.h_dim, **kw),
                                 nn.Tanh())

    def forward(self, y, z):
        _check("G_0 label", y, (NUM_CLASSES,))
        _check("G_0 noise", z, (self.z_dim,))
        return self.net(ops.cat([y, z], dim=1))


class ImageGenerator(nn.Module):
    """G_1(h_1, z_1): features (N, h), noise z_1 (N, z1) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, h_dim: int = H_DIM, z_dim: int = Z_DIMS[1], dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.h_dim, self.z_dim = int(h_dim), int(z_dim)
        self.net = nn.Sequential(nn.Linear(self.h_dim + self.z_dim, 64 * 7 * 7, **kw),
                                 nn.BatchNorm1d(64 * 7 * 7, dtype=dtype), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                                 nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, **kw),
                                 nn.BatchNorm2d(32, dtype=dtype), nn.ReLU(),
                                 nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1, **kw), nn.Tanh())

    def forward(self, h, z):
        _check("G_1 features", h, (self.h_dim,))
        _check("G_1 noise", z, (self.z_dim,))
        return self.net(ops.cat([h, z], dim=1))


class PosteriorDiscriminator(nn.Module):
    """D_i with its posterior head Q_i on one trunk: ``forward(x)`` -> (logits (N, 1), z~ (N, z))."""

    def __init__(self, trunk, features: int, z_dim: int, name: str, shape, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        self.name, self.shape = name, tuple(shape)
        self.trunk = trunk
        self.head = nn.Linear(features, 1, **kw)
        self.posterior = nn.Linear(features, int(z_dim), **kw)

    def forward(self, x):
        _check(self.name, x, self.shape)
        t = self.trunk(x)
        return self.head(t), self.posterior(t)


class StackedGenerator(nn.Module):
    """G_0 and G_1; ``forward(y, z_0, z_1)`` -> (h~_1, x~): the label's features, then the image."""

    def __init__(self, h_dim: int = H_DIM, z_dims=Z_DIMS, dtype=None, generator=None):
        super().__init__()
        self.h_dim, self.z_dims = int(h_dim), tuple(int(z) for z in z_dims)
        self.level0 = FeatureGenerator(self.h_dim, self.z_dims[0], dtype=dtype, generator=generator)
        self.level1 = ImageGenerator(self.h_dim, self.z_dims[1], dtype=dtype, generator=generator)

    def forward(self, y, z0, z1):
        h = self.level0(y, z0)
        return h, self.level1(h, z1)


class StackedDiscriminators(nn.Module):
    """D_0 / Q_0 on features (``level0``) and D_1 / Q_1 on images (``level1``)."""

    def __init__(self, h_dim: int = H_DIM, z_dims=Z_DIMS, dtype=None, generator=None):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        relu = lambda: nn.LeakyReLU(0.2)                                     # noqa: E731
        trunk0 = nn.Sequential(nn.Linear(int(h_dim), 128, **kw), relu(), nn.Linear(128, 128, **kw), relu())
        self.level0 = PosteriorDiscriminator(trunk0, 128, z_dims[0], "D_0", (int(h_dim),), **kw)
        self.level1 = PosteriorDiscriminator(nn.Sequential(*_conv_trunk(relu, kw)), 64 * 7 * 7, z_dims[1],
                                             "D_1", IMAGE_SHAPE, **kw)


def build(h_dim: int = H_DIM, z_dims=Z_DIMS, dtype=None, generator=None):
    """(Encoder, StackedGenerator, StackedDiscriminators), initialised from ``generator`` in that order."""
    return (Encoder(h_dim, dtype=dtype, generator=generator),
            StackedGenerator(h_dim, z_dims, dtype=dtype, generator=generator),
            StackedDiscriminators(h_dim, z_dims, dtype=dtype, generator=generator))


# ----- the losses of the paper beyond the adversarial one ---------------------------------------
def feature_condition_loss(encoded, condition):
    """Level 1's conditional loss: ||E_1(x~) - h_1||^2 / h, averaged over the batch."""
    return ((encoded - condition) ** 2).mean()


def label_condition_loss(logits, labels):
    """Level 0's conditional loss: CE(E_0(h~_1), y) with integer labels (N,)."""
    return ops.cross_entropy(logits, labels)


def entropy_loss(recovered, z):
    """The entropy term: (z~_j - z_j)^2 / 2 (-log of a unit Gaussian posterior per coordinate, up
    to a constant), averaged over the batch and the coordinates j."""
    return ((recovered - z) ** 2).mean() * 0.5
