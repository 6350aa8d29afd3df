"""``python -m tinygan.train dcgan [flags]``: DCGAN on MNIST, end to end.

    python -m tinygan.train dcgan                        # ~210k images, batch 64, Adam 4e-4, beta1 0.5
    python -m tinygan.train dcgan --preset tf-tutorial   # CMU 11-695's own settings
    python -m tinygan.train dcgan --resume runs/dcgan-20260101-120000
    python -m tinygan.sample runs/dcgan-.../checkpoints --n 64 --out grid.png

A run writes ``runs/dcgan-<time>/``: ``samples/epoch_XXX.png`` (a fixed z, after every epoch),
``checkpoints/step_XXXXXXX.{npz,json}`` (every epoch, at the end and on Ctrl-C or SIGTERM; the last ``--keep``
kept), ``metrics.jsonl`` (one line per step), ``config.json``, and at the end ``losses.png``,
``interpolation.png`` and ``samples/final.png``.

Losses (BCE from logits, as CMU 11-695's notes): D minimises -log D(x) - log(1 - D(G(z))); G minimises
-log D(G(z)) (``--g-loss nonsaturating``) or log(1 - D(G(z))) (``minimax``, the original game,
whose gradient vanishes while D rejects the fakes confidently -- early training stalls).
``--loss wgan | wgan-gp | hinge | lsgan`` and the stabilisers (``--spectral-norm``,
``--feature-matching``, ``--minibatch-discrimination B C``, ``--label-smoothing A``) are those
of every GAN trainer (:mod:`tinygan.trainers.objectives`, losses in :mod:`tinygan.nn.gan_loss`);
wgan and wgan-gp bring their papers' optimizer, learning rate and 5 critic steps (``ndis=5``).
Each step draws one real batch X^k and one z^k and hands the two losses to the minimax scheme
(tinygan.optim.minimax); G(z^k) is computed once per step and reused by both players.

Defaults (measured with PyTorch on a 2-core CPU, 5,000-digit subset): batch 64, Adam 2e-4,
beta1 0.5 (the DCGAN paper's) gives recognisable digits of all ten classes after ~95k images;
CMU 11-695's batch 256, Adam 1e-4, beta1 0.9 still draws noise after 140k images. The grids,
``tinygan.sample`` and ``tinygan.eval`` draw with a moving average of G's weights (``--ema
0.995``, since 2026-12-05). Since 2026-12-06 D has minibatch discrimination (Salimans et al.
2016; 100 kernels of 5 dimensions on its 6,272 last features) and both players Adam 4e-4: that
pair took the project's LeNet-FID from 26 at 161k images to about 11 at 76k; with its pairwise
distances as one fused kernel (``tinygan.cdist``, 2026-12-06) the default run became ~90k images
(20 epochs of 4,480 on the shipped subset) in the time 76k took before. Since 2026-12-07 G reads
InfoGAN's categorical code from z (``--info-codes 10``, both players add 5 x CE(Q(G(z)), c); Chen
et al. 2016), which made more of the digits readable, and the run is ~152k images (34 epochs).
Later that day (the ngf-32 default) G is half the notes' width (``--ngf 32``) and D's minibatch
discrimination has 50 kernels (was 100): as readable per image seen, and each image ~1.7x
cheaper (one thread), so the run is ~210k images (47 epochs) in less time than 152k took.
``--g-lr`` gives G its own learning rate (InfoGAN's code: D 2e-4, G 1e-3 on MNIST); at those
rates the FID fell by ~3 points on three seeds but readability did not move, so both players
stay at 4e-4. Later still (the 50-code default) the code has 50 values instead of 10: LeNet
reads more of the digits confidently (seventh screen, three seeds: 10 values 85.7%, 20 90.4%,
30 92.5%, 50 about 94%; real digits 94.6%), with G's noise z_51..z_100 drawing the digit within
its code. ``--g-kernel 4`` (G's stride-2 layers with 4 x 4 kernels instead of the notes' 5 x 5,
so that every output pixel sums the same number of taps) helped alone (89.9%) but not on top of
a 30-value code (one seed), so the notes' kernels stay.
``--decay 0.5`` (learning rates to 0 over the second half) is an option, not the default: it
measured worse. The README's "Run the main job" has what each choice measured.

The trainer in three modules, one concern each: this one is the command line (flags, presets,
what a resume may change), :mod:`.dcgan_step` the step (losses and one minimax step),
:mod:`.dcgan_loop` the job the shared loop (:mod:`.loop`) runs.
"""
from __future__ import annotations

