"""Semi-supervised GAN: a discriminator with C + 1 outputs (C classes + "fake") trained on a few
labelled digits, all the unlabelled ones and G's fakes (Odena, "Semi-Supervised Learning with
Generative Adversarial Networks"; Salimans et al., "Improved Techniques for Training GANs"), and the
plain CNN classifier with the same trunk, its baseline.

Networks, on (N, 1, 28, 28) in [-1, 1]::

    trunk:  Noise s_in -> Dropout 0.2 -> Conv 1 -> 32, 5x5, s2 -> LeakyReLU 0.2 -> Noise s_h
            -> Conv 32 -> 64, 5x5, s2 -> LeakyReLU 0.2 -> Noise s_h -> Dropout 0.5 -> Flatten
                                                                               h (N, 3136)
    (Noise s: x + s eps, eps ~ N(0, I), training only; Salimans et al.'s s_in = 0.3, s_h = 0.5.)
    SGANDiscriminator: trunk -> Linear 3136 -> C + 1     logits l (N, C + 1); l[:, C] is "fake"
    Classifier (the baseline): trunk -> Linear 3136 -> C logits (N, C)
    Generator: z (N, 100) -> Linear 7*7*128 -> BN -> ReLU -> ConvT 128 -> 64, 4x4, s2 -> BN -> ReLU
               -> ConvT 64 -> 1, 4x4, s2 -> tanh                                  (N, 1, 28, 28)

Losses, with p = softmax(l) over the C + 1 outputs and K = C (Salimans et al., section 5)::

    L_sup   = -E_{(x, y) labelled} log p(y | x, y < K + 1)   = CE(l[:, :K], y)
    L_unsup = -E_{x unlabelled} log(1 - p(K + 1 | x)) - E_z log p(K + 1 | G(z))

Writing s(x) = logsumexp(l[:, :K]) - l[:, K] (the log-odds of "real"), 1 - p(K+1|x) = sigmoid(s):
L_unsup = BCE(s(x), 1) + BCE(s(G(z)), 0), the ordinary GAN loss on s. G minimises feature
matching, || E h(x) - E h(G(z)) ||^2 over D's trunk features (Salimans et al.'s choice for
semi-supervised learning), or the non-saturating BCE(s(G(z)), 1).
"""
from __future__ import annotations

import numpy as np

from .. import nn, ops
from ..creation import tensor
from ..nn import init

NUM_CLASSES = 10
Z_DIM = 100
FEATURES = 64 * 7 * 7
IMAGE_SHAPE = (1, 28, 28)
G_LOSSES = ("feature-matching", "nonsaturating")
NOISE = (0.3, 0.5)


class Trunk(nn.Module):
    """images (N, 1, 28, 28) -> features h (N, 3136): the part SGAN's D and the baseline share.
    ``noise``: (s_in, s_h), the Gaussian noise's std on the input and after each hidden layer;
    dropout and noise draw from ``dropout_generator``."""

    def __init__(self, dtype=None, generator=None, dropout_generator=None, noise=NOISE):
        super().__init__()
        kw = dict(dtype=dtype, generator=generator)
        s_in, s_h = noise
        self.net = nn.Sequential(
            nn.GaussianNoise(s_in, dropout_generator), nn.Dropout(0.2, generator=dropout_generator),
            nn.Conv2d(1, 32, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.2),
            nn.GaussianNoise(s_h, dropout_generator),
            nn.Conv2d(32, 64, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.2),
            nn.GaussianNoise(s_h, dropout_generator),
            nn.Dropout(0.5, generator=dropout_generator), nn.Flatten())

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"sgan trunk: expected images of shape (N, 1, 28, 28), got {x.shape}")
        return self.net(x)


class SGANDiscriminator(nn.Module):
    """images -> logits (N, C + 1): C class logits then the "fake" logit. ``features(x)`` is h."""

    def __init__(self, num_classes: int = NUM_CLASSES, dtype=None, generator=None, dropout_generator=None,
                 noise=NOISE):
        super().__init__()
        self.num_classes = int(num_classes)
        self.trunk = Trunk(dtype, generator, dropout_generator, noise)
        self.head = nn.Linear(FEATURES, self.num_classes + 1, dtype=dtype, generator=generator)

    def features(self, x):
        return self.trunk(x)

    def forward(self, x):
        return self.head(self.trunk(x))

    def classify(self, x):
        """Class logits (N, C): the fake output dropped (argmax over the C real classes)."""
        return self(x)[:, :self.num_classes]


