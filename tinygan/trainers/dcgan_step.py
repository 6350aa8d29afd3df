"""One DCGAN training step: the two players' losses and one step of a minimax scheme.

The step of ``python -m tinygan.train dcgan`` (its job: :mod:`.dcgan_loop`, its flags:
:mod:`.dcgan`), also timed by ``python -m tinygan.bench`` against the same step in torch.
The default objective (BCE from logits, as CMU 11-695's notes):

    D minimises  BCE(D(x), 1) + BCE(D(G(z)), 0)  = -log D(x) - log(1 - D(G(z)))
    G minimises  BCE(D(G(z)), 1) = -log D(G(z))            (non-saturating)
              or -BCE(D(G(z)), 0) = log(1 - D(G(z)))       (minimax: the original game)

The other losses (wgan, wgan-gp, hinge, lsgan) are :mod:`tinygan.nn.gan_loss`'s; the
stabilisers (feature matching, label smoothing, ...) :mod:`.objectives`'. With InfoGAN's code
(``info_codes`` K > 0; c = the code G reads from z, :func:`tinygan.models.dcgan.code_of`) both
players also minimise lambda CE(Q(G(z)), c), D through its Q head and shared trunk, G through its
samples (Chen et al. 2016: -CE is a lower bound on I(c; G(z)) - H(c)); Q shares D's pass.
"""
from __future__ import annotations

from ..distributed import batch_mean, shard
from ..models.dcgan import code_of
from ..nn import gan_loss
from ..ops import cross_entropy
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
    critic_gap = mean C(x) - mean C(G(z)) (the others); with InfoGAN's code, info_loss =
    CE(Q(G(z)), c) at that evaluation."""
    config = {"loss": objective} if isinstance(objective, str) else {**objective, "loss": loss_of(objective)}
    cache, record = {}, {}
    # z is the global batch; G and D cut their inputs to this process's rows under --distributed
    codes = shard(code_of(z, config["info_codes"])) if config.get("info_codes") else None

    def fake():
        if "fake" not in cache:
            cache["fake"] = G(z)        # once per step: G's parameters do not move in between
        return cache["fake"]

    def d_loss():
        fake_out = info = None
        if codes is not None:
            fake_out, code_logits = D.forward_with_codes(fake().detach())
            info = cross_entropy(code_logits, codes)
        loss, real_out, fake_out = critic_loss(D, real, fake().detach(), config, generator, fake_out)
        if not record:
            record.update(discriminator_record(config["loss"], real_out, fake_out))
            if info is not None:
                record["info_loss"] = float(info.item())
        return loss if info is None else loss + config["info_weight"] * info

    def g_loss():
        with frozen(D):
            code_logits = None
            if config.get("feature_matching"):
                loss = gan_loss.feature_matching_loss(D.features(real), D.features(fake()), batch_mean)
                if codes is not None:
                    code_logits = D.forward_with_codes(fake())[1]
            else:
                out, code_logits = D.forward_with_codes(fake()) if codes is not None else (D(fake()), None)
                loss = gan_loss.generator_loss(out, config["loss"])
            return loss if codes is None else loss + config["info_weight"] * cross_entropy(code_logits, codes)

    values = scheme.step(g_loss, d_loss)
    return {"d_loss": values["max_loss"], "g_loss": values["min_loss"], **record}
