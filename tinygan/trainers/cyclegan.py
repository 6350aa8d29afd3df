"""``python -m tinygan.train cyclegan [flags]``: CycleGAN (Zhu et al. 2017) between MNIST (domain
A) and scikit-learn's UCI digits in MNIST's frame (domain B, :mod:`tinygan.data.uci_digits`),
unpaired, on the shared loop (:mod:`tinygan.trainers.loop`). Needs scikit-learn
(``pip install 'tinygan[sklearn]'``).

    python -m tinygan.train cyclegan
    python -m tinygan.train cyclegan --resume runs/cyclegan-20260101-120000
    python -m tinygan.eval runs/cyclegan-...       # G_BA's MNIST-style digits drawn from UCI ones

Each step (the paper's): one batch a of MNIST digits and one b of UCI digits; both generators take
one Adam step on the sum of their least-squares GAN, cycle (lambda 10) and identity (lambda 5)
losses (:func:`tinygan.models.cyclegan.generator_losses`); then both discriminators one Adam step
on real images against fakes drawn from a pool of the last ``--pool`` generated images (the
paper's history buffer, after Shrivastava et al. 2017: half the time a stored fake replaces the
new one). Adam 2e-4, betas (0.5, 0.999); the learning rate is constant for the first half of the
run and falls linearly to 0 over the second (``--decay``), as in the paper. An epoch is one pass
over the MNIST training digits; the UCI digits cycle on their own.

A run writes ``samples/epoch_XXX.png`` (rows: 16 held-out MNIST digits, G_AB of them, 16 UCI
digits, G_BA of them), checkpoints and ``metrics.jsonl``; at the end ``translated_AB.png`` and
``translated_BA.png`` (rows of inputs / translations / reconstructions), ``losses.png`` and
``summary.json`` with how often a translated digit keeps its class: A -> B read by a LeNet
trained on UCI digits (:mod:`tinygan.metrics.uci_lenet`; also by one trained on jittered UCI
digits), B -> A by the project's MNIST LeNet -- next to the same classifiers on the untranslated
digits, for scale (:func:`translation_report`).
"""
from __future__ import annotations

import argparse
from itertools import chain
from pathlib import Path

import numpy as np

from ..cli import CLIError, nonnegative_int, positive_float, positive_int, probability
from ..creation import tensor
from ..data import BatchLoader, to_model_input
from ..data.uci_digits import load_uci_split
from ..metrics.lenet import accuracy, load_lenet
from ..metrics.uci_lenet import load_uci_lenet
from ..models import cyclegan
from ..optim import Adam
from ..viz import save_curves, save_grid
from .common import MetricsLog, UsageError, frozen, stream
from .image2image import interleave_rows, lr_factor, mnist_split, run_batched
from .job import Job
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, data_digest, number_rule

DEFAULTS = dict(batch_size=16, epochs=3, lr=2e-4, betas=(0.5, 0.999), decay=0.5,
                lambda_cyc=cyclegan.LAMBDA_CYCLE, lambda_id=cyclegan.LAMBDA_IDENTITY, pool=50,
                ngf=16, n_blocks=3, ndf=32, d_layers=1, seed=0, n_train=None, n_eval=None, ema=0.0)
RULES = {"batch_size": POSITIVE_INT, "epochs": POSITIVE_INT, "lr": POSITIVE,
         "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
         "decay": number_rule(0, 1), "lambda_cyc": number_rule(0), "lambda_id": number_rule(0),
         "pool": number_rule(0, kind=int), "ngf": POSITIVE_INT, "n_blocks": number_rule(0, kind=int),
         "ndf": POSITIVE_INT, "d_layers": number_rule(1, 3, kind=int),
         "seed": number_rule(-2**63, kind=int), "n_train": lambda v: v is None or POSITIVE_INT(v)}   # n_eval (evaluation only) may be absent
