r"""The GAN objectives and stabilisers of the GAN trainers (all of them in ``train gan`` and
``train dcgan``; the losses without critic steps, spectral norm and label smoothing in ``train cgan``):
their flags, the settings each loss brings, and the two players' losses for one step.

    --loss nonsaturating | minimax | wgan | wgan-gp | hinge | lsgan      (tinygan.nn.gan_loss)
    --spectral-norm                 every weight of D divided by its largest singular value
    --feature-matching              G matches the mean of D's last hidden layer
    --minibatch-discrimination B C  D sees B closeness statistics of each sample to its batch
    --label-smoothing A             one-sided: D's real target is A (e.g. 0.9), the fake one 0
    --pack M                        PacGAN: D judges packs of M samples (``train gan``; ``train dcgan``
                                    has its own flag)

A loss brings the training recipe of its paper unless the user gives the flag (``LOSS_DEFAULTS``):
``wgan`` (Arjovsky, Chintala & Bottou 2017, Algorithm 1): a critic without sigmoid whose weights
are clipped into [-c, c], c = 0.01, after every critic step, RMSprop lr 5e-5, 5 critic steps per
generator step; ``wgan-gp`` (Gulrajani et al. 2017, Algorithm 1): penalty weight lambda = 10 on
random interpolates, Adam lr 1e-4, betas (0, 0.9), 5 critic steps.
"""
from __future__ import annotations

import argparse

import numpy as np

from .. import nn
from ..cli import positive_float, positive_int
from ..distributed import batch_mean
from ..nn import gan_loss
from ..optim import Adam, RMSprop
from .rundir import POSITIVE, POSITIVE_INT, optional

LOSS_DEFAULTS = {
    "wgan": dict(optimizer="rmsprop", lr=5e-5, n_critic=5, clip=0.01),
    "wgan-gp": dict(optimizer="adam", lr=1e-4, betas=[0.0, 0.9], n_critic=5, gp_weight=10.0),
}
# The config keys this module owns, with the values of a plain (non-saturating, unstabilised) GAN.
OBJECTIVE_DEFAULTS = dict(loss="nonsaturating", optimizer="adam", clip=None, gp_weight=None,
                          spectral_norm=False, feature_matching=False, minibatch=None, real_label=1.0)


def _label(text: str) -> float:
    value = float(text)
    if not 0.5 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"the real label must lie in (0.5, 1], got {text}")
    return value


STABILISERS = ("spectral_norm", "feature_matching", "minibatch", "real_label")


def add_objective_flags(p: argparse.ArgumentParser, losses=gan_loss.LOSSES, stabilisers=STABILISERS) -> None:
    """--loss (one of ``losses``), the WGAN flags (--optimizer, --clip, --gp-weight; only where
    ``losses`` holds wgan) and the flags of ``stabilisers`` (config keys), each default=None."""
    p.add_argument("--loss", choices=losses,
                   help="the GAN objective (default nonsaturating)" + (
                       "; wgan and wgan-gp bring their papers' optimizer, lr, critic steps, clip / "
                       "penalty unless given" if "wgan" in losses else ""))
    if "wgan" in losses:
        p.add_argument("--optimizer", choices=("adam", "rmsprop"), help="both players' optimizer "
                       "(default adam; rmsprop for --loss wgan)")
        p.add_argument("--clip", type=positive_float, help="WGAN weight clipping bound c (default 0.01)")
        p.add_argument("--gp-weight", type=positive_float, help="WGAN-GP penalty lambda (default 10)")
    if "spectral_norm" in stabilisers:
        p.add_argument("--spectral-norm", action="store_const", const=True,
                       help="spectral normalisation of every D layer (Miyato et al. 2018)")
    if "feature_matching" in stabilisers:
        p.add_argument("--feature-matching", action="store_const", const=True,
                       help="G matches the mean of D's last hidden layer (Salimans et al. 2016)")
    if "minibatch" in stabilisers:
        p.add_argument("--minibatch-discrimination", dest="minibatch", type=positive_int, nargs=2,
                       metavar=("B", "C"), help="minibatch discrimination before D's output layer: "
                       "B kernels of C dimensions (Salimans et al. 2016; e.g. 5 3)")
    if "real_label" in stabilisers:
        p.add_argument("--label-smoothing", dest="real_label", type=_label, metavar="A",
                       help="one-sided label smoothing: real target A, e.g. 0.9 (BCE losses only)")
    if "pack" in stabilisers:
        p.add_argument("--pack", type=positive_int, metavar="M",
                       help="PacGAN (Lin et al. 2018): D judges packs of M samples concatenated, "
                            "all real or all generated; a batch is --batch-size packs (default 1: no packing)")


