"""Screening CycleGAN variants that are not flags of ``train cyclegan`` (issue 14: MNIST -> UCI
keeps the class of about half the digits). ``python -m tinygan.train cyclegan`` with one or more
changes chosen by ``--variant``; everything after ``--`` is the trainer's own flags. Measured in
benchmarks/README.md, "CycleGAN MNIST -> UCI: variants".

    python benchmarks/cyclegan_variants.py --variant project -- --out runs/cyc-project
    python benchmarks/cyclegan_variants.py --variant project --variant d8 -- --out runs/cyc-d8
    python benchmarks/cyclegan_variants.py --variant semantic=1 -- --out runs/cyc-sem1

Variants:
    project      G_AB's output is projected onto the UCI digits' own family of images: the 20x20
                 box cut out, area-averaged to 8x8, resampled bilinearly back to 20x20 and set on
                 the -1 background (the linear map ``tinygan.data.uci_digits.to_frame`` applies to
                 an 8x8 digit), so D_B and the cycle see only what an 8x8 UCI digit can hold
    d8           D_B judges the whole digit at UCI's own resolution: the 20x20 box area-averaged to
                 8x8, then an MLP 64 -> 256 -> 256 -> 1 (LeakyReLU 0.2), one score per digit
    semantic=L   CyCADA's semantic-consistency loss on G_AB (Hoffman et al. 2018, "CyCADA:
                 Cycle-Consistent Adversarial Domain Adaptation"): G's objective adds
                 L x CE(f(G_AB(a)), argmax f(a)), f the project's MNIST LeNet, frozen -- a
                 classifier of the source domain only; the UCI judge of the figures never enters
                 training. (Not applied to G_BA: f is the judge of UCI -> MNIST.)
"""
from __future__ import annotations

import argparse
import sys

from tinygan import nn
from tinygan.autograd import no_grad
from tinygan.metrics.lenet import load_lenet
from tinygan.models import cyclegan as models
from tinygan.ops import cross_entropy
from tinygan.ops.padding import pad
from tinygan.ops.resample import interpolate
from tinygan.train import main as train_main
from tinygan.trainers import cyclegan as trainer

BOX = slice(4, 24)          # the UCI digit's 20x20 box in the 28x28 frame (uci_digits.to_frame)


def to_uci_family(y):
    """(N, 1, 28, 28) -> the same shape: the box area-averaged to 8x8, resampled back, -1 around."""
    small = interpolate(y[:, :, BOX, BOX], size=(8, 8), mode="area")
    up = interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    return pad(up + 1.0, (4, 4, 4, 4)) - 1.0


class Critic8(nn.Module):
    """The d8 variant's D_B: (N, 1, 28, 28) -> (N, 1) scores of the box at 8x8."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.LeakyReLU(0.2),
                                 nn.Linear(256, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))

    def forward(self, x):
        return self.mlp(interpolate(x[:, :, BOX, BOX], size=(8, 8), mode="area"))


def patch_build(project: bool, d8: bool):
    build = trainer.build

    def patched(config, generator=None):
        modules = build(config, generator)
        if project:
            plain = type(modules["G_AB"])

            class Projected(plain):
                def forward(self, x):
                    return to_uci_family(plain.forward(self, x))
            modules["G_AB"].__class__ = Projected
        if d8:
            modules["D_B"] = Critic8()
        return modules
    trainer.build = patched


def patch_semantic(weight: float):
    lenet = load_lenet().eval()
    for p in lenet.parameters():
        p.requires_grad_(False)
    losses = models.generator_losses

    def with_semantic(G_AB, G_BA, D_A, D_B, a, b, *args, **kwargs):
        terms = losses(G_AB, G_BA, D_A, D_B, a, b, *args, **kwargs)
        with no_grad():
            target = lenet(a).numpy().argmax(1)
        terms["total"] = terms["total"] + cross_entropy(lenet(terms["fake_b"]), target) * weight
        return terms
    models.generator_losses = with_semantic


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", action="append", required=True, help="project | d8 | semantic=L (repeatable)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="-- then train cyclegan's flags")
    a = p.parse_args()
    project = d8 = False
    for variant in a.variant:
        name, _, value = variant.partition("=")
        if variant == "project":
            project = True
        elif variant == "d8":
            d8 = True
        elif name == "semantic" and value:
            patch_semantic(float(value))
        else:
            p.error(f"--variant: expected project, d8 or semantic=L, got {variant!r}")
    patch_build(project, d8)
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    return train_main(["cyclegan", *rest])


if __name__ == "__main__":
    sys.exit(main())