class Classifier(nn.Module):
    """The baseline CNN: the same trunk, C outputs, trained on the labelled digits only."""

    def __init__(self, num_classes: int = NUM_CLASSES, dtype=None, generator=None, dropout_generator=None,
                 noise=NOISE):
        super().__init__()
        self.num_classes = int(num_classes)
        self.trunk = Trunk(dtype, generator, dropout_generator, noise)
        self.head = nn.Linear(FEATURES, self.num_classes, dtype=dtype, generator=generator)

    def forward(self, x):
        return self.head(self.trunk(x))

    classify = forward


class Generator(nn.Module):
    """z (N, 100) -> images (N, 1, 28, 28) in [-1, 1] (a small DCGAN generator, Radford et al.)."""

    def __init__(self, z_dim: int = Z_DIM, dtype=None, generator=None):
        super().__init__()
        self.z_dim = int(z_dim)
        kw = dict(dtype=dtype, generator=generator)
        self.net = nn.Sequential(
            nn.Linear(self.z_dim, 7 * 7 * 128, bias=False, **kw), nn.BatchNorm1d(7 * 7 * 128, dtype=dtype),
            nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False, **kw),
            nn.BatchNorm2d(64, dtype=dtype), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1, **kw), nn.Tanh())
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
                init.normal_(m.weight, 0.0, 0.02, generator=generator)

    def forward(self, z):
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"sgan Generator: expected z of shape (N, {self.z_dim}), got {z.shape}")
        return self.net(z)


# ----- losses ----------------------------------------------------------------------------------
def realness(logits):
    """s = logsumexp(l[:, :K]) - l[:, K] (N,): log p(real) - log p(fake) from C + 1 logits."""
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"sgan: expected logits of shape (N, C + 1), got {logits.shape}")
    k = logits.shape[1] - 1
    return ops.logsumexp(logits[:, :k], dim=1) - logits[:, k]


def _bce(s, target: float):
    return ops.binary_cross_entropy_with_logits(
        s, tensor(s.xp.full(s.shape, target, s.dtype), device=s.device))


def supervised_loss(labelled_logits, labels):
    """L_sup = CE(l[:, :K], y): -log p(y | x, y < K + 1), a batch mean."""
    k = labelled_logits.shape[1] - 1
    return ops.cross_entropy(labelled_logits[:, :k], labels)


def unsupervised_loss(unlabelled_logits, fake_logits):
    """L_unsup = -mean log(1 - p(fake | x)) - mean log p(fake | G(z)) = BCE(s(x), 1) + BCE(s(G(z)), 0)."""
    return _bce(realness(unlabelled_logits), 1.0) + _bce(realness(fake_logits), 0.0)


def d_loss(labelled_logits, labels, unlabelled_logits, fake_logits):
    """D's loss L_sup + L_unsup; returns (total, L_sup, L_unsup)."""
    sup = supervised_loss(labelled_logits, labels)
    unsup = unsupervised_loss(unlabelled_logits, fake_logits)
    return sup + unsup, sup, unsup


def g_loss_nonsaturating(fake_logits):
    """-log(1 - p(fake | G(z))) = BCE(s(G(z)), 1)."""
    return _bce(realness(fake_logits), 1.0)


def stratified_indices(labels, n: int, generator, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``n`` indices into ``labels``, as even across classes as n allows: n // C of each class, and
    one more of n % C classes drawn at random; within a class, drawn at random. Sorted."""
    labels = np.asarray(labels).astype(np.int64)
    counts = np.bincount(labels, minlength=num_classes)
    if not num_classes <= n <= len(labels):
        raise ValueError(f"--labels {n}: need between {num_classes} and {len(labels)} labelled digits")
    per_class = np.full(num_classes, n // num_classes)
    per_class[generator.permutation(num_classes)[:n % num_classes]] += 1
    if np.any(per_class > counts):
        raise ValueError(f"--labels {n}: the training digits hold only {counts.min()} of some class")
    chosen = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        chosen.append(members[generator.permutation(len(members))[:per_class[c]]])
    return np.sort(np.concatenate(chosen))