import argparse

from ..cli import positive_float, positive_int
from ..models.dcgan import ARCHS, KERNELS, NGF as PAPER_NGF
from ..nn import gan_loss
from .common import SCHEME_CHOICES, UsageError, parse_scheme
from ..nn.augment import parse_policy
from .objectives import OBJECTIVE_DEFAULTS, STABILISERS, add_objective_flags, check_objective, loss_recipe, objective_rules
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule, optional

MINIBATCH = (50, 5)      # the default D's minibatch discrimination: B kernels of C dims (Salimans et al.)
INFO_CODES, INFO_WEIGHT = 50, 5.0    # the default InfoGAN categorical code: K values, weight lambda
NGF = 32                 # the default G's width (the notes' and the paper's: PAPER_NGF, 64)
G_KERNEL = KERNELS["tf"]  # the default G's stride-2 kernels: the notes' 5 (--g-kernel 4: even overlaps)
# "g_loss" is the loss's older name: a run records both (equal), a record without "loss" uses it.
DEFAULTS = dict(arch="tf", batch_size=64, lr=4e-4, g_lr=None, betas=(0.5, 0.999), eps=1e-8, seed=0,
                scheme="alternating", g_loss="nonsaturating", n_train=None, z_dim=100, ema=0.995,
                decay=0.0, diffaugment=None, pack=1, info_codes=INFO_CODES, info_weight=INFO_WEIGHT, ngf=NGF,
                g_kernel=G_KERNEL,
                **{**OBJECTIVE_DEFAULTS, "loss": None, "minibatch": list(MINIBATCH)})
PRESETS = {
    "dcgan": {},
    # CMU 11-695's notes (TensorFlow's DCGAN tutorial): BATCH_SIZE 256, Adam(1e-4) with Keras' defaults
    # (beta1 0.9, epsilon 1e-7), and both gradients taken on the same tape, then applied: that
    # is simultaneous gradient descent-ascent.
    "tf-tutorial": dict(batch_size=256, lr=1e-4, betas=(0.9, 0.999), eps=1e-7, scheme="simultaneous",
                        ema=0.0, decay=0.0, minibatch=None, info_codes=None, ngf=PAPER_NGF),
}
# A resumed run keeps these; changing one is an error. --lr and --g-lr may change (after a NaN stop): the
# change is recorded in the config's "lr_history".
FIXED_ON_RESUME = tuple(k for k in DEFAULTS if k not in ("lr", "g_lr"))
TARGET_IMAGES = 210_000    # the default run's length (100_000 before 2026-12-05, 160_000 until 2026-12-06, then 76_000, 89_000, 152_000)
G_LOSSES = ("nonsaturating", "minimax")      # --g-loss (--loss has them all)


