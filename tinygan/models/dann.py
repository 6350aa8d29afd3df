r"""Domain-adversarial neural network (Ganin & Lempitsky, "Unsupervised Domain Adaptation by
Backpropagation"; Ganin et al., "Domain-Adversarial Training of Neural Networks"), as in Ryu's
lecture notes on uses of the minimax game beyond generators.

Three parts:

* feature extractor  f = G_f(x):  x (N, 1, 28, 28) -> f (N, 3136): two stride-2 5x5 convolutions
  (1 -> 32 -> 64 channels, 28 -> 14 -> 7), LeakyReLU(0.2), dropout;
* label classifier   G_y(f):  f -> 10 class logits;
* domain classifier  G_d(f):  f -> 1 logit, "target" (1) against "source" (0).

The game: with L_y the source cross-entropy and L_d the domain BCE on source and target features,

    min_{G_f, G_y}  max_{G_d}   L_y(G_f, G_y) - lambda L_d(G_f, G_d)

G_d minimises L_d while G_f maximises it (features the domain classifier cannot tell apart) and
minimises L_y. One backward pass of  L_y + L_d(G_d(R_lambda(f)))  with the gradient reversal
R_lambda (:class:`tinygan.nn.GradientReversal`) between G_f and G_d gives every parameter its
gradient for that game at once, so one optimizer step plays it (simultaneous gradient play).

The paper's schedules (p = training progress in [0, 1]):

    lambda_p = 2 / (1 + exp(-gamma p)) - 1,   gamma = 10         (the reversal's weight, 0 -> 1)
    mu_p = mu_0 / (1 + alpha p)^beta,          alpha = 10, beta = 0.75   (SGD learning rate)

The paper's mu_p still holds mu_0 / 6 at the end (p = 1), where lambda_p is near 1 and the game is
at its most agitated; ``cosine_lr``, mu_p = mu_0 (1 + cos(pi p)) / 2, anneals it to zero instead.
"""
from __future__ import annotations

import math

from .. import nn, ops
from ..tensor import Tensor
from ..ops import binary_cross_entropy_with_logits as _bce
from ..ops import cross_entropy as _ce

FEATURES = 64 * 7 * 7


def grl_lambda(progress: float, gamma: float = 10.0, lambda_max: float = 1.0) -> float:
    """The paper's reversal weight lambda_p = lambda_max (2 / (1 + exp(-gamma p)) - 1)."""
    return lambda_max * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0)


def annealed_lr(progress: float, lr0: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """The paper's learning-rate annealing mu_p = mu_0 / (1 + alpha p)^beta."""
    return lr0 / (1.0 + alpha * progress) ** beta


def cosine_lr(progress: float, lr0: float) -> float:
    """Cosine annealing to zero (Loshchilov & Hutter): mu_p = mu_0 (1 + cos(pi p)) / 2."""
    return lr0 * 0.5 * (1.0 + math.cos(math.pi * progress))


class FeatureExtractor(nn.Module):
    """G_f: x (N, 1, 28, 28) -> f (N, 3136). conv 5x5 s2 p2 (1 -> 32), LeakyReLU(0.2), conv 5x5 s2
    p2 (32 -> 64), LeakyReLU(0.2), dropout(p), flatten."""

    def __init__(self, dropout: float = 0.3, generator=None, dtype=None, dropout_generator=None):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, stride=2, padding=2, generator=generator, dtype=dtype)
        self.conv2 = nn.Conv2d(32, 64, 5, stride=2, padding=2, generator=generator, dtype=dtype)
        self.dropout = nn.Dropout(dropout, generator=dropout_generator)

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"dann FeatureExtractor: expected images (N, 1, 28, 28), got shape "
                             f"{tuple(x.shape)}")
        h = ops.leaky_relu(self.conv1(x), 0.2)
        h = ops.leaky_relu(self.conv2(h), 0.2)
        return self.dropout(h).reshape(x.shape[0], FEATURES)


def _mlp(sizes, generator, dtype):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], generator=generator, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DANN(nn.Module):
    """The three parts and the reversal. ``domain_hidden``: the domain classifier's hidden widths
    (default (256, 256); the paper's SVHN one is (1024, 1024)); ``label_hidden`` likewise for the
    label classifier.
    ``generator``: the initial weights' stream; ``dropout_generator``: the dropout masks'."""

    def __init__(self, domain_hidden=(256, 256), label_hidden=(), dropout: float = 0.3,
                 n_classes: int = 10, generator=None, dtype=None, dropout_generator=None):
        super().__init__()
        self.features = FeatureExtractor(dropout, generator, dtype, dropout_generator)
        self.classifier = _mlp([FEATURES, *label_hidden, n_classes], generator, dtype)
        self.domain = _mlp([FEATURES, *domain_hidden, 1], generator, dtype)
        self.reversal = nn.GradientReversal(0.0)

    def forward(self, x):
        """Class logits (N, 10) of images x (N, 1, 28, 28)."""
        return self.classifier(self.features(x))

    def losses(self, x_source, y_source, x_target=None):
        """One step's losses: returns (total, parts). parts holds floats: label_loss (source
        cross-entropy), domain_loss (BCE of G_d on both domains, through the reversal),
        domain_acc, source_acc. Without ``x_target`` (source-only training) total = label loss.

        Source and target go through G_f in one batch (N_s + N_t images), so dropout and any
        statistics see both domains alike."""
        n_s = x_source.shape[0]
        x = x_source if x_target is None else ops.cat([x_source, x_target], 0)
        f = self.features(x)
        logits = self.classifier(f[:n_s])
        label_loss = _ce(logits, y_source)
        parts = {"label_loss": label_loss.item(),
                 "source_acc": float((logits.data.argmax(1) == y_source.data).mean())}
        if x_target is None:
            return label_loss, parts
        n_t = x_target.shape[0]
        d = self.domain(self.reversal(f)).reshape(n_s + n_t)
        xp = d.xp
        is_target = Tensor(xp.concatenate([xp.zeros(n_s, d.dtype), xp.ones(n_t, d.dtype)]))
        domain_loss = _bce(d, is_target)
        parts["domain_loss"] = domain_loss.item()
        parts["domain_acc"] = float(((d.data > 0) == (is_target.data > 0.5)).mean())
        return label_loss + domain_loss, parts
