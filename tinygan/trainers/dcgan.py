"""``python -m tinygan.train dcgan [flags]``: DCGAN on MNIST, end to end.

    python -m tinygan.train dcgan                        # ~100k images, batch 64, Adam 2e-4, beta1 0.5
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
Each step draws one real batch X^k and one z^k and hands the two losses to the minimax scheme
(tinygan.optim.minimax); G(z^k) is computed once per step and reused by both players.

Defaults (measured with PyTorch on a 2-core CPU, 5,000-digit subset): batch 64, Adam 2e-4,
beta1 0.5 (the DCGAN paper's) gives recognisable digits of all ten classes after ~95k images;
the seed's batch 256, Adam 1e-4, beta1 0.9 still draws noise after 140k images.
"""
from __future__ import annotations

import argparse
import math
import sys
from contextlib import contextmanager

import numpy as np

from ..cli import positive_float, positive_int

DEFAULTS = dict(arch="tf", batch_size=64, lr=2e-4, betas=(0.5, 0.999), eps=1e-8, seed=0,
                scheme="alternating", g_loss="nonsaturating", n_train=None, z_dim=100)
PRESETS = {
    "dcgan": {},
    # Seed 002 (TensorFlow's DCGAN tutorial): BATCH_SIZE 256, Adam(1e-4) with Keras' defaults
    # (beta1 0.9, epsilon 1e-7), and both gradients taken on the same tape, then applied: that
    # is simultaneous gradient descent-ascent.
    "tf-tutorial": dict(batch_size=256, lr=1e-4, betas=(0.9, 0.999), eps=1e-7, scheme="simultaneous"),
}
# A resumed run keeps these; changing one is an error. --lr may change (after a NaN stop): the
# change is recorded in the config's "lr_history".
FIXED_ON_RESUME = tuple(k for k in DEFAULTS if k != "lr")
TARGET_IMAGES = 100_000                     # the default run's length
G_LOSSES = ("nonsaturating", "minimax")


# ----- losses ----------------------------------------------------------------------------------
def discriminator_loss(real_logits, fake_logits):
    """BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean (CMU 11-695's ``disc_loss``)."""
    from ..ops import binary_cross_entropy_with_logits as bce
    return bce(real_logits, real_logits.xp.ones(real_logits.shape, real_logits.dtype)) + \
        bce(fake_logits, fake_logits.xp.zeros(fake_logits.shape, fake_logits.dtype))


def generator_loss(fake_logits, kind: str = "nonsaturating"):
    """Non-saturating: BCE(D(G(z)), 1) = -log D(G(z)). Minimax: -BCE(D(G(z)), 0) = log(1 - D(G(z)))."""
    from ..ops import binary_cross_entropy_with_logits as bce
    if kind == "nonsaturating":
        return bce(fake_logits, fake_logits.xp.ones(fake_logits.shape, fake_logits.dtype))
    return -bce(fake_logits, fake_logits.xp.zeros(fake_logits.shape, fake_logits.dtype))


