"""Conditional GANs for 28 x 28 MNIST digits: G(z | y) and D(x | y) (Mirza & Osindero, "Conditional
Generative Adversarial Nets"; Ryu's and Kitov's lecture notes), with three ways for D to use y.

The label enters as a *class vector* y (N, C): one-hot for a label, but any vector is accepted
(``tinygan.demo latent`` interpolates and adds them). G always sees y concatenated to z:

``arch="conv"`` (the DCGAN recipe of :mod:`tinygan.models.dcgan`, CMU 11-695's layers)::

    G: [z ; y] (N, 100 + 10) -> Dense -> 7*7*256 -> BN -> LeakyReLU -> ... -> tanh   (N, 1, 28, 28)
    D trunk: x (N, 1 (+10), 28, 28) -> Conv 64, 5x5, s2 -> LeakyReLU 0.3 -> Dropout 0.3
             -> Conv 128, 5x5, s2 -> LeakyReLU 0.3 -> Dropout 0.3 -> Flatten      h (N, 6272)

``arch="mlp"`` (Mirza & Osindero's fully connected nets, ReLU/maxout replaced by LeakyReLU)::

    G: [z ; y] -> Linear 256 -> BN -> LReLU -> 512 -> BN -> LReLU -> 1024 -> BN -> LReLU -> 784 -> tanh
    D trunk: [x (784) (; y)] -> Linear 512 -> LReLU 0.2 -> Dropout 0.3 -> Linear 256 -> LReLU 0.2 -> h

``cond`` -- how D is conditioned (the logit is D's real-vs-fake score):

* ``"concat"``: y joins D's input (ten constant label planes for conv, ten entries for mlp);
  logit = w . h + b. The plain recipe of the conditional-GAN paper.
* ``"projection"`` (Miyato & Koyama, "cGANs with Projection Discriminator"): D's input is x alone,
  logit = w . h + b + <V y, h>, V (C, F) an embedding of the class (a linear map of y).
* ``"acgan"`` (Odena, Olah & Shlens, "Conditional Image Synthesis with Auxiliary Classifier
  GANs"): D's input is x alone, logit = w . h + b, plus class logits W_c h + b_c (N, C) trained
  with cross-entropy on real and fake digits by both players (:func:`acgan_losses`).
"""
from __future__ import annotations

import numpy as np

from .. import nn, ops
from ..creation import tensor
from ..nn import gan_loss
from . import dcgan

ARCHS = ("conv", "mlp")
CONDS = ("concat", "projection", "acgan")
NUM_CLASSES = 10
Z_DIM = 100
IMAGE_SHAPE = (1, 28, 28)


def one_hot(labels, num_classes: int = NUM_CLASSES, dtype=np.float32, device="cpu"):
    """Class vectors (N, C) of integer labels (N,), as a Tensor (a constant: no gradient)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"one_hot: expected integer labels of shape (N,), got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    return tensor(np.eye(num_classes, dtype=dtype)[labels], device=device)


def _check(name, x, shape, y, num_classes):
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name}: expected input of shape (N, {', '.join(map(str, shape))}), got {x.shape}")
    if y.ndim != 2 or y.shape != (x.shape[0], num_classes):
        raise ValueError(f"{name}: expected class vectors y of shape ({x.shape[0]}, {num_classes}), "
                         f"got {y.shape}")


class CondGenerator(nn.Module):
    """G(z | y): z (N, z_dim), class vectors y (N, C) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, arch: str = "conv", z_dim: int = Z_DIM, num_classes: int = NUM_CLASSES,
                 dtype=None, generator=None):
        super().__init__()
        _check_choice("arch", arch, ARCHS)
        self.arch, self.z_dim, self.num_classes = arch, int(z_dim), int(num_classes)
        width = self.z_dim + self.num_classes
        if arch == "conv":          # the DCGAN generator of CMU 11-695, fed [z ; y]
            self.net = dcgan.Generator("tf", width, dtype=dtype, generator=generator).net
        else:
            layers, sizes = [], [width, 256, 512, 1024]
            for a, b in zip(sizes, sizes[1:]):
                layers += [nn.Linear(a, b, dtype=dtype, generator=generator),
                           nn.BatchNorm1d(b, dtype=dtype), nn.LeakyReLU(0.2)]
            self.net = nn.Sequential(*layers, nn.Linear(1024, 784, dtype=dtype, generator=generator),
                                     nn.Tanh(), nn.Unflatten(1, IMAGE_SHAPE))

    def forward(self, z, y):
        _check("CondGenerator", z, (self.z_dim,), y, self.num_classes)
        return self.net(ops.cat([z, y.to(z.dtype) if y.dtype != z.dtype else y], dim=1))


