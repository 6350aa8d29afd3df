"""``python -m tinygan.train MODEL [options]``: the training entry points.

Models:
  dcgan      the main job: DCGAN on MNIST (CMU 11-695's architecture); see tinygan.trainers.dcgan
  bilinear   every minimax scheme on min_x max_y x*y (Ryu's lecture / CMU 11-695's notes); see tinygan.games
  pix2pix    U-Net + PatchGAN on a paired MNIST task (Isola et al.); see tinygan.trainers.pix2pix
  cyclegan   MNIST <-> UCI digits, unpaired (Zhu et al.); see tinygan.trainers.cyclegan
  gan        the original GAN on 2-D mixtures or MNIST (Kitov's slides; Goodfellow et al. 2014); see tinygan.trainers.gan
  dann       domain-adversarial training, MNIST -> UCI digits (Ganin & Lempitsky); see tinygan.trainers.dann
  fair       adversarially fair representations (Edwards & Storkey; Madras et al.); see tinygan.trainers.fair
  cgan       conditional GAN on MNIST (Mirza & Osindero); see tinygan.trainers.cgan
  lapgan     a Laplacian pyramid of GANs on MNIST (Denton et al.); see tinygan.trainers.lapgan
  stackgan   Stacked GAN: a GAN per level of a pre-trained encoder (Huang et al.); see tinygan.trainers.stackgan
  sgan       semi-supervised GAN with a C+1 discriminator (Odena; Salimans et al.); see tinygan.trainers.sgan
  progan     Progressive GAN, 7x7 -> 14x14 -> 28x28 (Karras et al. 2018); see tinygan.trainers.progan

``python -m tinygan.train MODEL --help`` lists a model's options.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# model -> (one-line description, "module:function" taking argv, or None if not built yet)
MODELS = {
    "dcgan": ("DCGAN on MNIST (CMU 11-695's architecture)", "tinygan.trainers.dcgan_loop:main"),
    "bilinear": ("the minimax schemes on the bilinear game min_x max_y x*y", "tinygan.games:main"),
    "gan": ("the original GAN (MLPs, Algorithm 1 with k D steps) on ring-8, grid-25 or MNIST",
            "tinygan.trainers.gan:main"),
    "cgan": ("conditional GAN on MNIST: G(z|y), D(x|y) by concat, projection or AC-GAN",
             "tinygan.trainers.cgan:main"),
    "sgan": ("semi-supervised GAN (C+1 discriminator) on n labelled MNIST digits, or its CNN baseline",
             "tinygan.trainers.sgan:main"),
}
MODELS["dann"] = ("domain-adversarial training (gradient reversal): MNIST -> UCI digits",
                  "tinygan.trainers.dann:main")
MODELS["fair"] = ("an adversarially fair representation on a synthetic tabular task",
                  "tinygan.trainers.fair:main")
MODELS["pix2pix"] = ("pix2pix: U-Net + PatchGAN on paired MNIST tasks (masked lower half -> digit)",
                     "tinygan.trainers.pix2pix:main")
MODELS["cyclegan"] = ("CycleGAN between MNIST and scikit-learn's UCI digits (unpaired)",
                      "tinygan.trainers.cyclegan:main")
MODELS["lapgan"] = ("LAPGAN: a Laplacian pyramid of GANs, 7x7 -> 14x14 -> 28x28 MNIST (Denton et al.)",
                    "tinygan.trainers.lapgan:main")
MODELS["stackgan"] = ("Stacked GAN: GANs inverting a pre-trained encoder stack, label -> features -> "
                      "MNIST digit (Huang et al.)", "tinygan.trainers.stackgan:main")
MODELS["progan"] = ("Progressive GAN on MNIST: grown 7x7 -> 14x14 -> 28x28 with fade-in, WGAN-GP",
                    "tinygan.trainers.progan:main")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in MODELS:
        parser = argparse.ArgumentParser(prog="python -m tinygan.train", description=__doc__,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("model", choices=sorted(MODELS), help="what to train")
        parser.parse_args(argv[:1])   # prints help, or rejects an unknown model with the choices
        return 2
    description, target = MODELS[argv[0]]
    if target is None:
        print(f"tinygan.train {argv[0]}: {description} is not built yet in this version of tinygan "
              "(it lands with the DCGAN issue).", file=sys.stderr)
        return 2
    module, function = target.split(":")
    result = getattr(importlib.import_module(module), function)(argv[1:])
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