def loss_recipe(loss: str | None, given: dict, critic_steps) -> dict:
    """The settings ``loss`` brings (LOSS_DEFAULTS) that the user has not ``given``; its critic
    steps n become the trainer's own setting ``critic_steps(n)`` -> (key, value)."""
    recipe = dict(LOSS_DEFAULTS.get(loss, {}))
    if "n_critic" in recipe:
        key, value = critic_steps(recipe.pop("n_critic"))
        recipe[key] = value
    return {k: v for k, v in recipe.items() if k not in given}


def check_objective(config: dict) -> None:
    """ValueError naming the flags of a combination that cannot work."""
    loss = config.get("loss") or "nonsaturating"
    if config.get("clip") is not None and loss != "wgan":
        raise ValueError(f"--clip is WGAN's weight clipping; it needs --loss wgan, not {loss}")
    if config.get("gp_weight") is not None and loss != "wgan-gp":
        raise ValueError(f"--gp-weight is WGAN-GP's penalty; it needs --loss wgan-gp, not {loss}")
    if config.get("real_label", 1.0) != 1.0 and loss not in ("nonsaturating", "minimax"):
        raise ValueError(f"--label-smoothing needs a BCE loss (nonsaturating or minimax), not {loss}")


def resolve_objective(config: dict, given: dict, critic_steps) -> dict:
    """``config`` < the loss's recipe < the flags the user ``given``, checked."""
    loss = given.get("loss", config.get("loss", "nonsaturating"))
    out = {**OBJECTIVE_DEFAULTS, **config, **loss_recipe(loss, given, critic_steps), **given, "loss": loss}
    check_objective(out)
    out["minibatch"] = list(out["minibatch"]) if out["minibatch"] else None
    return out


def objective_rules() -> dict:
    """What a checkpoint's config must hold for these keys (rundir.check_config rules)."""
    rules = {"loss": lambda v: v in gan_loss.LOSSES, "optimizer": lambda v: v in ("adam", "rmsprop"),
            "clip": lambda v: v is None or POSITIVE(v), "gp_weight": lambda v: v is None or POSITIVE(v),
            "spectral_norm": lambda v: isinstance(v, bool), "feature_matching": lambda v: isinstance(v, bool),
            "minibatch": lambda v: v is None or (isinstance(v, list) and len(v) == 2
                                                 and all(map(POSITIVE_INT, v))),
            "real_label": lambda v: isinstance(v, (int, float)) and 0.5 < v <= 1.0, "pack": POSITIVE_INT}
    return {key: optional(rule) for key, rule in rules.items()}     # records from before them lack them


def describe_objective(config: dict) -> str:
    """One line: the loss and the stabilisers in use."""
    parts = [f"{config.get('loss', 'nonsaturating')} loss"]
    if config.get("clip"):
        parts.append(f"clip {config['clip']}")
    if config.get("gp_weight"):
        parts.append(f"gradient penalty {config['gp_weight']}")
    parts += [name for key, name in (("spectral_norm", "spectral norm"),
                                     ("feature_matching", "feature matching")) if config.get(key)]
    if config.get("minibatch"):
        parts.append("minibatch discrimination B={} C={}".format(*config["minibatch"]))
    if config.get("real_label", 1.0) != 1.0:
        parts.append(f"one-sided label smoothing {config['real_label']}")
    if config.get("pack", 1) > 1:
        parts.append(f"PacGAN packs of {config['pack']}")
    return ", ".join(parts)