class CondDiscriminator(nn.Module):
    """D(x | y): images (N, 1, 28, 28), class vectors y (N, C) -> logits (N, 1); with
    ``cond="acgan"`` also class logits: ``forward`` returns (logits, class_logits) then."""

    def __init__(self, arch: str = "conv", cond: str = "projection", num_classes: int = NUM_CLASSES,
                 dtype=None, generator=None, dropout_generator=None):
        super().__init__()
        _check_choice("arch", arch, ARCHS)
        _check_choice("cond", cond, CONDS)
        self.arch, self.cond, self.num_classes = arch, cond, int(num_classes)
        extra = self.num_classes if cond == "concat" else 0      # label planes / entries in D's input
        kw = dict(dtype=dtype, generator=generator)
        if arch == "conv":
            self.trunk = nn.Sequential(
                nn.Conv2d(1 + extra, 64, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.3),
                nn.Dropout(0.3, generator=dropout_generator),
                nn.Conv2d(64, 128, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.3),
                nn.Dropout(0.3, generator=dropout_generator), nn.Flatten())
            features = 128 * 7 * 7
        else:
            self.trunk = nn.Sequential(
                nn.Linear(784 + extra, 512, **kw), nn.LeakyReLU(0.2),
                nn.Dropout(0.3, generator=dropout_generator),
                nn.Linear(512, 256, **kw), nn.LeakyReLU(0.2))
            features = 256
        self.head = nn.Linear(features, 1, **kw)
        if cond == "projection":
            self.embed = nn.Linear(self.num_classes, features, bias=False, **kw)   # V y
        if cond == "acgan":
            self.classify = nn.Linear(features, self.num_classes, **kw)
        if arch == "conv":
            dcgan._keras_init(self, generator)

    def features(self, x, y):
        """The trunk's features h (N, F)."""
        _check("CondDiscriminator", x, IMAGE_SHAPE, y, self.num_classes)
        y = y.to(x.dtype) if y.dtype != x.dtype else y
        if self.arch == "conv":
            if self.cond == "concat":          # ten constant planes: plane k holds y[:, k]
                planes = y.reshape(y.shape[0], self.num_classes, 1, 1) * \
                    tensor(x.xp.ones((1, 1) + IMAGE_SHAPE[1:], x.dtype), device=x.device)
                x = ops.cat([x, planes], dim=1)
            return self.trunk(x)
        x = x.reshape(x.shape[0], -1)
        return self.trunk(ops.cat([x, y], dim=1) if self.cond == "concat" else x)

    def forward(self, x, y):
        h = self.features(x, y)
        logits = self.head(h)
        if self.cond == "projection":
            logits = logits + (self.embed(y.to(h.dtype) if y.dtype != h.dtype else y) * h).sum(1, keepdim=True)
        if self.cond == "acgan":
            return logits, self.classify(h)
        return logits


def _check_choice(flag, value, choices):
    if value not in choices:
        raise ValueError(f"unknown conditional-GAN {flag} {value!r}; choose from {', '.join(choices)}")


def build(arch: str = "conv", cond: str = "projection", z_dim: int = Z_DIM, dtype=None,
          generator=None, dropout_generator=None):
    """(CondGenerator, CondDiscriminator), initialised from ``generator`` (G first, then D)."""
    G = CondGenerator(arch, z_dim, dtype=dtype, generator=generator)
    D = CondDiscriminator(arch, cond, dtype=dtype, generator=generator,
                          dropout_generator=dropout_generator)
    return G, D


# ----- losses ----------------------------------------------------------------------------------
def d_loss(real_out, fake_out, real_labels=None, fake_labels=None, kind="nonsaturating", real_label=1.0):
    """D's loss on D(x|y) and D(G(z|y')|y'): the GAN loss ``kind`` of :mod:`tinygan.nn.gan_loss`
    (default BCE(D(x|y), 1) + BCE(D(G(z|y')|y'), 0), batch means; ``real_label`` < 1: one-sided
    label smoothing); for AC-GAN outputs ((logits, class_logits) pairs) plus CE(class_logits(x), y)
    + CE(class_logits(G(z|y')), y') (Odena et al.: D maximises the log-likelihood of the right
    class). Returns (loss, class term or None)."""
    if isinstance(real_out, tuple):
        (real, real_cls), (fake, fake_cls) = real_out, fake_out
        cls = ops.cross_entropy(real_cls, real_labels) + ops.cross_entropy(fake_cls, fake_labels)
        return gan_loss.discriminator_loss(real, fake, kind, real_label) + cls, cls
    return gan_loss.discriminator_loss(real_out, fake_out, kind, real_label), None


def g_loss(fake_out, fake_labels=None, kind="nonsaturating"):
    """G's loss ``kind`` on D(G(z|y)|y) (default non-saturating, BCE(D(G(z|y)|y), 1) =
    -log D(G(z|y)|y)); for AC-GAN plus CE(class_logits(G(z|y)), y) (G also wants its digits
    classified as the label it was given)."""
    if isinstance(fake_out, tuple):
        fake, fake_cls = fake_out
        return gan_loss.generator_loss(fake, kind) + ops.cross_entropy(fake_cls, fake_labels)
    return gan_loss.generator_loss(fake_out, kind)
