"""``python -m tinygan.train pix2pix [flags]``: pix2pix (Isola et al. 2017) on a paired task made
from MNIST, on the shared loop (:mod:`tinygan.trainers.loop`).

    python -m tinygan.train pix2pix                       # lower half masked -> whole digit
    python -m tinygan.train pix2pix --task edges          # outline -> digit
    python -m tinygan.train pix2pix --resume runs/pix2pix-20260101-120000
    python -m tinygan.eval runs/pix2pix-...               # its outputs on held-out inputs

Each step (the paper's, alternating): fake = G(x); D takes one Adam step on
[BCE(D(x, y), 1) + BCE(D(x, fake), 0)] / 2; G one on BCE(D(x, fake), 1) + lambda |fake - y|_1
(lambda ``--l1-weight``, 100). Adam 2e-4, betas (0.5, 0.999), as the paper; the learning rate is
constant for the first half of the run and falls linearly to 0 over the second (``--decay``), as
the authors' code does. Pairs come from
:mod:`tinygan.data.paired` (``--task``); the held-out pairs are the MNIST test split's.

A run writes ``samples/epoch_XXX.png`` (rows of inputs / outputs / targets for 16 held-out
digits, after every epoch), checkpoints, ``metrics.jsonl``, and at the end ``triplets.png``
(48 held-out triplets), ``dropout.png`` (each row one input, then 8 outputs under different dropout
masks -- G's only randomness -- then the target), ``losses.png`` and ``summary.json`` with the
held-out L1 and the project's LeNet accuracy of the outputs against the targets' labels (and, for
scale, LeNet on the inputs and on the targets themselves).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..cli import positive_float, positive_int, probability
from ..creation import tensor
from ..data import BatchLoader, load_mnist
from ..data.paired import TASKS, make_pairs
from ..metrics.lenet import accuracy, load_lenet
from ..models import pix2pix
from ..ops import cat
from ..optim import Adam
from ..random import Generator
from ..viz import save_grid
from ..viz import save_curves
from .common import MetricsLog, UsageError, frozen, stream
from .image2image import dropout_stream, interleave_rows, lr_factor, mnist_split, run_batched
from .job import Job
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule

DEFAULTS = dict(task="mask-lower", batch_size=64, epochs=30, lr=2e-4, betas=(0.5, 0.999), decay=0.5,
                l1_weight=pix2pix.L1_WEIGHT, ngf=32, ndf=32, depth=4, d_layers=1, seed=0, n_train=None, n_eval=None, ema=0.0)
RULES = {"task": lambda v: v in TASKS, "batch_size": POSITIVE_INT, "epochs": POSITIVE_INT,
         "lr": POSITIVE, "decay": number_rule(0, 1), "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
         "l1_weight": number_rule(0), "ngf": POSITIVE_INT, "ndf": POSITIVE_INT,
         "depth": number_rule(1, 4, kind=int), "d_layers": number_rule(1, 3, kind=int),
         "seed": number_rule(-2**63, kind=int), "n_train": lambda v: v is None or POSITIVE_INT(v)}   # n_eval (evaluation only) may be absent
N_SHOW = 16          # held-out digits in the per-epoch grid


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, help="mask-lower: lower half blanked -> digit (default); "
                   "edges: outline -> digit")
    p.add_argument("--batch-size", type=positive_int, help="default 64")
    p.add_argument("--epochs", type=positive_int, help="passes over the training pairs (default 30)")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate of G and D (default 2e-4); "
                   "may change on --resume (recorded in lr_history)")
    p.add_argument("--betas", type=probability, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--decay", type=probability, help="last fraction of the steps over which the "
                   "learning rate falls linearly to 0 (default 0.5, as the authors' code)")
    p.add_argument("--l1-weight", type=float, help="lambda of the L1 term (default 100)")
    p.add_argument("--ngf", type=positive_int, help="U-Net's first-layer filters (default 32)")
    p.add_argument("--ndf", type=positive_int, help="PatchGAN's first-layer filters (default 32)")
    p.add_argument("--depth", type=int, choices=(1, 2, 3, 4), help="U-Net halvings (default 4: 28 -> 1)")
    p.add_argument("--d-layers", type=int, choices=(1, 2, 3),
                   help="PatchGAN stride-2 layers: 1 = 16x16 patches (default), 2 = 34, 3 = 70")
    p.add_argument("--seed", type=int, help="seeds weights, data order and dropout (default 0)")
    p.add_argument("--n-train", type=positive_int, help="train on the first N digits only")
    p.add_argument("--n-eval", type=positive_int, help="held-out pairs to evaluate (default: all)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")


def build(config: dict, generator=None, dropout_generator=None) -> dict:
    """{"G": U-Net, "D": PatchGAN on (input, output) pairs} of a run's config."""
    G = pix2pix.UNetGenerator(1, 1, config["ngf"], config["depth"], generator=generator,
                              dropout_generator=dropout_generator)
    D = pix2pix.PatchDiscriminator(2, config["ndf"], config["d_layers"], generator=generator)
    return {"G": G, "D": D}


