"""The DCGAN training run on the shared loop (:mod:`tinygan.trainers.loop`): the job's data,
networks, optimizers and step; the loop does the run folder, progress, checkpoints and resume.

Exact resume: a checkpoint holds G and D (parameters and BatchNorm buffers), both Adam states (via
the scheme's state_dict), the data loader's epoch, position and epoch-start RNG state, the z and
dropout RNG states and the step; restoring all of them makes the steps after a resume bit-for-bit
those of an uninterrupted run with the same seed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import dcgan as _doc
from ..creation import tensor
from ..data import BatchLoader, load_mnist, to_model_input
from ..models import dcgan
from ..viz import save_curves, save_grid
from .common import MetricsLog, UsageError, build_scheme, stream
from .image2image import lr_factor
from .labelled import set_lr
from .dcgan import (DEFAULTS, FIXED_ON_RESUME, PRESETS, add_flags, default_epochs,
                    resolve_flags, saved_config_rules)
from .dcgan_step import loss_of, train_step
from .objectives import describe_objective, make_optimizers, spectral_normalize
from .job import Job
from .loop import main as loop_main
from .rundir import check_same_data, data_digest
from .samplers import generate

N_SAMPLES = 64                 # the per-epoch grid: 8 x 8 digits from one fixed z
N_PAIRS, N_INTERP = 8, 10      # interpolation.png: 8 rows, 10 steps from z_a to z_b
CODE_COLUMNS = 10              # samples/codes.png (InfoGAN): one row per code value, 10 z each


def _fmt(x: float) -> str:
    return f"{x:.3f}"


class DCGANJob(Job):
    """DCGAN on MNIST: G and D of :mod:`tinygan.models.dcgan`, two Adams under a minimax scheme,
    one real batch and one z per step (:func:`tinygan.trainers.dcgan_step.train_step`)."""

    model = "dcgan"
    DEFAULTS = DEFAULTS
    RULES = saved_config_rules()
    MUTABLE_ON_RESUME = tuple(k for k in DEFAULTS if k not in FIXED_ON_RESUME)
    EMA_OF = ("G",)
    ABSENT = {"ema": 0.0, "decay": 0.0, "diffaugment": None, "pack": 1, "minibatch": None,   # runs from before those flags
              "info_codes": None, "info_weight": 2.0, "ngf": dcgan.NGF, "g_lr": None,
              "g_kernel": None}    # None: the architecture's own (5 for tf, 4 for radford)
    add_flags = staticmethod(add_flags)

    @classmethod
    def given(cls, args) -> dict:
        """Defaults < ``--preset`` < explicit flags."""
        return resolve_flags({**PRESETS[args.preset or "dcgan"], **super().given(args)})

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, args.device
        seed, B = config["seed"], config["batch_size"]
        if getattr(args, "distributed", False) and config.get("pack", 1) > 1:
            raise UsageError("--pack: packs are cut from the batch, and under --distributed a "
                             "process holds only its slice of it: not offered with --distributed")
        saved_data = checkpoint.meta.get("data") if checkpoint is not None else None
        data_dir = args.data_dir
        if data_dir is None and saved_data and saved_data.get("data_dir"):
            data_dir = saved_data["data_dir"]          # resume on the digits the run trained on
            print(f"resuming with the checkpoint's --data-dir {data_dir}")
        data = load_mnist("train", data_dir=data_dir, verbose=True)
        images = data.images[:config["n_train"]] if config["n_train"] else data.images
        if B > len(images):
            raise UsageError(f"--batch-size {B} is larger than the {len(images)} training digits")
        digest = data_digest(images)
        if checkpoint is not None:
            check_same_data(saved_data, digest, len(images), data.source, checkpoint)
        self.data = {"source": data.source, "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
                     "n": len(images), "sha256": digest}

        self.rngs = {name: stream(seed, name) for name in ("init", "data", "z", "dropout", "augment")}
        try:
            self.G, self.D = dcgan.build(config["arch"], config["z_dim"], generator=self.rngs["init"],
                                         dropout_generator=self.rngs["dropout"],
                                         minibatch=config.get("minibatch"),
                                         augment=config.get("diffaugment"),
                                         augment_generator=self.rngs["augment"], pack=config.get("pack", 1),
                                         codes=config.get("info_codes") or 0, ngf=config["ngf"],
                                         kernel=config.get("g_kernel"))
        except ValueError as exc:
            raise UsageError(f"--minibatch-discrimination: {exc}") from None
        if config.get("spectral_norm"):
            spectral_normalize(self.D, generator=self.rngs["init"])
        self.G.to(self.device), self.D.to(self.device)
        name = "RMSprop" if config.get("optimizer") == "rmsprop" else "Adam"
        self.optimizers = dict(zip((f"G's {name}", f"D's {name}"),
                                   make_optimizers(self.G, self.D, config, config["lr"])))
        self.set_lrs()
        self.scheme = build_scheme(config["scheme"], *self.optimizers.values())
        self.modules = {"G": self.G, "D": self.D}
        self.loader = BatchLoader(images, B, self.rngs["data"])
        self.batch_size, self.steps_per_epoch = B, len(self.loader)
        self.epochs = args.epochs or (checkpoint.meta.get("epochs") if checkpoint else None) \
            or default_epochs(self.steps_per_epoch * B)
        self.total_steps = self.epochs * self.steps_per_epoch
        self.fixed_z = stream(seed, "samples").normal((N_SAMPLES, config["z_dim"]))
        self.steps_done = checkpoint.step if checkpoint is not None else 0   # for --decay

    def describe(self, steps: int) -> str:
        c = self.config
        length = f"{self.epochs} epochs x {self.steps_per_epoch} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        optimizer = "RMSprop" if c.get("optimizer") == "rmsprop" else f"Adam betas {tuple(c['betas'])}"
        k = self.G.kernel
        return (f"DCGAN ({c['arch']}, ngf {c['ngf']}, G's {k}x{k} upsampling): {self.data['n']:,} training "
                f"digits, {length} x {self.batch_size} "
                f"= {steps * self.batch_size:,} images; {c['scheme']}, "
                f"{describe_objective({**c, 'loss': loss_of(c)})}, {optimizer} lr {c['lr']}"
                + (f" (G {c['g_lr']})" if c.get("g_lr") else "")
                + (f", lr falling to 0 over the last {c['decay']:.0%}" if c["decay"] else "")
                + (f", DiffAugment {c['diffaugment']}" if c.get("diffaugment") else "")
                + (f", InfoGAN code of {c['info_codes']} values (lambda {c['info_weight']})"
                   if c.get("info_codes") else "")
                + (f", EMA of G {c['ema']}" if c["ema"] else ""))

    def record(self) -> dict:
        return {"epochs": self.epochs, "images_per_epoch": self.steps_per_epoch * self.batch_size,
                **self.provenance()}

    def meta(self) -> dict:
        return {"epochs": self.epochs, "data": self.data}

    def states(self) -> dict:
        return {"scheme": self.scheme.state_dict(), "loader": self.loader.state_dict(),
                "rng": {name: self.rngs[name].get_state() for name in ("z", "dropout", "augment")}}

    def load_states(self, states: dict) -> None:
        self.scheme.load_state_dict(states["scheme"])
        self.loader.load_state_dict(states["loader"])
        for name in ("z", "dropout", "augment"):
            if name in states["rng"]:            # "augment": checkpoints from before --diffaugment
                self.rngs[name].set_state(states["rng"][name])
        self.set_lrs()                       # --lr / --g-lr given on resume (else the same values)

    def set_lrs(self, factor: float = 1.0) -> tuple:
        """G's learning rate (--g-lr, else --lr) and D's (--lr), times ``factor`` (--decay's
        schedule), into their optimizers; returns (G's, D's)."""
        g_lr = (self.config["g_lr"] or self.config["lr"]) * factor
        d_lr = self.config["lr"] * factor
        g_opt, d_opt = self.optimizers.values()
        set_lr([g_opt], g_lr)
        set_lr([d_opt], d_lr)
        return g_lr, d_lr

    def step(self) -> dict:
        g_lr, lr = self.set_lrs(lr_factor(self.steps_done, self.total_steps, self.config["decay"]))
        self.steps_done += 1
        real = tensor(to_model_input(self.loader.next_batch()), device=self.device)
        z = tensor(self.rngs["z"].normal((self.batch_size, self.config["z_dim"])), device=self.device)
        out = train_step(self.G, self.D, self.scheme, real, z, self.config, self.rngs["z"])
        return {**out, "lr": lr, **({"g_lr": g_lr} if self.config["g_lr"] else {})}

    def postfix(self, values: dict) -> str:
        if "critic_gap" in values:
            return (f"D {_fmt(values['d_loss'])} G {_fmt(values['g_loss'])} "
                    f"C(x) - C(G(z)) {_fmt(values['critic_gap'])}")
        return (f"D {_fmt(values['d_loss'])} G {_fmt(values['g_loss'])} "
                f"D(x) {_fmt(values['d_real'])} D(G(z)) {_fmt(values['d_fake'])}")

    def epoch_end(self, run_dir: Path, epoch: int) -> str:
        # Training-mode BatchNorm (batch statistics of these 64 z) under no_grad: the digits look
        # as G draws them while it trains; the running statistics (eval mode) lag G early on.
        # generate() leaves the running stats untouched.
        return str(save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png",
                             generate(self.drawing("G"), self.fixed_z), nrow=8))

    def finish(self, run_dir: Path, metrics: MetricsLog) -> dict:
        finish(run_dir, self.drawing("G"), metrics, self.config["seed"], self.config["z_dim"])
        return {}


def main(argv=None) -> int:
    """``python -m tinygan.train dcgan [flags]`` (see :mod:`tinygan.trainers.dcgan`)."""
    return loop_main(DCGANJob, argv, description=_doc.__doc__)


def finish(run_dir: Path, G, metrics: MetricsLog, seed: int, z_dim: int) -> None:
    """losses.png, interpolation.png (training-mode BatchNorm, as the grids), samples/final.png,
    and with InfoGAN's code samples/codes.png: row k is code k, column j the same rest of z."""
    d, g = metrics.series("d_loss"), metrics.series("g_loss")
    if d:
        curves = {"D loss": d, "G loss": g}
        if metrics.series("info_loss"):
            curves["CE(Q(G(z)), c)"] = metrics.series("info_loss")
        save_curves(run_dir / "losses.png", curves, title="DCGAN losses", xlabel="step", ylabel="value")
    if getattr(G, "codes", 0):
        K, rest = G.codes, stream(seed, "codes").normal((CODE_COLUMNS, z_dim))
        z = np.repeat(rest[None], K, axis=0)                        # (K, columns, z_dim)
        z[:, :, :K] = np.eye(K, dtype=z.dtype)[:, None, :]          # argmax of row k's first K: k
        save_grid(run_dir / "samples" / "codes.png", generate(G, z.reshape(-1, z_dim)), nrow=CODE_COLUMNS)
    rng = stream(seed, "interpolation")
    za, zb = rng.normal((N_PAIRS, z_dim)), rng.normal((N_PAIRS, z_dim))
    t = np.linspace(0.0, 1.0, N_INTERP, dtype=np.float32)[None, :, None]
    z = ((1 - t) * za[:, None] + t * zb[:, None]).reshape(-1, z_dim)   # row i: z_a[i] -> z_b[i]
    save_grid(run_dir / "interpolation.png", generate(G, z), nrow=N_INTERP)
    save_grid(run_dir / "samples" / "final.png",
              generate(G, stream(seed, "samples").normal((N_SAMPLES, z_dim))), nrow=8)