# ----- the pieces a trainer builds ---------------------------------------------------------------
def spectral_normalize(module, generator=None):
    """Apply :func:`tinygan.nn.utils.spectral_norm` to every Linear / Conv2d / ConvTranspose2d of
    ``module`` (u and v drawn from ``generator``); returns ``module``."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.utils.spectral_norm(layer, generator=generator)
    return module


class WeightClipping:
    """An optimizer whose ``step()`` is followed by w <- clip(w, -c, c) for every parameter
    (the WGAN critic's Lipschitz constraint, Arjovsky et al. 2017, Algorithm 1 line 7).
    Everything else (zero_grad, param_groups, state_dict...) is the wrapped optimizer's."""

    def __init__(self, optimizer, clip: float):
        self.optimizer, self.clip = optimizer, float(clip)

    def step(self, closure=None):
        result = self.optimizer.step(closure) if closure is not None else self.optimizer.step()
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                p.xp.clip(p.data, -self.clip, self.clip, out=p.data)
        return result

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


def make_optimizers(G, D, config: dict, lr: float):
    """(G's, D's) optimizer for ``config``: Adam (betas, eps from the config) or RMSprop, both at
    ``lr``; D's clips its weights after every step under ``--loss wgan``."""
    if config.get("optimizer", "adam") == "rmsprop":
        g_opt, d_opt = RMSprop(G.parameters(), lr=lr), RMSprop(D.parameters(), lr=lr)
    else:
        kw = dict(lr=lr, betas=tuple(config["betas"]), eps=config.get("eps", 1e-8))
        g_opt, d_opt = Adam(G.parameters(), **kw), Adam(D.parameters(), **kw)
    if config.get("loss") == "wgan":
        d_opt = WeightClipping(d_opt, config.get("clip") or LOSS_DEFAULTS["wgan"]["clip"])
    return g_opt, d_opt


def critic_loss(D, real, fake, config: dict, generator=None, fake_out=None):
    """D's loss on a real batch and a (detached) fake batch: (loss, D's outputs on real, on fake);
    with the gradient penalty under wgan-gp (interpolation weights from ``generator``). A packed
    D (``D.pack``, PacGAN) gets its packs made here, so that the penalty's interpolates and
    gradient norms are per pack, the point D actually sees. ``fake_out``: D(fake) when the caller
    has it already (InfoGAN's Q head shares D's pass over the fakes)."""
    kind = config.get("loss", "nonsaturating")
    if getattr(D, "pack", None) is not None:
        real, fake = D.pack(real.reshape(real.shape[0], -1)), D.pack(fake.reshape(fake.shape[0], -1))
    real_out, fake_out = D(real), (D(fake) if fake_out is None else fake_out)
    loss = gan_loss.discriminator_loss(real_out, fake_out, kind, config.get("real_label", 1.0))
    if kind == "wgan-gp":
        loss = loss + gan_loss.gradient_penalty(D, real, fake, config.get("gp_weight") or 10.0, generator)
    return loss, real_out, fake_out


def generator_objective(D, real, fake, config: dict):
    """G's loss on its batch ``fake``: feature matching against ``real`` (the mean of D's
    ``features``), else the loss's generator side."""
    if config.get("feature_matching"):
        return gan_loss.feature_matching_loss(D.features(real), D.features(fake), batch_mean)
    return gan_loss.generator_loss(D(fake), config.get("loss", "nonsaturating"))


def discriminator_record(kind: str, real_logits, fake_logits) -> dict:
    """What a step logs of D's outputs: d_real = mean D(x), d_fake = mean D(G(z)) (sigmoids of the
    logits) under the BCE losses; critic_gap (:func:`critic_gap`) under the others, whose scores
    are not probabilities."""
    if kind in ("nonsaturating", "minimax"):
        return {"d_real": _mean_sigmoid(real_logits), "d_fake": _mean_sigmoid(fake_logits)}
    return {"critic_gap": critic_gap(real_logits, fake_logits)}


def _mean_sigmoid(logits) -> float:
    return float(np.mean(1.0 / (1.0 + np.exp(-np.asarray(logits.to("cpu").numpy(), np.float64)))))


def critic_gap(real_out, fake_out) -> float:
    """mean C(x) - mean C(G(z)): the critic's estimate of W(p, q) (times its Lipschitz bound)."""
    return float(real_out.detach().mean().item() - fake_out.detach().mean().item())
