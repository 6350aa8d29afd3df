"""``train progan``'s command line: its settings (``DEFAULTS``, ``--preset``), flags, the rules a
checkpoint's config must satisfy, and the checks that turn flags into settings. The job itself --
networks, step, pictures, sampling -- is :mod:`tinygan.trainers.progan`."""
from __future__ import annotations

from ..cli import positive_float, positive_int, probability
from ..models import progan
from .common import UsageError
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule

LOSSES = ("wgan-gp", "nonsaturating")
# The default (2026-12-07): the paper's networks and fade-in, with StyleGAN's loss (logistic + R1,
# lazily every 4 steps), minibatch discrimination in D, a tanh output (since 2026-12-07, later),
# half the images at 28x28: 280 + 280 + 280 + 560 + 1,400 steps of 32 = 89,600 images, the count
# of the lambda-2 default `train dcgan` of 2026-12-07; and (since 2026-12-07, evening) batch 32, lr 0.012 decaying over the last
# 30%, EMA 0.995. What each choice did: README, "Progressive GAN"; benchmarks/README.md.
DEFAULTS = dict(batch_size=32, lr=1.2e-2, decay=0.3, betas=(0.0, 0.99), seed=0, z_dim=128,
                channels=progan.CHANNELS, phase_images=[8_960, 8_960, 8_960, 17_920, 44_800],
                loss="nonsaturating", gp_weight=10.0, drift=1e-3, r1=10.0, reg_every=4,
                mbstd_group=4, minibatch=[100, 5], output="tanh", n_train=None, ema=0.995)
PRESETS = {
    "progan": {},
    # Karras et al.'s recipe as the paper states it (the default before 2026-12-07): WGAN-GP with
    # the drift term every step, no minibatch discrimination, five phases of equal length.
    "paper": dict(loss="wgan-gp", reg_every=1, minibatch=None, phase_images=[19_712], output="linear",
                  batch_size=64, lr=1e-3, decay=0.0, ema=0.0),
}


