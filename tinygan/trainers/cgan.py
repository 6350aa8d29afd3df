"""``python -m tinygan.train cgan [flags]``: a conditional GAN on MNIST, G(z | y) and D(x | y).

    python -m tinygan.train cgan                          # conv nets, AC-GAN head, ~100k images
    python -m tinygan.train cgan --cond concat            # the plain recipe: label planes into D
    python -m tinygan.train cgan --cond projection --arch mlp
    python -m tinygan.train cgan --loss hinge --spectral-norm   # also --loss lsgan, --label-smoothing 0.9
    python -m tinygan.sample runs/cgan-... --out grid.png   python -m tinygan.eval runs/cgan-...

Networks and the three ways D sees the label: :mod:`tinygan.models.cgan`. Each step draws one
real batch with its labels, one z and uniformly random labels y' for the fakes, then takes one
Adam step of D on BCE(D(x|y), 1) + BCE(D(G(z|y')|y'), 0) (+ the AC-GAN class terms) and one of G
on BCE(D(G(z|y')|y'), 1) (+ CE of the class), G(z|y') computed once per step. ``--loss hinge |
lsgan | minimax`` replaces the BCE terms by that loss of :mod:`tinygan.nn.gan_loss`;
``--spectral-norm`` and ``--label-smoothing A`` are :mod:`.objectives`' stabilisers. The WGAN
losses (critic steps, clipping, a penalty on interpolates of conditional pairs) and the
stabilisers that need D's features are ``train gan`` / ``train dcgan``'s only.

A run writes ``runs/cgan-<time>/`` (the shared loop's files: ``config.json``, ``metrics.jsonl``,
checkpoints, ``summary.json``), ``samples/epoch_XXX.png`` after every epoch and at the end
``samples/final.png``: a 10 x 10 grid, row = requested class, column = one fixed z. The final
number is the *label accuracy*: the project's LeNet (97.6% on real test digits) reads 5,000
generated digits, 500 per requested class, and counts how often it reads the requested class.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..cli import positive_float, positive_int
from ..creation import tensor
from ..data import BatchLoader, to_model_input
from ..models import cgan
from ..optim import Adam
from ..random import Generator
from ..viz import save_grid
from ..viz import save_curves
from .common import UsageError, frozen, stream
from .labelled import descend, label_accuracy, load_digits, set_lr
from .job import Job
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .objectives import (add_objective_flags, check_objective, describe_objective, discriminator_record,
                         objective_rules, spectral_normalize)
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule

TARGET_IMAGES = 100_000
EVAL_PER_CLASS = 500            # the final label accuracy: 10 x 500 generated digits
EPOCH_EVAL_PER_CLASS = 50       # the per-epoch one (a note in the log)
DEFAULTS = dict(arch="conv", cond="acgan", batch_size=64, lr=2e-4, betas=(0.5, 0.999), seed=0,
                z_dim=100, epochs=None, n_train=None, ema=0.0, loss="nonsaturating", spectral_norm=False,
                real_label=1.0)
LOSSES = ("nonsaturating", "minimax", "hinge", "lsgan")     # the losses with one D step per G step


def add_flags(p) -> None:
    p.add_argument("--arch", choices=cgan.ARCHS, help="conv: the DCGAN layers (default); mlp: "
                   "Mirza & Osindero's fully connected nets")
    p.add_argument("--cond", choices=cgan.CONDS, help="how D sees the label: concat (label planes "
                   "in its input), projection (Miyato & Koyama), acgan (auxiliary classifier; default)")
    p.add_argument("--batch-size", type=positive_int, help="default 64")
    p.add_argument("--epochs", type=positive_int, help=f"default: enough for ~{TARGET_IMAGES:,} images")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate of both players (default 2e-4)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--z-dim", type=positive_int, help="latent size (default 100)")
    p.add_argument("--seed", type=int, help="seeds weights, data order, z, labels and dropout (default 0)")
    p.add_argument("--n-train", type=positive_int, help="train on the first N digits only")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")
    add_objective_flags(p, losses=LOSSES, stabilisers=("spectral_norm", "real_label"))


def generate(G, z, y, train_mode_bn: bool = True, batch: int = 500) -> np.ndarray:
    """G(z | y) as a numpy array (N, 1, 28, 28) under no_grad, in batches of ``batch``; ``y`` is
    integer labels (N,) or class vectors (N, C). BatchNorm as :func:`tinygan.sample.generate`:
    batch statistics (training mode) by default; G's running statistics and mode are restored."""
    z = np.asarray(z, np.float32)
    y = np.asarray(y)
    vectors = y.astype(np.float32) if y.ndim == 2 else np.eye(G.num_classes, dtype=np.float32)[y]
    device = next(G.parameters()).device
    was_training, buffers = G.training, [(b, b.data.copy()) for b in G.buffers()]
    G.train(train_mode_bn)
    try:
        with no_grad():
            out = [G(tensor(z[s:s + batch], device=device), tensor(vectors[s:s + batch], device=device))
                   .to("cpu").numpy() for s in range(0, len(z), batch)]
        return np.concatenate(out)
    finally:
        for b, saved in buffers:
            b.data[...] = saved
        G.train(was_training)


