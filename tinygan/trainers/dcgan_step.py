"""One DCGAN training step: the two players' losses and one step of a minimax scheme.

The step of ``python -m tinygan.train dcgan`` (its job: :mod:`.dcgan_loop`, its flags:
:mod:`.dcgan`), also timed by ``python -m tinygan.bench`` against the same step in torch.

    D minimises  BCE(D(x), 1) + BCE(D(G(z)), 0)  = -log D(x) - log(1 - D(G(z)))
    G minimises  BCE(D(G(z)), 1) = -log D(G(z))            (non-saturating)
              or -BCE(D(G(z)), 0) = log(1 - D(G(z)))       (minimax: the original game)
"""
from __future__ import annotations

import numpy as np

from ..ops import binary_cross_entropy_with_logits as bce
from .common import frozen


def discriminator_loss(real_logits, fake_logits):
    """BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean (CMU 11-695's ``disc_loss``)."""
    return bce(real_logits, real_logits.xp.ones(real_logits.shape, real_logits.dtype)) + \
        bce(fake_logits, fake_logits.xp.zeros(fake_logits.shape, fake_logits.dtype))


def generator_loss(fake_logits, kind: str = "nonsaturating"):
    """Non-saturating: BCE(D(G(z)), 1) = -log D(G(z)). Minimax: -BCE(D(G(z)), 0) = log(1 - D(G(z)))."""
    if kind == "nonsaturating":
        return bce(fake_logits, fake_logits.xp.ones(fake_logits.shape, fake_logits.dtype))
    return -bce(fake_logits, fake_logits.xp.zeros(fake_logits.shape, fake_logits.dtype))


def _mean_sigmoid(logits) -> float:
    return float(np.mean(1.0 / (1.0 + np.exp(-np.asarray(logits.to("cpu").numpy(), np.float64)))))


def train_step(G, D, scheme, real, z, g_loss_kind: str) -> dict:
    """One minimax step on the real batch ``real`` (N, 1, 28, 28) and latents ``z`` (N, z_dim).
    Returns d_loss, g_loss (each player's loss as the scheme evaluated it first), d_real = mean
    D(x) and d_fake = mean D(G(z)) (from the first discriminator evaluation)."""
    cache, record = {}, {}

    def fake():
        if "fake" not in cache:
            cache["fake"] = G(z)        # once per step: G's parameters do not move in between
        return cache["fake"]

    def d_loss():
        real_logits, fake_logits = D(real), D(fake().detach())
        if "d_real" not in record:
            record["d_real"], record["d_fake"] = _mean_sigmoid(real_logits), _mean_sigmoid(fake_logits)
        return discriminator_loss(real_logits, fake_logits)

    def g_loss():
        with frozen(D):
            return generator_loss(D(fake()), g_loss_kind)

    values = scheme.step(g_loss, d_loss)
    return {"d_loss": values["max_loss"], "g_loss": values["min_loss"], **record}