N_SHOW = 16
LOSS_NAMES = ("gan_ab", "gan_ba", "cycle_a", "cycle_b", "idt_a", "idt_b")


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=positive_int, help="digits of each domain per step (default 16)")
    p.add_argument("--epochs", type=positive_int, help="passes over the MNIST training digits (default 3)")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate before the decay (default "
                   "2e-4); may change on --resume (recorded in lr_history)")
    p.add_argument("--betas", type=probability, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--decay", type=probability, help="last fraction of the steps over which the "
                   "learning rate falls linearly to 0 (default 0.5)")
    p.add_argument("--lambda-cyc", type=float, help="cycle-consistency weight (default 10)")
    p.add_argument("--lambda-id", type=float, help="identity-loss weight (default 5; 0: none)")
    p.add_argument("--pool", type=nonnegative_int, help="fakes kept for D's updates (default 50; 0: none)")
    p.add_argument("--ngf", type=positive_int, help="generators' first-layer filters (default 16)")
    p.add_argument("--n-blocks", type=nonnegative_int, help="residual blocks per generator (default 3)")
    p.add_argument("--ndf", type=positive_int, help="discriminators' first-layer filters (default 32)")
    p.add_argument("--d-layers", type=int, choices=(1, 2, 3), help="PatchGAN stride-2 layers (default 1: 16x16 patches)")
    p.add_argument("--seed", type=int, help="seeds weights, data order and the pools (default 0)")
    p.add_argument("--n-train", type=positive_int, help="train on the first N MNIST digits only")
    p.add_argument("--n-eval", type=positive_int, help="held-out digits of each domain to evaluate "
                   "(default: all, 500 MNIST and 359 UCI)")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")


def build(config: dict, generator=None) -> dict:
    return cyclegan.build(config["ngf"], 2, config["n_blocks"], config["ndf"], config["d_layers"],
                          generator=generator)


