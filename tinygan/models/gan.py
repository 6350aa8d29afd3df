r"""The original GAN (Goodfellow et al. 2014, as in Kitov's slides): two multilayer perceptrons.

* generator G(z): Z -> X, a noise vector z ~ p(z) = N(0, I) to a data point x ~ q(x);
* discriminator D(x): X -> [0, 1], the probability that x is real rather than generated.

They play  min_G max_D V(D, G) = E_{x~p}[log D(x)] + E_{z~p(z)}[log(1 - D(G(z)))].  For a fixed G
the best discriminator is D*(x) = p(x) / (p(x) + q(x)), and against D* the game is
-log 4 + 2 JS(p || q), minimised exactly when q = p (Goodfellow et al. 2014, "Global optimality").

:class:`Discriminator` returns the *logit* a with D(x) = σ(a): log D = -softplus(-a) and
log(1 - D) = -softplus(a) are then computed stably by the BCE-with-logits loss. The losses of
Algorithm 1 (``discriminator_loss``, ``generator_loss``; with the other GAN objectives in
:mod:`tinygan.nn.gan_loss`, imported here for the trainers):

    D minimises   L_D   = -(1/m) Σ [log D(x_i) + log(1 - D(G(z_i)))]          (ascends V)
    G minimises   L_G   =  (1/m) Σ log(1 - D(G(z_i)))                         ("minimax": descends V)
             or   L_G^ns = -(1/m) Σ log D(G(z_i))                             ("nonsaturating")

The minimax generator gradient is -D(G(z)) ∇a and vanishes while D confidently rejects the fakes
(Goodfellow et al. 2014, "Gradient vanishing"); the non-saturating loss has the same fixed point and strong early
gradients.
"""
from __future__ import annotations

from .. import nn
from ..nn.gan_loss import discriminator_loss, generator_loss  # noqa: F401 (Algorithm 1's losses)

G_LOSSES = ("nonsaturating", "minimax")


def _mlp(sizes, activation, out_activation=None, generator=None, dtype=None):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], generator=generator, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    if out_activation is not None:
        layers.append(out_activation())
    return nn.Sequential(*layers)


ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


class Generator(nn.Module):
    """MLP G: z (N, z_dim) -> x (N, out_dim). Hidden layers of widths ``hidden`` with ``activation``
    ("relu" or "leaky_relu", slope 0.2); the output is linear (2-D mixtures) or tanh
    (``out_activation="tanh"``: images in [-1, 1])."""

    def __init__(self, z_dim: int = 2, out_dim: int = 2, hidden=(128, 128), out_activation=None,
                 activation: str = "relu", generator=None, dtype=None):
        super().__init__()
        self.z_dim, self.out_dim = int(z_dim), int(out_dim)
        out = {None: None, "linear": None, "tanh": nn.Tanh}[out_activation]
        self.net = _mlp([self.z_dim, *hidden, self.out_dim], ACTIVATIONS[activation], out, generator,
                        dtype)

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    """MLP D: x (N, in_dim) -> logits (N,), LeakyReLU(0.2) hidden layers; D(x) = sigmoid(logit).
    ``dropout`` > 0 puts a Dropout(p) after every hidden layer (its masks drawn from
    ``dropout_generator``), which keeps D from memorising the MNIST digits too fast.

    ``features(x)`` is the last hidden layer (N, hidden[-1]) that feature matching compares;
    ``minibatch=(B, C)`` puts a :class:`tinygan.nn.MinibatchDiscrimination` between it and the
    output layer, which then reads (N, hidden[-1] + B).

    ``pack=m`` > 1 makes it PacGAN's packed discriminator (Lin et al. 2018): a :class:`tinygan.nn.Pack`
    first layer concatenates samples i m, ..., i m + m - 1, so D maps x (N, in_dim) to N / m logits,
    one per pack, and its first Linear reads m in_dim features."""

    def __init__(self, in_dim: int = 2, hidden=(128, 128), dropout: float = 0.0, generator=None,
                 dropout_generator=None, dtype=None, minibatch=None, pack: int = 1):
        super().__init__()
        self.in_dim = int(in_dim)
        self.pack = nn.Pack(pack, self.in_dim) if pack > 1 else None

        def act():
            if not dropout:
                return nn.LeakyReLU(0.2)
            return nn.Sequential(nn.LeakyReLU(0.2), nn.Dropout(dropout, generator=dropout_generator))
        self.net = _mlp([self.in_dim * max(1, pack), *hidden, 1], act, None, generator, dtype)
        if minibatch:
            B, C = minibatch
            self.minibatch = nn.MinibatchDiscrimination(hidden[-1], B, C, dtype=dtype, generator=generator)
            last = str(len(self.net) - 1)          # the output layer reads [h, o(h)]
            self.net.add_module(last, nn.Linear(hidden[-1] + B, 1, dtype=dtype, generator=generator))
        else:
            self.minibatch = None

    def features(self, x):
        """The last hidden layer's activations, (N, hidden[-1]) (N / m rows for packs of m)."""
        x = x.reshape(x.shape[0], -1)
        return self.net[:-1](x if self.pack is None else self.pack(x))

    def forward(self, x):
        h = self.features(x)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.net[-1](h).reshape(-1)

