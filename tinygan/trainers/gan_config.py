"""The settings of ``python -m tinygan.train gan`` (tinygan/trainers/gan.py): its flags, the
defaults per dataset, the config a run records, and what a resumed run may change."""
from __future__ import annotations

import argparse

from ..cli import finite_float, positive_float, positive_int, probability
from ..models.gan import G_LOSSES
from .objectives import STABILISERS, add_objective_flags, objective_rules, resolve_objective
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule

DATASETS = ("ring", "grid", "mnist")
TOY_DEFAULTS = dict(steps=5000, batch_size=256, lr=1e-3, z_dim=2, g_hidden=[128, 128, 128],
                    d_hidden=[128, 128, 128], every=250, g_activation="relu", d_dropout=0.0)
MNIST_DEFAULTS = dict(steps=5000, batch_size=64, lr=2e-4, z_dim=100, g_hidden=[256, 512, 1024],
                      d_hidden=[512, 256], every=500, g_activation="leaky_relu", d_dropout=0.3)
COMMON_DEFAULTS = dict(loss="nonsaturating", k=1, betas=[0.5, 0.999], seed=0, lr_decay=0.5, pack=1)


def make_parser(description: str) -> argparse.ArgumentParser:
    """``python -m tinygan.train gan``'s flags (``description``: the trainer's docstring)."""
    p = argparse.ArgumentParser(prog="python -m tinygan.train gan", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", choices=DATASETS, help="training data (default ring)")
    p.add_argument("--g-loss", choices=G_LOSSES, help="generator loss (default nonsaturating; the same as --loss)")
    add_objective_flags(p, stabilisers=STABILISERS + ("pack",))
    p.add_argument("--k", type=positive_int, help="discriminator steps per generator step "
                   "(Algorithm 1; default 1, 5 for --loss wgan and wgan-gp)")
    p.add_argument("--steps", type=positive_int, help="generator steps (default 5000)")
    p.add_argument("--batch-size", type=positive_int, help="m (default 256 for 2-D, 64 for MNIST)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default 1e-3 for 2-D, 2e-4 for "
                   "MNIST, 5e-5 for wgan, 1e-4 for wgan-gp); may be changed on --resume (recorded in "
                   "the config's lr_history)")
    p.add_argument("--betas", type=probability, nargs=2, metavar=("B1", "B2"),
                   help="Adam's betas (default 0.5 0.999; 0 0.9 for wgan-gp)")
    p.add_argument("--lr-decay", type=finite_float,
                   help="fraction of the run over which lr decays linearly to 0 (0: constant; default 0.5)")
    p.add_argument("--z-dim", type=positive_int, help="latent dimension (default 2 for 2-D, 100 for MNIST)")
    p.add_argument("--g-hidden", type=positive_int, nargs="+", help="G's hidden widths")
    p.add_argument("--d-hidden", type=positive_int, nargs="+", help="D's hidden widths")
    p.add_argument("--g-activation", choices=("relu", "leaky_relu"),
                   help="G's hidden activation (default relu for 2-D, leaky_relu for MNIST)")
    p.add_argument("--d-dropout", type=probability, help="dropout after D's hidden layers (default 0 / 0.3)")
    p.add_argument("--every", type=positive_int, help="a frame / sample grid every N steps")
    p.add_argument("--seed", type=int, help="default 0")
    p.add_argument("--data-dir", help="MNIST IDX folder (default: cache, else the shipped subset); "
                   "on --resume, the same digits in another folder")
    p.add_argument("--out", help="run folder (default runs/gan-<time>; resuming: the checkpoint's)")
    p.add_argument("--resume", metavar="PATH",
                   help="continue a run exactly: a checkpoint, its checkpoints folder or the run folder "
                        "(the run's settings come from the checkpoint; --lr and --data-dir may be given)")
    p.add_argument("--max-steps", type=positive_int, help="stop after this many steps in total (resume later)")
    p.add_argument("--keep", type=positive_int, default=3, help="checkpoints to keep (default 3)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


# Flags that make up a run's settings: fixed when resuming (the checkpoint's config holds them),
# but for RESUME_CHANGEABLE: a lower --lr after a NaN stop, --data-dir for the same digits moved.
SETTINGS = ("data", "g_loss", "k", "steps", "batch_size", "lr", "betas", "lr_decay", "z_dim", "g_hidden",
            "d_hidden", "g_activation", "d_dropout", "every", "seed", "data_dir", "loss", "optimizer",
            "clip", "gp_weight", "spectral_norm", "feature_matching", "minibatch", "real_label", "pack")
RESUME_CHANGEABLE = ("lr", "data_dir")
PROG = "tinygan.train gan"


def resolve_config(args) -> dict:
    data = args.data or "ring"
    base = MNIST_DEFAULTS if data == "mnist" else TOY_DEFAULTS
    config = {"model": "gan", **COMMON_DEFAULTS, **base, "data": data}
    given = {key: getattr(args, key) for key in SETTINGS[1:] if getattr(args, key, None) is not None}
    g_loss = given.pop("g_loss", None)
    if g_loss is not None and given.setdefault("loss", g_loss) != g_loss:
        raise ValueError(f"--g-loss {g_loss} and --loss {given['loss']} disagree (give one)")
    config = resolve_objective(config, given, lambda n: ("k", n))
    for key in ("k", "steps", "batch_size", "z_dim", "every"):
        if int(config[key]) < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1, got {config[key]}")
    if not (config["lr"] > 0 and 0 <= config["lr_decay"] <= 1):
        raise ValueError(f"need --lr > 0 and 0 <= --lr-decay <= 1, got {config['lr']}, {config['lr_decay']}")
    config["betas"] = [float(b) for b in config["betas"]]
    return config


def resumed_config(args, parser, checkpoint) -> dict:
    """The checkpoint's config, with --lr (appended to ``lr_history``) and --data-dir applied."""
    given = [f"--{key.replace('_', '-')}" for key in SETTINGS
             if getattr(args, key) is not None and key not in RESUME_CHANGEABLE]
    if given:
        parser.error(f"{', '.join(given)}: a resumed run keeps the checkpoint's settings "
                     "(start a new run to change them; --lr and --data-dir may be given)")
    config = dict(checkpoint.meta["config"])
    if args.lr is not None and args.lr != config.get("lr"):
        config["lr_history"] = [*config.get("lr_history", []),
                                {"step": checkpoint.step, "from": config.get("lr"), "to": args.lr}]
        config["lr"] = args.lr
    if args.data_dir is not None:
        config["data_dir"] = args.data_dir
    return config


def saved_config_rules(config: dict) -> dict:
    """What a checkpoint's config must hold for a resumed run (rundir.check_config)."""
    widths = lambda v: isinstance(v, list) and len(v) > 0 and all(map(POSITIVE_INT, v))  # noqa: E731
    rules = {**objective_rules(), "data": lambda v: v in DATASETS, "g_loss": lambda v: v in G_LOSSES, "k": POSITIVE_INT,
             "steps": POSITIVE_INT, "batch_size": POSITIVE_INT, "lr": POSITIVE,
             "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
             "lr_decay": number_rule(0, 1), "z_dim": POSITIVE_INT, "g_hidden": widths, "d_hidden": widths,
             "every": POSITIVE_INT, "seed": number_rule(-2**63, kind=int),
             "g_activation": lambda v: v in ("relu", "leaky_relu"), "d_dropout": UNIT_OPEN,
             "data_dir": lambda v: v is None or isinstance(v, str)}
    optional = ("g_activation", "d_dropout", "data_dir", "g_loss")      # older records may lack them
    return {k: rule for k, rule in rules.items() if k not in optional or k in config}


def loss_of(config: dict) -> str:
    """The run's GAN loss (records from before ``--loss`` hold only ``g_loss``)."""
    return config.get("loss") or config.get("g_loss") or "nonsaturating"