class ImagePool:
    """The last ``size`` generated images (Shrivastava et al. 2017; CycleGAN's history buffer):
    ``query(batch)`` fills the pool first; once full, each image is, with probability 1/2,
    swapped for a random stored one (which is returned), else returned as is."""

    def __init__(self, size: int, generator):
        self.size, self.generator, self.count, self.images = int(size), generator, 0, None

    def query(self, images: np.ndarray) -> np.ndarray:
        if self.size == 0:
            return images
        if self.images is None:
            self.images = np.zeros((self.size,) + images.shape[1:], images.dtype)
        out = images.copy()
        for k in range(len(images)):
            if self.count < self.size:
                self.images[self.count] = images[k]
                self.count += 1
            elif self.generator.uniform((1,), np.float64)[0] < 0.5:
                j = int(self.generator.integers(0, self.size, (1,))[0])
                out[k], self.images[j] = self.images[j], images[k]
        return out

    def state_dict(self) -> dict:
        return {"count": self.count, "images": self.images if self.images is not None else np.zeros((0,), np.float32),
                "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        images = np.asarray(state["images"])
        self.images = images.copy() if images.size else None
        self.generator.set_state(state["rng"])


class CycleGANJob(Job):
    """CycleGAN, MNIST <-> UCI digits: two ResNet generators, two PatchGANs, one Adam per pair."""

    model = "cyclegan"
    DEFAULTS = DEFAULTS
    RULES = RULES
    MUTABLE_ON_RESUME = ("lr",)
    LOSS_KEYS = {"d_loss": "D loss", "g_loss": "G loss"}
    EMA_OF = ("G_AB", "G_BA")
    add_flags = staticmethod(add_flags)

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, args.device
        seed, B = config["seed"], config["batch_size"]
        train, test, self.data = mnist_split(getattr(args, "data_dir", None), config["n_train"], B, checkpoint)
        try:
            uci_train, uci_test = load_uci_split("train"), load_uci_split("test")
        except ImportError as exc:
            raise CLIError(str(exc)) from None
        if B > len(uci_train):
            raise CLIError(f"--batch-size {B} is larger than the {len(uci_train)} UCI training digits")
        self.data["uci"] = {"n": len(uci_train), "sha256": data_digest(uci_train.images)}
        self.a, self.b = to_model_input(train.images), uci_train.images
        k = config["n_eval"]
        if k is not None and not POSITIVE_INT(k):
            raise UsageError(f"--n-eval must be a positive integer, got {k!r}")
        self.test_a, self.test_a_labels = to_model_input(test.images[:k]), test.labels[:k]
        self.test_b, self.test_b_labels = uci_test.images[:k], uci_test.labels[:k]
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "data_b", "pool")}
        modules = build(config, self.rngs["init"])
        self.modules = {k: m.to(self.device) for k, m in modules.items()}
        m = self.modules
        opt = dict(lr=config["lr"], betas=tuple(config["betas"]))
        self.optimizers = {"G's Adam": Adam(chain(m["G_AB"].parameters(), m["G_BA"].parameters()), **opt),
                           "D's Adam": Adam(chain(m["D_A"].parameters(), m["D_B"].parameters()), **opt)}
        self.loader_a = BatchLoader(self.a, B, self.rngs["data"])
        self.loader_b = BatchLoader(self.b, B, self.rngs["data_b"])
        self.pools = {"A": ImagePool(config["pool"], self.rngs["pool"]),
                      "B": ImagePool(config["pool"], self.rngs["pool"])}
        self.batch_size, self.steps_per_epoch = B, len(self.loader_a)
        self.total_steps = config["epochs"] * self.steps_per_epoch
        self.steps_done, self.history = 0, []

    def describe(self, steps: int) -> str:
        c = self.config
        length = f"{c['epochs']} epochs x {self.steps_per_epoch} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return (f"CycleGAN: {self.data['n']:,} MNIST digits <-> {self.data['uci']['n']:,} UCI digits, "
                f"{length} x {self.batch_size} = {steps * self.batch_size:,} images per domain; "
                f"ResNet G ngf {c['ngf']} with {c['n_blocks']} blocks, PatchGAN ndf {c['ndf']}, "
                f"lambda_cyc {c['lambda_cyc']}, lambda_id {c['lambda_id']}, pool {c['pool']}")

    def record(self) -> dict:
        return {**self.provenance(), "n_uci_train": self.data["uci"]["n"],
                "n_test": len(self.test_a), "n_uci_test": len(self.test_b)}

    def meta(self) -> dict:
        return {"data": self.data}

    def states(self) -> dict:
        return {"opt": {k: o.state_dict() for k, o in self.optimizers.items()},
                "loader_a": self.loader_a.state_dict(), "loader_b": self.loader_b.state_dict(),
                "pools": {k: p.state_dict() for k, p in self.pools.items()},
                "steps_done": self.steps_done, "history": self.history}

    def load_states(self, states: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(states["opt"][k])
        self.loader_a.load_state_dict(states["loader_a"])
        self.loader_b.load_state_dict(states["loader_b"])
        for k, p in self.pools.items():           # both share one stream: the last one's state
            p.load_state_dict(states["pools"][k])
        self.rngs["pool"].set_state(states["pools"]["B"]["rng"])
        self.steps_done, self.history = int(states["steps_done"]), list(states["history"])

    def step(self) -> dict:
        m, c = self.modules, self.config
        lr = c["lr"] * lr_factor(self.steps_done, self.total_steps, c["decay"])
        for o in self.optimizers.values():
            for group in o.param_groups:
                group["lr"] = lr
        a = tensor(self.loader_a.next_batch(), device=self.device)
        b = tensor(self.loader_b.next_batch(), device=self.device)
        opt_g, opt_d = self.optimizers["G's Adam"], self.optimizers["D's Adam"]
        with frozen(m["D_A"]), frozen(m["D_B"]):
            terms = cyclegan.generator_losses(m["G_AB"], m["G_BA"], m["D_A"], m["D_B"], a, b,
                                              c["lambda_cyc"], c["lambda_id"])
        opt_g.zero_grad()
        terms["total"].backward()
        opt_g.step()
        fake_a = tensor(self.pools["A"].query(terms["fake_a"].detach().to("cpu").numpy()), device=self.device)
        fake_b = tensor(self.pools["B"].query(terms["fake_b"].detach().to("cpu").numpy()), device=self.device)
        d_a = cyclegan.lsgan_d_loss(m["D_A"](a), m["D_A"](fake_a))
        d_b = cyclegan.lsgan_d_loss(m["D_B"](b), m["D_B"](fake_b))
        opt_d.zero_grad()
        (d_a + d_b).backward()
        opt_d.step()
        self.steps_done += 1
        values = {"d_loss": float(d_a.item() + d_b.item()), "g_loss": float(terms["total"].item()),
                  "d_a": float(d_a.item()), "d_b": float(d_b.item()), "lr": lr}
        values.update({k: float(terms[k].item()) for k in LOSS_NAMES if terms[k] is not None})
        return values

    def postfix(self, values: dict) -> str:
        return (f"D_A {values['d_a']:.3f} D_B {values['d_b']:.3f} G {values['gan_ab'] + values['gan_ba']:.3f} "
                f"cyc {values['cycle_a'] + values['cycle_b']:.3f}")

    def translate(self, name: str, images: np.ndarray) -> np.ndarray:
        return run_batched(self.drawing(name), images, 100, self.device)

    def evaluate(self) -> dict:
        """How often a translated held-out digit keeps its class, each way."""
        ab, ba = self.translate("G_AB", self.test_a), self.translate("G_BA", self.test_b)
        return {"class_kept_ab": accuracy(load_uci_lenet(), ab, self.test_a_labels),
                "class_kept_ba": accuracy(load_lenet(), ba, self.test_b_labels)}

    def epoch_end(self, run_dir: Path, epoch: int) -> str:
        k = N_SHOW
        a, b = self.test_a[:k], self.test_b[:k]
        save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png",
                  np.concatenate([a, self.translate("G_AB", a), b, self.translate("G_BA", b)]), nrow=k)
        figures = self.evaluate()
        self.history.append({"epoch": epoch, **figures})
        return (f"class kept MNIST->UCI {figures['class_kept_ab']:.3f}, "
                f"UCI->MNIST {figures['class_kept_ba']:.3f}")

    def finish(self, run_dir: Path, metrics: MetricsLog) -> dict:
        curves = {name: metrics.series(name) for name in ("d_a", "d_b", "gan_ab", "gan_ba", "cycle_a", "cycle_b")}
        if curves["d_a"]:
            save_curves(run_dir / "losses.png", curves, title="CycleGAN losses", xlabel="step")
        drawing = {name: self.drawing(name) for name in self.EMA_OF}
        report, pictures = translation_report(drawing, self.test_a, self.test_a_labels,
                                              self.test_b, self.test_b_labels, self.device)
        for name, images in pictures.items():
            save_grid(run_dir / f"{name}.png", images, nrow=16)
        return {**report, "history": self.history}