def train_step(G, D, opt_g, opt_d, x, y, l1_weight: float) -> dict:
    """One pix2pix step on inputs ``x`` and targets ``y`` (N, 1, H, W): D's Adam step, then G's."""
    fake = G(x)
    d_real, d_fake = D(cat([x, y], 1)), D(cat([x, fake.detach()], 1))
    d_loss = pix2pix.discriminator_loss(d_real, d_fake)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    with frozen(D):
        logits = D(cat([x, fake], 1))
    g_loss, gan, l1 = pix2pix.generator_loss(logits, fake, y, l1_weight)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    prob = lambda t: float(np.mean(1 / (1 + np.exp(-np.asarray(t.to("cpu").numpy(), np.float64)))))  # noqa: E731
    return {"d_loss": float(d_loss.item()), "g_loss": float(g_loss.item()), "g_gan": float(gan.item()),
            "l1": float(l1.item()), "d_real": prob(d_real), "d_fake": prob(d_fake)}


class Pix2PixJob(Job):
    """pix2pix on MNIST pairs: U-Net G, PatchGAN D, two Adams, one batch of pairs per step."""

    model = "pix2pix"
    DEFAULTS = DEFAULTS
    RULES = RULES
    MUTABLE_ON_RESUME = ("lr",)
    EMA_OF = ("G",)
    add_flags = staticmethod(add_flags)

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, args.device
        seed, B = config["seed"], config["batch_size"]
        train, test, self.data = mnist_split(getattr(args, "data_dir", None), config["n_train"], B, checkpoint)
        self.inputs, self.targets = make_pairs(train.images, config["task"])
        k = config["n_eval"]
        if k is not None and not POSITIVE_INT(k):
            raise UsageError(f"--n-eval must be a positive integer, got {k!r}")
        self.test_inputs, self.test_targets = make_pairs(test.images[:k], config["task"])
        self.test_labels = test.labels[:k]
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "dropout")}
        modules = build(config, self.rngs["init"], self.rngs["dropout"])
        self.G, self.D = modules["G"].to(self.device), modules["D"].to(self.device)
        opt = dict(lr=config["lr"], betas=tuple(config["betas"]))
        self.optimizers = {"G's Adam": Adam(self.G.parameters(), **opt),
                           "D's Adam": Adam(self.D.parameters(), **opt)}
        self.modules = {"G": self.G, "D": self.D}
        self.loader = BatchLoader(np.arange(len(self.inputs)), B, self.rngs["data"])
        self.batch_size, self.steps_per_epoch = B, len(self.loader)
        self.total_steps = config["epochs"] * self.steps_per_epoch
        self.history, self.steps_done = [], 0      # held-out figures after each epoch

    def describe(self, steps: int) -> str:
        c = self.config
        length = f"{c['epochs']} epochs x {self.steps_per_epoch} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return (f"pix2pix ({c['task']}): {self.data['n']:,} training pairs, {length} x {self.batch_size} "
                f"= {steps * self.batch_size:,} images; "
                f"U-Net ngf {c['ngf']} depth {c['depth']}, {pix2pix.receptive_field(c['d_layers'])}x"
                f"{pix2pix.receptive_field(c['d_layers'])} PatchGAN ndf {c['ndf']}, lambda {c['l1_weight']}")

    def record(self) -> dict:
        return {**self.provenance(), "n_test": len(self.test_inputs)}

    def meta(self) -> dict:
        return {"data": self.data}

    def states(self) -> dict:
        return {"opt": {k: o.state_dict() for k, o in self.optimizers.items()},
                "loader": self.loader.state_dict(), "dropout": self.rngs["dropout"].get_state(),
                "history": self.history, "steps_done": self.steps_done}

    def load_states(self, states: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(states["opt"][k])
            for group in o.param_groups:
                group["lr"] = self.config["lr"]
        self.loader.load_state_dict(states["loader"])
        self.rngs["dropout"].set_state(states["dropout"])
        self.history, self.steps_done = list(states["history"]), int(states["steps_done"])

    def step(self) -> dict:
        lr = self.config["lr"] * lr_factor(self.steps_done, self.total_steps, self.config["decay"])
        for o in self.optimizers.values():
            for group in o.param_groups:
                group["lr"] = lr
        self.steps_done += 1
        idx = self.loader.next_batch()
        x = tensor(self.inputs[idx], device=self.device)
        y = tensor(self.targets[idx], device=self.device)
        return {**train_step(self.G, self.D, *self.optimizers.values(), x, y, self.config["l1_weight"]),
                "lr": lr}

    def postfix(self, values: dict) -> str:
        return (f"D {values['d_loss']:.3f} G {values['g_gan']:.3f} L1 {values['l1']:.3f} "
                f"D(x,y) {values['d_real']:.2f} D(x,G(x)) {values['d_fake']:.2f}")

    def translate(self, inputs: np.ndarray, seed_stream: str = "samples") -> np.ndarray:
        """G(inputs) with dropout masks from the run's ``seed_stream`` (the training stream untouched)."""
        G = self.drawing("G")
        with dropout_stream(G, stream(self.config["seed"], seed_stream)):
            return run_batched(G, inputs, self.batch_size, self.device)

    def evaluate(self) -> dict:
        """Held-out L1 (mean |G(x) - y| in [-1, 1] units) and LeNet accuracy against the labels."""
        out = self.translate(self.test_inputs)
        return {"heldout_l1": float(np.abs(out - self.test_targets).mean()),
                "heldout_lenet_accuracy": accuracy(load_lenet(), out, self.test_labels)}

    def epoch_end(self, run_dir: Path, epoch: int) -> str:
        k = N_SHOW
        out = self.translate(self.test_inputs[:k])
        save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png",
                  np.concatenate([self.test_inputs[:k], out, self.test_targets[:k]]), nrow=k)
        figures = self.evaluate()
        self.history.append({"epoch": epoch, **figures})
        return f"held-out L1 {figures['heldout_l1']:.4f}, LeNet accuracy {figures['heldout_lenet_accuracy']:.3f}"

    def finish(self, run_dir: Path, metrics: MetricsLog) -> dict:
        d, g, l1 = metrics.series("d_loss"), metrics.series("g_gan"), metrics.series("l1")
        if d:
            save_curves(run_dir / "losses.png", {"D loss": d, "G adversarial loss": g, "L1": l1},
                        title="pix2pix losses", xlabel="step")
        out = self.translate(self.test_inputs)
        save_grid(run_dir / "triplets.png", interleave_rows(
            self.test_inputs[:48], out[:48], self.test_targets[:48], per_row=16), nrow=16)
        n, draws = 8, 8
        rng = Generator(self.config["seed"])   # a picture's own dropout masks
        G = self.drawing("G")
        with dropout_stream(G, rng):
            variants = [run_batched(G, self.test_inputs[:n], n, self.device) for _ in range(draws)]
        rows = [np.concatenate([self.test_inputs[i:i + 1]] + [v[i:i + 1] for v in variants]
                               + [self.test_targets[i:i + 1]]) for i in range(n)]
        save_grid(run_dir / "dropout.png", np.concatenate(rows), nrow=draws + 2)
        lenet = load_lenet()
        return {"heldout_l1": float(np.abs(out - self.test_targets).mean()),
                "heldout_lenet_accuracy": accuracy(lenet, out, self.test_labels),
                "lenet_accuracy_on_inputs": accuracy(lenet, self.test_inputs, self.test_labels),
                "lenet_accuracy_on_targets": accuracy(lenet, self.test_targets, self.test_labels),
                "heldout_l1_of_inputs": float(np.abs(self.test_inputs - self.test_targets).mean()),
                "dropout_spread": float(np.mean(np.std(np.stack(variants), axis=0))),
                "n_heldout": len(out), "history": self.history}


def main(argv=None) -> int:
    """``python -m tinygan.train pix2pix [flags]`` (see the module docstring)."""
    return loop_main(Pix2PixJob, argv, description=__doc__)


def load_sampler(path):
    """(sample(n, seed), meta, "mnist") for eval / sample: G's outputs on the first n held-out
    inputs of the run's task (repeated past the test split's end), dropout masks from ``seed``."""
    modules, ckpt = load_checkpoint_modules(path, "pix2pix", RULES, lambda c: {"G": build(c)["G"]},
                                            names=["G"])
    G, config = modules["G"], ckpt.meta["config"]
    data_dir = (ckpt.meta.get("data") or {}).get("data_dir")
    inputs, _ = make_pairs(load_mnist("test", data_dir=data_dir, verbose=False).images, config["task"])

    def sample(n, seed):
        x = inputs[np.arange(n) % len(inputs)]
        with dropout_stream(G, Generator(seed)):
            return run_batched(G, x, config["batch_size"], "cpu")
    return sample, ckpt.meta, "mnist"