# ----- command line ------------------------------------------------------------------------------
def _positive(kind):
    return positive_int if kind is int else positive_float


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def _policy(text):
    try:
        return ",".join(parse_policy(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _scheme(text):
    try:
        return parse_scheme(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_flags(p: argparse.ArgumentParser) -> None:
    """The DCGAN's flags (the run flags -- --max-steps, --resume, --out, ... -- are the loop's)."""
    p.add_argument("--arch", choices=ARCHS, help="tf: CMU 11-695's layers (default); radford: the DCGAN paper's guidelines")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="dcgan: batch 64, Adam 4e-4, betas 0.5 0.999, constant lr, minibatch "
                        "discrimination 50 5, InfoGAN code 50, G of ngf 32, EMA of G 0.995 (default); "
                        "tf-tutorial: CMU 11-695's batch 256, Adam 1e-4, beta1 0.9, eps 1e-7, "
                        "simultaneous updates, constant lr, no minibatch discrimination, no code, "
                        "ngf 64, no EMA")
    p.add_argument("--scheme", type=_scheme, help=SCHEME_CHOICES + " (default alternating)")
    p.add_argument("--g-loss", choices=G_LOSSES, help="generator loss (default nonsaturating; the same as --loss)")
    add_objective_flags(p, stabilisers=tuple(s for s in STABILISERS if s != "minibatch"))
    p.add_argument("--minibatch-discrimination", dest="minibatch", type=_positive(int), nargs=2,
                   metavar=("B", "C"), help="minibatch discrimination before D's output layer: B kernels "
                   f"of C dimensions (Salimans et al. 2016; default {MINIBATCH[0]} {MINIBATCH[1]} on the tf "
                   "architecture, off for --arch radford, --loss wgan / wgan-gp and --preset tf-tutorial)")
    p.add_argument("--no-minibatch-discrimination", dest="minibatch", action="store_const", const=False,
                   help="D judges each image alone (the notes' and the DCGAN paper's discriminator)")
    p.add_argument("--info-codes", type=_positive(int), metavar="K",
                   help="InfoGAN (Chen et al. 2016): a categorical code of K values in G's z, which D's "
                   f"second head Q must read back from G(z) (default {INFO_CODES}; off for --arch "
                   "radford, --pack and --preset tf-tutorial)")
    p.add_argument("--no-info-codes", dest="info_codes", action="store_const", const=False,
                   help="no code (the notes' and the DCGAN paper's networks)")
    p.add_argument("--info-weight", type=_positive(float), metavar="LAMBDA",
                   help="weight lambda of the code's cross-entropy in both players' losses "
                   f"(default {INFO_WEIGHT})")
    p.add_argument("--ngf", type=_positive(int), metavar="N",
                   help=f"G's width: channels of its last hidden layer, 2N and 4N before it (default {NGF}; "
                   f"the notes' and the DCGAN paper's {PAPER_NGF}: --arch radford and --preset tf-tutorial)")
    p.add_argument("--g-kernel", type=int, choices=(4, 5), help="size of G's two stride-2 transpose "
                   f"convolutions' kernels (tf architecture; default {G_KERNEL}, the notes'; 4: every "
                   "output pixel sums the same number of taps, no checkerboard to unlearn)")
    p.add_argument("--pack", type=_positive(int), metavar="M",
                   help="PacGAN (Lin et al. 2018): D judges packs of M images stacked as channels, all "
                        "real or all generated, cut from the batch (--batch-size a multiple of M; "
                        "default 1: no packing)")
    p.add_argument("--diffaugment", type=_policy, metavar="POLICY",
                   help="DiffAugment (Zhao et al. 2020): D sees every image, real or generated, "
                        "randomly transformed: translation, cutout or translation,cutout (default: none)")
    p.add_argument("--batch-size", type=_positive(int), help="default 64")
    p.add_argument("--epochs", type=_positive(int), help="passes over the training digits "
                   f"(default: enough for ~{TARGET_IMAGES:,} images)")
    p.add_argument("--lr", type=_positive(float), help="Adam learning rate of both players, D's alone "
                   "with --g-lr (default 4e-4); may be changed on --resume (recorded in config.json's "
                   "lr_history)")
    p.add_argument("--g-lr", type=_positive(float), metavar="LR",
                   help="G's own learning rate (default: --lr's; InfoGAN's code used --lr 2e-4 --g-lr "
                   "1e-3 on MNIST); may be changed on --resume")
    p.add_argument("--decay", type=_fraction, help="last fraction of the steps over which both learning "
                   "rates fall linearly to 0 (default 0: constant; 0.5: the second half)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--seed", type=int, help="seeds weights, data order, z and dropout (default 0)")
    p.add_argument("--n-train", type=_positive(int), help="train on the first N digits only")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")


def saved_config_rules() -> dict:
    """What a checkpoint's config must hold for a resumed run (rundir.check_config)."""

    def policy_ok(v):
        try:
            return v is None or (isinstance(v, str) and ",".join(parse_policy(v)) == v)
        except ValueError:
            return False

    def scheme_ok(v):
        try:
            return isinstance(v, str) and parse_scheme(v) == v
        except ValueError:
            return False
    return {"arch": lambda v: v in ARCHS, "batch_size": POSITIVE_INT, "lr": POSITIVE,
            "g_lr": optional(lambda v: v is None or POSITIVE(v)),
            "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
            "eps": number_rule(0), "seed": number_rule(-2**63, kind=int), "scheme": scheme_ok,
            "g_loss": lambda v: v in gan_loss.LOSSES, "decay": number_rule(0, 1),
            "n_train": lambda v: v is None or POSITIVE_INT(v),
            "z_dim": POSITIVE_INT, **objective_rules(), "diffaugment": optional(policy_ok),
            "info_codes": optional(lambda v: v is None or (POSITIVE_INT(v) and v >= 2)),
            "info_weight": optional(POSITIVE), "ngf": POSITIVE_INT,
            "g_kernel": optional(lambda v: v is None or v in (4, 5)),
            "loss": optional(lambda v: v is None or v in gan_loss.LOSSES)}   # None: g_loss says


def resolve_flags(given: dict) -> dict:
    """The settings the flags ``given`` make: --g-loss is --loss's older name (both recorded),
    and a loss brings its recipe (ndis=5, RMSprop or Adam betas (0, 0.9), its lr) under the flags."""
    if given.get("loss") and given.get("g_loss") and given["loss"] != given["g_loss"]:
        raise UsageError(f"--g-loss {given['g_loss']} and --loss {given['loss']} disagree (give one)")
    loss = given.get("loss") or given.get("g_loss")
    if loss:
        given = {**loss_recipe(loss, given, lambda n: ("scheme", f"ndis={n}")), **given,
                 "loss": loss, "g_loss": loss}
    if "lr" in given and "g_lr" not in given:              # --lr (or a loss's or preset's lr)
        given = {**given, "g_lr": None}                    # sets both players' rates
    if given.get("minibatch") is False:                    # --no-minibatch-discrimination
        given = {**given, "minibatch": None}
    elif "minibatch" not in given and (given.get("arch") == "radford" or loss in ("wgan", "wgan-gp")):
        given = {**given, "minibatch": None}               # not those recipes' discriminators
    if given.get("info_codes") is False:                   # --no-info-codes
        given = {**given, "info_codes": None}
    elif "info_codes" not in given and (given.get("arch") == "radford" or given.get("pack", 1) > 1):
        given = {**given, "info_codes": None}              # the paper's networks; packed D
    if "ngf" not in given and given.get("arch") == "radford":
        given = {**given, "ngf": PAPER_NGF}                # the paper's width
    if given.get("arch") == "radford":
        if given.get("g_kernel", KERNELS["radford"]) != KERNELS["radford"]:
            raise UsageError(f"--g-kernel {given['g_kernel']} with --arch radford: the paper's G has "
                             f"{KERNELS['radford']}x{KERNELS['radford']} kernels (--g-kernel is the tf G's)")
        given = {**given, "g_kernel": KERNELS["radford"]}
    try:
        check_objective({**DEFAULTS, **given})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    settings = {**DEFAULTS, **given}
    if settings["pack"] > 1 and settings["loss"] == "wgan-gp":
        raise UsageError("--pack with --loss wgan-gp: the penalty's gradient norms would be taken per "
                         "image, not per pack (the point D sees); not offered")
    if settings["info_codes"] and settings["pack"] > 1:
        raise UsageError("--info-codes with --pack: the code is one per image, a packed D sees packs")
    if settings["info_codes"] and settings["info_codes"] >= settings["z_dim"]:
        raise UsageError(f"--info-codes {settings['info_codes']} must be less than --z-dim "
                         f"{settings['z_dim']} (the code takes z's first K entries)")
    if settings["info_codes"] == 1:
        raise UsageError("--info-codes 1: a code of one value carries no information (give 2 or more)")
    if "info_weight" in given and not settings["info_codes"]:
        raise UsageError("--info-weight weighs InfoGAN's code loss; it needs --info-codes")
    if settings["batch_size"] % settings["pack"]:
        raise UsageError(f"--pack {settings['pack']} needs a --batch-size that is a multiple of it, "
                         f"got {settings['batch_size']}")
    return given


def default_epochs(images_per_epoch: int) -> int:
    """Epochs for ~TARGET_IMAGES images (47 on the 4,500-digit subset at batch 64; 4 on full MNIST)."""
    return max(1, round(TARGET_IMAGES / images_per_epoch))


