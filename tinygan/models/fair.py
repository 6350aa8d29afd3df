r"""Adversarially fair representations (Edwards & Storkey, "Censoring Representations with an
Adversary"; Madras et al., "Learning Adversarially Fair and Transferable Representations"), the
second non-generative use of the minimax game in Ryu's lecture notes.

* encoder     h = E(x):   x (N, d) -> h (N, r)         an MLP
* task head   C(h):       h -> 1 logit for y
* adversary   A(h):       h -> 1 logit for the sensitive attribute a

    min_{E, C}  max_A    L_y(C(E(x)), y) - alpha L_a(A(E(x)), a)

with L_y, L_a binary cross-entropies. A minimises L_a (predicts a as well as it can); E and C
minimise L_y while *raising* A's loss, so the representation carries as little about a as alpha
buys. For demographic parity the adversary's cross-entropy is the objective of Edwards & Storkey;
Madras et al. show that an adversary's (group-balanced) error bounds the parity gap of every
classifier on h. alpha = 0 is the unconstrained baseline.

The two players are stepped by a :mod:`tinygan.optim.minimax` scheme in its general form
``scheme.step(min_loss, max_loss)`` -- each player minimises its own closure:
:meth:`FairNet.player_losses` returns them.
"""
from __future__ import annotations

from .. import nn
from ..ops import binary_cross_entropy_with_logits as _bce


def _mlp(sizes, generator, dtype, last_activation=False):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], generator=generator, dtype=dtype))
        if i < len(sizes) - 2 or last_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class FairNet(nn.Module):
    """Encoder (d -> hidden... -> rep, ReLU after every layer), task head (rep -> 1) and adversary
    (rep -> adv_hidden... -> 1). ``min_modules`` / ``max_modules`` name the players' parts."""

    def __init__(self, in_features: int, hidden=(64,), rep: int = 16, adv_hidden=(64,),
                 generator=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.encoder = _mlp([self.in_features, *hidden, rep], generator, dtype, last_activation=True)
        self.head = nn.Linear(rep, 1, generator=generator, dtype=dtype)
        self.adversary = _mlp([rep, *adv_hidden, 1], generator, dtype)

    def min_parameters(self):
        return list(self.encoder.parameters()) + list(self.head.parameters())

    def max_parameters(self):
        return list(self.adversary.parameters())

    def _encode(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"FairNet: expected rows (N, {self.in_features}), got shape "
                             f"{tuple(x.shape)}")
        return self.encoder(x)

    def forward(self, x):
        """Task logits (N,) of rows x (N, d)."""
        h = self._encode(x)
        return self.head(h).reshape(x.shape[0])

    def represent(self, x):
        """The representation h (N, rep)."""
        return self._encode(x)

    def player_losses(self, x, y, a, alpha: float):
        """Closures for ``scheme.step(min_loss, max_loss)`` on one batch, and a dict the closures
        fill with floats (task_loss, adv_loss, task_acc, adv_acc) as they run.

        min_loss() = L_y - alpha L_a (encoder and task head),  max_loss() = L_a (adversary).
        y, a: float tensors of 0/1 (N,)."""
        parts = {}

        def min_loss():
            h = self._encode(x)
            ly = _bce(self.head(h).reshape(x.shape[0]), y)
            la = _bce(self.adversary(h).reshape(x.shape[0]), a)
            parts["task_loss"] = ly.item()
            return ly - alpha * la if alpha else ly

        def max_loss():
            h = self._encode(x).detach()
            logits = self.adversary(h).reshape(x.shape[0])
            la = _bce(logits, a)
            parts["adv_loss"] = la.item()
            parts["adv_acc"] = float(((logits.data > 0) == (a.data > 0.5)).mean())
            return la

        return min_loss, max_loss, parts