def class_grid(G, seed: int, z_dim: int, columns: int = 10) -> tuple:
    """(images, labels) of the 10 x ``columns`` grid: row c is class c, column j one fixed z_j."""
    z = stream(seed, "samples").normal((columns, z_dim))
    labels = np.repeat(np.arange(G.num_classes), columns)
    return generate(G, np.tile(z, (G.num_classes, 1)), labels), labels


def evaluate(G, per_class: int, seed: int) -> float:
    """LeNet label accuracy of ``per_class`` digits of each class drawn from a seeded z. The
    classes take turns (0, 1, ..., 9, 0, ...), so each batch G draws holds every class, as in
    training (training-mode BatchNorm normalises with the batch's statistics)."""
    labels = np.tile(np.arange(G.num_classes), per_class)
    z = Generator(seed).normal((len(labels), G.z_dim))
    return label_accuracy(generate(G, z, labels), labels)


class CGANJob(Job):
    """Conditional GAN on MNIST (:mod:`tinygan.models.cgan`), one Adam per player."""

    model = "cgan"
    DEFAULTS = DEFAULTS
    RULES = {"arch": lambda v: v in cgan.ARCHS, "cond": lambda v: v in cgan.CONDS,
             "batch_size": POSITIVE_INT, "lr": POSITIVE, "seed": number_rule(-2**63, kind=int),
             "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
             "z_dim": POSITIVE_INT, "epochs": lambda v: v is None or POSITIVE_INT(v),
             "n_train": lambda v: v is None or POSITIVE_INT(v), **objective_rules()}
    ABSENT = {"ema": 0.0, "loss": "nonsaturating", "spectral_norm": False, "real_label": 1.0}
    LOSS_KEYS = {"d_loss": "D loss", "g_loss": "G loss", "d_class_loss": "D's class loss"}
    EMA_OF = ("G",)
    add_flags = staticmethod(add_flags)

    @classmethod
    def given(cls, args) -> dict:
        given = super().given(args)
        try:
            check_objective({**DEFAULTS, **given})      # e.g. --label-smoothing with --loss hinge
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return given

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, getattr(args, "device", "cpu")
        seed, B = config["seed"], config["batch_size"]
        self.images, self.labels, self.data = load_digits(args, checkpoint, config["n_train"], B)
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "z", "dropout", "labels")}
        self.G, self.D = cgan.build(config["arch"], config["cond"], config["z_dim"],
                                    generator=self.rngs["init"], dropout_generator=self.rngs["dropout"])
        if config["spectral_norm"]:
            spectral_normalize(self.D, generator=self.rngs["init"])
        self.G.to(self.device), self.D.to(self.device)
        opt = dict(lr=config["lr"], betas=tuple(config["betas"]))
        self.optimizers = {"G's Adam": Adam(self.G.parameters(), **opt),
                           "D's Adam": Adam(self.D.parameters(), **opt)}
        self.modules = {"G": self.G, "D": self.D}
        self.loader = BatchLoader(np.arange(len(self.images)), B, self.rngs["data"])
        self.batch_size, self.steps_per_epoch = B, len(self.loader)
        self.epochs = config["epochs"] or max(1, round(TARGET_IMAGES / (self.steps_per_epoch * B)))
        self.total_steps = self.epochs * self.steps_per_epoch

    def describe(self, steps: int) -> str:
        c = self.config
        length = f"{self.epochs} epochs x {self.steps_per_epoch} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return (f"cGAN ({c['arch']}, D conditioned by {c['cond']}): {self.data['n']:,} labelled "
                f"training digits, {length} x {self.batch_size} = {steps * self.batch_size:,} "
                f"images; {describe_objective(c)}; Adam lr {c['lr']} betas {tuple(c['betas'])}")

    def record(self) -> dict:
        return {"epochs": self.epochs, **self.provenance()}

    def meta(self) -> dict:
        return {"epochs": self.epochs, "data": self.data}

    def states(self) -> dict:
        return {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "loader": self.loader.state_dict(),
                "rng": {name: self.rngs[name].get_state() for name in ("z", "dropout", "labels")}}

    def load_states(self, states: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(states["optimizers"][k])
        self.loader.load_state_dict(states["loader"])
        for name in ("z", "dropout", "labels"):
            self.rngs[name].set_state(states["rng"][name])
        set_lr(self.optimizers.values(), self.config["lr"])

    def step(self) -> dict:
        B, dev = self.batch_size, self.device
        idx = self.loader.next_batch()
        real = tensor(to_model_input(self.images[idx]), device=dev)
        y_real, y_fake = self.labels[idx], self.rngs["labels"].integers(0, cgan.NUM_CLASSES, (B,))
        z = tensor(self.rngs["z"].normal((B, self.config["z_dim"])), device=dev)
        vec_real, vec_fake = cgan.one_hot(y_real, device=dev), cgan.one_hot(y_fake, device=dev)
        t_real, t_fake = tensor(y_real, device=dev), tensor(y_fake.astype(np.int64), device=dev)
        fake = self.G(z, vec_fake)
        real_out, fake_out = self.D(real, vec_real), self.D(fake.detach(), vec_fake)
        kind = self.config["loss"]
        loss, cls = cgan.d_loss(real_out, fake_out, t_real, t_fake, kind, self.config["real_label"])
        values = {"d_loss": descend(self.optimizers["D's Adam"], loss)}
        real_logit, fake_logit = (o[0] if isinstance(o, tuple) else o for o in (real_out, fake_out))
        values.update(discriminator_record(kind, real_logit, fake_logit))
        if cls is not None:
            values["d_class_loss"] = float(cls.item())
        with frozen(self.D):
            values["g_loss"] = descend(self.optimizers["G's Adam"], cgan.g_loss(self.D(fake, vec_fake), t_fake, kind))
        return values

    def postfix(self, values: dict) -> str:
        losses = f"D {values['d_loss']:.3f} G {values['g_loss']:.3f}"
        if "critic_gap" in values:
            return f"{losses} D(x)-D(G(z)) {values['critic_gap']:.3f}"
        return f"{losses} D(x) {values['d_real']:.3f} D(G(z)) {values['d_fake']:.3f}"

    def epoch_end(self, run_dir, epoch: int) -> str:
        images, _ = class_grid(self.drawing("G"), self.config["seed"], self.config["z_dim"])
        path = save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png", images, nrow=10)
        acc = evaluate(self.drawing("G"), EPOCH_EVAL_PER_CLASS, self.config["seed"] + 1)
        return f"{path}, LeNet label accuracy {acc:.3f} ({10 * EPOCH_EVAL_PER_CLASS} digits)"

    def finish(self, run_dir, metrics) -> dict:
        d, g = metrics.series("d_loss"), metrics.series("g_loss")
        if d:
            save_curves(run_dir / "losses.png", {"D loss": d, "G loss": g}, title="cGAN losses",
                        xlabel="step", ylabel="loss")
        images, _ = class_grid(self.drawing("G"), self.config["seed"], self.config["z_dim"])
        save_grid(run_dir / "samples" / "final.png", images, nrow=10)
        acc = evaluate(self.drawing("G"), EVAL_PER_CLASS, self.config["seed"] + 1)
        print(f"LeNet label accuracy of {10 * EVAL_PER_CLASS:,} generated digits: {acc:.4f}")
        return {"label_accuracy": acc, "label_accuracy_digits": 10 * EVAL_PER_CLASS}


def build_networks(config: dict) -> dict:
    """{"G": CondGenerator} of a checkpoint's config, on the CPU (for sample / eval / demo)."""
    return {"G": cgan.CondGenerator(config["arch"], config["z_dim"])}


def load_generator(path):
    """(CondGenerator with the checkpoint's weights, the checkpoint)."""
    modules, checkpoint = load_checkpoint_modules(path, "cgan", CGANJob.RULES, build_networks, ["G"])
    return modules["G"], checkpoint


def load_sampler(path):
    """(sample(n, seed) -> images (n, 1, 28, 28), checkpoint meta, "mnist"): the classes in turn
    (0, 1, ..., 9, 0, ...), so every class is drawn equally often."""
    G, checkpoint = load_generator(path)

    def sample(n, seed):
        labels = np.arange(n) % G.num_classes
        return generate(G, Generator(seed).normal((n, G.z_dim)), labels)
    return sample, checkpoint.meta, "mnist"


def main(argv=None) -> int:
    """``python -m tinygan.train cgan [flags]``."""
    return loop_main(CGANJob, argv, description=__doc__)
