"""One DCGAN training step: the two players' losses and one step of a minimax scheme.

The step of ``python -m tinygan.train dcgan`` (its job: :mod:`.dcgan_loop`, its flags:
:mod:`.dcgan`), also timed by ``python -m tinygan.bench`` against the same step in torch.
The default objective (BCE from logits, as CMU 11-695's notes):

    D minimises  BCE(D(x), 1) + BCE(D(G(z)), 0)  = -log D(x) - log(1 - D(G(z)))
    G minimises  BCE(D(G(z)), 1) = -log D(G(z))            (non-saturating)
              or -BCE(D(G(z)), 0) = log(1 - D(G(z)))       (minimax: the original game)

The other losses (wgan, wgan-gp, hinge, lsgan) are :mod:`tinygan.nn.gan_loss`'s; the
stabilisers (feature matching, label smoothing, ...) :mod:`.objectives`'.
"""
from __future__ import annotations

from ..distributed import batch_mean
from ..nn import gan_loss
from .common import frozen
from .objectives import critic_loss, discriminator_record


def loss_of(config: dict) -> str:
    """The run's GAN loss ("loss"; records from before it hold only "g_loss")."""
    return config.get("loss") or config.get("g_loss") or "nonsaturating"


def train_step(G, D, scheme, real, z, objective="nonsaturating", generator=None) -> dict:
    """One minimax step on the real batch ``real`` (N, 1, 28, 28) and latents ``z`` (N, z_dim).
    ``objective``: a loss name or a run config (its loss and stabilisers, see
    :mod:`tinygan.trainers.objectives`); ``generator``: WGAN-GP's interpolation weights.
    Returns d_loss, g_loss (each player's loss as the scheme evaluated it first), and from the
    first discriminator evaluation d_real = mean D(x), d_fake = mean D(G(z)) (BCE losses) or
    critic_gap = mean C(x) - mean C(G(z)) (the others)."""
    config = {"loss": objective} if isinstance(objective, str) else {**objective, "loss": loss_of(objective)}
    cache, record = {}, {}

    def fake():
        if "fake" not in cache:
            cache["fake"] = G(z)        # once per step: G's parameters do not move in between
        return cache["fake"]

    def d_loss():
        loss, real_out, fake_out = critic_loss(D, real, fake().detach(), config, generator)
        if not record:
            record.update(discriminator_record(config["loss"], real_out, fake_out))
        return loss

    def g_loss():
        with frozen(D):
            if config.get("feature_matching"):
                return gan_loss.feature_matching_loss(D.features(real), D.features(fake()), batch_mean)
            return gan_loss.generator_loss(D(fake()), config["loss"])

    values = scheme.step(g_loss, d_loss)
    return {"d_loss": values["max_loss"], "g_loss": values["min_loss"], **record}