def translation_report(modules: dict, a, a_labels, b, b_labels, device: str = "cpu") -> tuple:
    """(figures, pictures) of trained generators on held-out digits a (MNIST) and b (UCI).

    Class kept A -> B is read by two LeNets trained on UCI digits only: the plain one and one
    trained with jittered sizes and offsets (:func:`tinygan.metrics.uci_lenet.jittered`); each is
    also given the untranslated MNIST digits, the scale of what a UCI-trained judge can read of
    MNIST's writers at all. B -> A is read by the project's MNIST LeNet (and given the
    untranslated UCI digits too). ``class_kept_cycle_*``: the MNIST LeNet (UCI LeNet) on the
    round trips A -> B -> A (B -> A -> B)."""
    def run(name, images):
        return run_batched(modules[name], images, 100, device)
    ab, ba = run("G_AB", a), run("G_BA", b)
    aba, bab = run("G_BA", ab), run("G_AB", ba)
    mnist, uci, uci_jit = load_lenet(), load_uci_lenet(), load_uci_lenet(augment=4)
    figures = {"class_kept_ab": accuracy(uci, ab, a_labels),
               "class_kept_ba": accuracy(mnist, ba, b_labels),
               "class_kept_ab_jittered_judge": accuracy(uci_jit, ab, a_labels),
               "uci_lenet_on_untranslated_mnist": accuracy(uci, a, a_labels),
               "jittered_uci_lenet_on_untranslated_mnist": accuracy(uci_jit, a, a_labels),
               "mnist_lenet_on_untranslated_uci": accuracy(mnist, b, b_labels),
               "class_kept_cycle_a": accuracy(mnist, aba, a_labels),
               "class_kept_cycle_b": accuracy(uci, bab, b_labels),
               "uci_lenet_test_accuracy": uci.meta["test_accuracy"],
               "jittered_uci_lenet_test_accuracy": uci_jit.meta["test_accuracy"],
               "cycle_l1_a": float(np.abs(aba - a).mean()), "cycle_l1_b": float(np.abs(bab - b).mean()),
               "n_heldout_mnist": len(a), "n_heldout_uci": len(b)}
    pictures = {"translated_AB": interleave_rows(a[:48], ab[:48], aba[:48], per_row=16),
                "translated_BA": interleave_rows(b[:48], ba[:48], bab[:48], per_row=16)}
    return figures, pictures


def main(argv=None) -> int:
    """``python -m tinygan.train cyclegan [flags]`` (see the module docstring)."""
    return loop_main(CycleGANJob, argv, description=__doc__)


def load_sampler(path):
    """(sample(n, seed), meta, "mnist") for eval / sample: G_BA's MNIST-style translations of the
    first n held-out UCI digits (repeated past its end; deterministic: ``seed`` is unused)."""
    modules, ckpt = load_checkpoint_modules(
        path, "cyclegan", RULES, lambda c: {"G_BA": build(c)["G_BA"]}, names=["G_BA"])
    try:
        inputs = load_uci_split("test").images
    except ImportError as exc:
        raise CLIError(str(exc)) from None

    def sample(n, seed):
        del seed
        return run_batched(modules["G_BA"], inputs[np.arange(n) % len(inputs)], 100, "cpu")
    return sample, ckpt.meta, "mnist"