def add_flags(p) -> None:
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="progan: the default (logistic loss + R1 every 4 steps, minibatch "
                   "discrimination 100 5, batch 32, lr 0.012 decaying over the last 30%%, EMA of G 0.995, "
                   "phases of 8,960 / 8,960 / 8,960 / 17,920 / 44,800 images); paper: Karras et al.'s "
                   "WGAN-GP + drift every step, no minibatch discrimination, batch 64, constant lr "
                   "1e-3, no EMA, five phases of 19,712 images")
    p.add_argument("--phase-images", type=positive_int, nargs="+", metavar="N",
                   help="images per phase: one N for each of the five, or five values in order "
                   "(7x7; 14x14 fade-in; 14x14; 28x28 fade-in; 28x28) (default 8,960 8,960 8,960 "
                   "17,920 44,800: 89,600 in all)")
    p.add_argument("--batch-size", type=positive_int, help="default 32; 64 under --preset paper")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate of both players (default 0.012; "
                   "the paper's 1e-3 under --preset paper)")
    p.add_argument("--decay", type=probability, help="last fraction of the steps over which both "
                   "learning rates fall linearly to 0 (default 0.3; 0: constant, the paper's)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="default 0 0.99")
    p.add_argument("--z-dim", type=positive_int, help="latent size (default 128)")
    p.add_argument("--channels", type=positive_int, nargs=3, metavar=("C7", "C14", "C28"),
                   help="feature maps at 7x7, 14x14 and 28x28 in both networks (default 64 32 16)")
    p.add_argument("--loss", choices=LOSSES, help="wgan-gp (the paper's: critic, gradient penalty "
                   "and drift term) or nonsaturating (logistic D with the R1 penalty on reals, "
                   "StyleGAN's) (default nonsaturating)")
    p.add_argument("--gp-weight", type=positive_float, help="WGAN-GP's lambda (default 10)")
    p.add_argument("--drift", type=float, help="eps_drift of the critic's drift term (default 0.001)")
    p.add_argument("--r1", type=float, help="gamma of the R1 penalty gamma/2 E||grad D(x)||^2 of "
                   "--loss nonsaturating (default 10)")
    p.add_argument("--reg-every", type=positive_int, metavar="K", help="apply the penalty (GP or "
                   "R1) every K-th step, weighted K times (lazy regularisation, Karras et al. 2020; "
                   "default 4; 1: every step)")
    p.add_argument("--mbstd-group", type=positive_int, help="minibatch-stddev group size (default 4)")
    p.add_argument("--minibatch-discrimination", dest="minibatch", type=positive_int, nargs=2,
                   metavar=("B", "C"), help="minibatch discrimination in D's head: B kernels of C "
                   "dimensions on its flattened 7x7 features (Salimans et al. 2016; not the paper's; "
                   "default 100 5)")
    p.add_argument("--no-minibatch-discrimination", dest="minibatch", action="store_const", const=False,
                   help="D's head without it (the paper's)")
    p.add_argument("--output", choices=progan.OUTPUTS, help="G's output: tanh (pixels in [-1, 1], "
                   "what D sees is what a picture shows) or linear (the paper's; overshoots [-1, 1], "
                   "clipped for pictures, sample and eval) (default tanh)")
    p.add_argument("--seed", type=int, help="seeds weights, data order, z and the penalty's mixing "
                   "weights (default 0)")
    p.add_argument("--n-train", type=positive_int, help="train on the first N digits only")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")


# What a checkpoint's config must hold for --resume, sample and eval.
RULES = {"batch_size": POSITIVE_INT, "lr": POSITIVE, "decay": number_rule(0, 1),
         "seed": number_rule(-2**63, kind=int),
         "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
         "z_dim": POSITIVE_INT, "gp_weight": POSITIVE,
         "phase_images": lambda v: POSITIVE_INT(v) or (isinstance(v, list) and len(v) == progan.PHASES
                                                       and all(map(POSITIVE_INT, v))),
         "drift": number_rule(0.0), "mbstd_group": POSITIVE_INT, "loss": lambda v: v in LOSSES,
         "r1": number_rule(0.0), "reg_every": POSITIVE_INT,
         "minibatch": lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(map(POSITIVE_INT, v))),
         "output": lambda v: v in progan.OUTPUTS,
         "channels": lambda v: isinstance(v, list) and len(v) == 3 and all(map(POSITIVE_INT, v)),
         "n_train": lambda v: v is None or POSITIVE_INT(v)}


def resolve_flags(args, given: dict) -> dict:
    """The settings the flags ``given`` (args: the parsed command line) make: the preset under
    the flags, checked together (a one-line UsageError naming the flags)."""
    given = {**PRESETS[getattr(args, "preset", None) or "progan"], **given}
    if "channels" in given:
        given["channels"] = tuple(given["channels"])
    if given.get("minibatch") is False:                    # --no-minibatch-discrimination
        given["minibatch"] = None
    elif given.get("minibatch"):
        given["minibatch"] = list(given["minibatch"])
    for flag in ("drift", "r1"):
        if given.get(flag, 0.0) < 0:
            raise UsageError(f"--{flag} must be >= 0, got {given[flag]}")
    loss = given.get("loss", DEFAULTS["loss"])
    wrong = [f for f, key, owner in (("--gp-weight", "gp_weight", "wgan-gp"), ("--drift", "drift", "wgan-gp"),
                                     ("--r1", "r1", "nonsaturating")) if key in given and loss != owner]
    if wrong:
        raise UsageError(f"{wrong[0]} does not apply to --loss {loss}")
    B = given.get("batch_size", DEFAULTS["batch_size"])
    group = given.get("mbstd_group", DEFAULTS["mbstd_group"])
    if B % min(group, B):
        raise UsageError(f"--batch-size {B} is not a multiple of the minibatch-stddev group "
                         f"size {group} (--mbstd-group)")
    if "phase_images" in given:
        images = given["phase_images"]
        if len(images) not in (1, progan.PHASES):
            raise UsageError(f"--phase-images takes 1 or {progan.PHASES} values (one per phase), "
                             f"got {len(images)}")
        if min(images) < B:
            raise UsageError(f"--phase-images {min(images)} is less than one batch ({B})")
        given["phase_images"] = images[0] if len(images) == 1 else list(images)
    return given