@contextmanager
def _frozen(module):
    """Parameters stop requiring grad inside: G's step then builds no weight-gradient work for D."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


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
        with _frozen(D):
            return generator_loss(D(fake()), g_loss_kind)

    values = scheme.step(g_loss, d_loss)
    return {"d_loss": values["max_loss"], "g_loss": values["min_loss"], **record}


# ----- command line ------------------------------------------------------------------------------
def _positive(kind):
    return positive_int if kind is int else positive_float


def _scheme(text):
    from .common import parse_scheme
    try:
        return parse_scheme(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _backend(name):
    from .. import backends
    known = backends.names()              # no import: one that cannot load is refused by run()
    if name not in known:
        raise argparse.ArgumentTypeError(f"invalid choice: {name!r} (choose from {', '.join(known)})")
    return name


def make_parser() -> argparse.ArgumentParser:
    from ..models.dcgan import ARCHS
    from .common import SCHEME_CHOICES
    p = argparse.ArgumentParser(prog="python -m tinygan.train dcgan", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=ARCHS, help="tf: CMU 11-695's layers (default); radford: the DCGAN paper's guidelines")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="dcgan: batch 64, Adam 2e-4, betas 0.5 0.999 (default); tf-tutorial: seed "
                        "002's batch 256, Adam 1e-4, beta1 0.9, eps 1e-7, simultaneous updates")
    p.add_argument("--scheme", type=_scheme, help=SCHEME_CHOICES + " (default alternating)")
    p.add_argument("--g-loss", choices=G_LOSSES, help="generator loss (default nonsaturating)")
    p.add_argument("--batch-size", type=_positive(int), help="default 64")
    p.add_argument("--epochs", type=_positive(int), help="passes over the training digits "
                   f"(default: enough for ~{TARGET_IMAGES:,} images)")
    p.add_argument("--max-steps", type=_positive(int), help="stop after this many steps in total")
    p.add_argument("--lr", type=_positive(float), help="Adam learning rate of both players (default "
                   "2e-4); may be changed on --resume (recorded in config.json's lr_history)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--seed", type=int, help="seeds weights, data order, z and dropout (default 0)")
    p.add_argument("--n-train", type=_positive(int), help="train on the first N digits only")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")
    p.add_argument("--backend", type=_backend, help="kernel backend (tinygan.backends.available())")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--out", help="run folder (default runs/dcgan-<time>; resuming: the checkpoint's)")
    p.add_argument("--resume", metavar="PATH", help="checkpoint, checkpoints folder or run folder")
    p.add_argument("--keep", type=_positive(int), default=3, help="checkpoints to keep (default 3)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def resolve_config(args, parser, saved: dict | None = None, step: int = 0) -> dict:
    """Defaults < preset < flags, or, when resuming at ``step``, the checkpoint's config (flags may
    not change it, but for ``--lr``: the change is appended to ``lr_history``)."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    given = {**PRESETS[args.preset or "dcgan"], **given}        # explicit flags beat the preset
    if "betas" in given:
        given["betas"] = tuple(given["betas"])
        if not all(0.0 <= b < 1.0 for b in given["betas"]):
            parser.error(f"--betas must lie in [0, 1), got {given['betas']}")
    if saved is not None:
        changed = [f"--{k.replace('_', '-')} {given[k]} (checkpoint: {saved[k]})" for k in given
                   if k in saved and k in FIXED_ON_RESUME and _norm(given[k]) != _norm(saved[k])]
        if changed:
            parser.error("a resumed run keeps its checkpoint's settings; these differ: " + ", ".join(changed))
        config = {k: saved.get(k, DEFAULTS[k]) for k in DEFAULTS}
        config["betas"] = tuple(config["betas"])
        config["lr_history"] = list(saved.get("lr_history", []))
        if "lr" in given and given["lr"] != config["lr"]:
            config["lr_history"].append({"step": int(step), "from": config["lr"], "to": given["lr"]})
            config["lr"] = given["lr"]
        return config
    return {**DEFAULTS, **given}


def saved_config_rules() -> dict:
    """What a checkpoint's config must hold for a resumed run (rundir.check_config)."""
    from ..models.dcgan import ARCHS
    from .common import parse_scheme
    from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule

    def scheme_ok(v):
        try:
            return isinstance(v, str) and parse_scheme(v) == v
        except ValueError:
            return False
    return {"arch": lambda v: v in ARCHS, "batch_size": POSITIVE_INT, "lr": POSITIVE,
            "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
            "eps": number_rule(0), "seed": number_rule(-2**63, kind=int), "scheme": scheme_ok,
            "g_loss": lambda v: v in G_LOSSES, "n_train": lambda v: v is None or POSITIVE_INT(v),
            "z_dim": POSITIVE_INT}


def _norm(value):
    return list(value) if isinstance(value, (tuple, list)) else value


PROG = "tinygan.train dcgan"


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    from ..checkpoint import Checkpoint, CheckpointError
    from ..cli import CLIError, check_backend_env, fail
    from ..data import MNISTFormatError
    from .common import NonFiniteLoss, UsageError
    from .dcgan_loop import run
    from .rundir import check_config

    checkpoint = None
    try:
        check_backend_env()
        if args.resume:
            checkpoint = Checkpoint(args.resume)
            if checkpoint.meta.get("model", "dcgan") != "dcgan" or "arch" not in checkpoint.meta.get("config", {}):
                raise CLIError(f"--resume {checkpoint.path} is not a checkpoint of `train dcgan`")
            check_config(checkpoint.meta["config"], saved_config_rules(), checkpoint)
    except (CheckpointError, CLIError) as exc:
        return fail(PROG, exc)
    config = resolve_config(args, parser, checkpoint.meta["config"] if checkpoint else None,
                            checkpoint.step if checkpoint else 0)
    try:
        return run(config, args, checkpoint)
    except (NonFiniteLoss, CheckpointError, MNISTFormatError, FileNotFoundError, UsageError,
            CLIError) as exc:
        return fail(PROG, exc)
    except OSError as exc:           # a full disk, a folder that vanished...
        return fail(PROG, f"cannot write the run's files: {exc}")
    except KeyboardInterrupt:        # the second Ctrl-C: stop at once, no checkpoint
        return fail(PROG, "interrupted again: stopped at once without saving (the last "
                          "checkpoint, if any, is intact)", 130)


def default_epochs(images_per_epoch: int) -> int:
    """Epochs for ~TARGET_IMAGES images (22 on the 4,500-digit subset at batch 64; 2 on full MNIST)."""
    return max(1, round(TARGET_IMAGES / images_per_epoch))


def images_per_second(seconds: list, batch_size: int) -> float:
    """Median throughput of the steps timed (the first, warm-up step excluded when there are more)."""
    seconds = seconds[1:] if len(seconds) > 1 else seconds
    return batch_size / float(np.median(seconds)) if seconds else math.nan


if __name__ == "__main__":
    sys.exit(main())
