"""Screening DCGAN variants that are not flags of ``train dcgan``: ``dcgan_recipes.py`` with one
change to the networks or the optimizers, chosen by ``--variant``. Everything after the variant's
own arguments is ``dcgan_recipes.py``'s (rows land in its ``--out``; the row's ``name`` says the
variant). Measured in the fifth and sixth screens (benchmarks/README.md).

    python benchmarks/dcgan_variants.py --variant d3 -- --name d3-s0 --images 89600 --at 89600 --ema 0.995
    python benchmarks/dcgan_variants.py --variant dropout=0.5 -- --name drop05-s0 ...

Variants:
    d3            a third convolution in D, 128 -> 256, 3x3, stride 2 (7x7 -> 4x4), LeakyReLU 0.3 and
                  dropout 0.3 as the others; minibatch discrimination and Q read its 4,096 features
    dropout=P     D's two dropout layers drop P instead of 0.3
    cont=M        InfoGAN's continuous codes beside the categorical one (Chen et al. 2016): z's
                  entries K .. K+M-1 (N(0, 1), read by G already) are M continuous codes, Q gets M
                  more outputs (the means of unit-variance Gaussians) and both players add
                  0.5 * mean (Q_c(G(z)) - z_c)^2 at weight 1 (the Gaussian log-likelihood up to a
                  constant, as InfoGAN's code); measured in the sixth screen
    r1=GAMMA[:K]  the R1 penalty on D (Mescheder, Geiger & Nowozin 2018): gamma / 2 * mean
                  ||grad_x D(x)||^2 over the real batch (tinygan.nn.gan_loss.r1_penalty), added to
                  D's loss every K-th step at K times its weight (StyleGAN2's lazy regularisation;
                  K = 1 by default); measured in the seventh screen

(``g-lr=F``, G's Adam at F x the learning rate, screened on 2026-12-07, is now ``train dcgan
--g-lr`` / ``dcgan_recipes.py --set g_lr=...``; ``gk4``, G's stride-2 layers with 4 x 4 kernels,
screened in the seventh screen as a patch that drew those kernels after the rest of G, is now
``train dcgan --g-kernel 4`` / ``--set g_kernel=4``.)
"""
from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

from tinygan import nn
from tinygan.models import dcgan
from tinygan.nn import gan_loss
from tinygan.trainers import dcgan_loop, dcgan_step

HERE = Path(__file__).resolve().parent


def third_conv_discriminator():
    """Discriminator.__init__ with the d3 trunk (the tf architecture otherwise unchanged)."""
    plain = dcgan.Discriminator.__init__

    def __init__(self, arch="tf", dtype=None, generator=None, dropout_generator=None, minibatch=None,
                 augment=None, augment_generator=None, pack=1, codes=0):
        plain(self, arch, dtype, generator, dropout_generator, None, augment, augment_generator, pack, 0)
        features = 256 * 4 * 4
        self.net = nn.Sequential(*list(self.net)[:-2],
                                 nn.Conv2d(128, 256, 3, stride=2, padding=1, dtype=dtype), nn.LeakyReLU(0.3),
                                 nn.Dropout(0.3, generator=dropout_generator), nn.Flatten(),
                                 nn.Linear(features, 1, dtype=dtype))
        dcgan._keras_init(self.net[-5], generator)
        dcgan._keras_init(self.net[-1], generator)
        if minibatch:
            B, C = minibatch
            self.minibatch = nn.MinibatchDiscrimination(features, B, C, dtype=dtype, generator=generator)
            self.net.add_module(str(len(self.net) - 1),      # replaces the output layer
                                 dcgan._keras_init(nn.Linear(features + B, 1, dtype=dtype), generator))
        self.codes = codes
        if codes:
            self.q = nn.Sequential(nn.Flatten(), nn.Linear(features, 128, generator=generator, dtype=dtype),
                                   nn.LeakyReLU(0.2), nn.Linear(128, codes, generator=generator, dtype=dtype))
    dcgan.Discriminator.__init__ = __init__


def discriminator_dropout(p: float):
    build = dcgan.build

    def build_with_dropout(*args, **kwargs):
        G, D = build(*args, **kwargs)
        for layer in D.net:
            if isinstance(layer, nn.Dropout):
                layer.p = p
        return G, D
    dcgan.build = build_with_dropout


def continuous_codes(m: int):
    """Q with m more outputs, and the step's code loss with their squared error added."""
    plain_init, plain_step, plain_ce = dcgan.Discriminator.__init__, dcgan_step.train_step, dcgan_step.cross_entropy
    batch = {}

    def __init__(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        if self.codes:
            last = self.q[-1]
            self.q = nn.Sequential(*list(self.q)[:-1], nn.Linear(last.in_features, self.codes + m,
                                                                 generator=kwargs.get("generator")))

    def train_step(G, D, scheme, real, z, objective="nonsaturating", generator=None):
        K = objective["info_codes"]
        batch.update(codes=K, weight=objective["info_weight"], z=z[:, K:K + m])
        return plain_step(G, D, scheme, real, z, objective, generator)

    def cross_entropy(logits, codes):         # the step multiplies it by info_weight
        K = batch["codes"]
        squared = ((logits[:, K:] - batch["z"]) ** 2).mean() * 0.5
        return plain_ce(logits[:, :K], codes) + squared / batch["weight"]
    dcgan.Discriminator.__init__ = __init__
    dcgan_loop.train_step, dcgan_step.cross_entropy = train_step, cross_entropy


def r1_penalty(gamma: float, every: int):
    """D's loss (dcgan_step's critic_loss) plus every * R1(gamma) on every ``every``-th call."""
    plain, calls = dcgan_step.critic_loss, [0]

    def critic_loss(D, real, fake, config, generator=None, fake_out=None):
        loss, real_out, fake_out = plain(D, real, fake, config, generator, fake_out)
        calls[0] += 1
        if (calls[0] - 1) % every == 0:
            loss = loss + every * gan_loss.r1_penalty(D, real, gamma)
        return loss, real_out, fake_out
    dcgan_step.critic_loss = critic_loss


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", required=True, help="d3 | dropout=P | cont=M | r1=GAMMA[:K]")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="-- then dcgan_recipes.py's arguments")
    a = p.parse_args()
    name, _, value = a.variant.partition("=")
    if name == "d3" and not value:
        third_conv_discriminator()
    elif name == "dropout" and value:
        discriminator_dropout(float(value))
    elif name == "cont" and value:
        continuous_codes(int(value))
    elif name == "r1" and value:
        gamma, _, every = value.partition(":")
        r1_penalty(float(gamma), int(every or 1))
    else:
        p.error(f"--variant: expected d3, dropout=P, cont=M or r1=GAMMA[:K], got {a.variant!r}")
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    sys.argv = [str(HERE / "dcgan_recipes.py"), *rest]
    runpy.run_path(str(HERE / "dcgan_recipes.py"), run_name="__main__")


if __name__ == "__main__":
    main()
