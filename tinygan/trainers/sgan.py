"""``python -m tinygan.train sgan [flags]``: a semi-supervised GAN on n labelled MNIST digits, or
(``--baseline``) the CNN with the same trunk trained on the same n labels alone.

    python -m tinygan.train sgan --labels 100               # SGAN: C + 1 outputs, feature matching
    python -m tinygan.train sgan --labels 100 --baseline    # the CNN baseline, same 100 digits
    python -m tinygan.train sgan --labels 25 --seed 2

The labelled digits: ``--labels n`` (25, 50, 100, 1000, ... at least 10) drawn from the training
split by the run's seed, stratified (n // 10 of each class, one more of n % 10 random classes;
:func:`tinygan.models.sgan.stratified_indices`). The job keeps those n labels and drops every other
one before training: every other training digit is used as an unlabelled image only (the seed's
choice and the labels' digest are in ``config.json``).

Each SGAN step (Salimans et al.'s recipe; losses in :mod:`tinygan.models.sgan`): one batch of
the labelled digits (min(64, n)), one batch of 64 training images without labels and 64 fakes;
D takes one Adam step on L_sup + L_unsup, then G one on feature matching. The baseline takes one
Adam step on the cross-entropy of the labelled batch per step, for as many steps. Both: Adam
1e-3, betas (0.5, 0.999), constant for the first half of the run and linear to 0 over the second
(``--decay 0.5``), Gaussian noise in the shared trunk (``--noise 0.3 0.5``), 30 epochs. The
baseline gets the same trunk, noise, schedule and number of steps (there is no validation split
to stop either early). The length: SGAN's test accuracy keeps rising over 30 epochs where the
baseline's is flat after two (README: 30 epochs were tried on one seed at 100 labels, then
measured on every seed and label count; until 2026-12-06 the default was 6).

Outputs (besides the shared loop's files): the test accuracy on the test split after every
epoch (a note in the log) and in ``summary.json`` (``test_accuracy``); an SGAN run also draws
``samples/epoch_XXX.png`` and ``samples/final.png`` from G. ``--ema DECAY`` keeps moving averages
of every network the run has (G and D, or the baseline's C); the grids draw with G's and the test
accuracy is that of D's (C's) average.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..checkpoint import CheckpointError
from ..cli import positive_float, positive_int, probability
from ..creation import tensor
from ..data import BatchLoader, to_model_input
from ..distributed import batch_mean
from ..models import sgan
from ..nn import gan_loss
from ..ops import cross_entropy
from ..optim import Adam
from ..random import Generator
from ..viz import save_grid
from .common import UsageError, frozen, stream
from .image2image import lr_factor
from .labelled import descend, load_digits, load_test_digits, set_lr
from .job import Job
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .samplers import generate
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, data_digest, number_rule

DEFAULTS = dict(labels=100, baseline=False, batch_size=64, lr=1e-3, betas=(0.5, 0.999), seed=0,
                epochs=30, g_loss="feature-matching", z_dim=100, n_train=None, noise=sgan.NOISE,
                decay=0.5, ema=0.0)


def add_flags(p) -> None:
    p.add_argument("--labels", type=positive_int, help="labelled training digits, stratified "
                   "(25, 50, 100, 1000, ...; at least 10; default 100)")
    p.add_argument("--baseline", action="store_const", const=True, help="train the CNN with the same "
                   "trunk on the labelled digits alone (no G, no unlabelled digits)")
    p.add_argument("--g-loss", choices=sgan.G_LOSSES, help="feature-matching (default) or nonsaturating")
    p.add_argument("--batch-size", type=positive_int, help="unlabelled and fake batch (default 64); "
                   "the labelled batch is min(this, --labels)")
    p.add_argument("--epochs", type=positive_int, help="passes over the training digits (default 30; 6 before 2026-12-06)")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (default 1e-3)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--noise", type=float, nargs=2, metavar=("S_IN", "S_H"), help="std of the trunk's "
                   "Gaussian noise on the input and after each hidden layer (default 0.3 0.5; 0 0: none)")
    p.add_argument("--decay", type=probability, help="last fraction of the steps over which the "
                   "learning rate falls linearly to 0 (default 0.5; 0: constant)")
    p.add_argument("--z-dim", type=positive_int, help="latent size (default 100)")
    p.add_argument("--seed", type=int, help="seeds the labelled digits, weights, data order, z and "
                   "dropout (default 0)")
    p.add_argument("--n-train", type=positive_int, help="use the first N training digits only")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")


def test_accuracy(classifier, images, labels, batch: int = 500) -> float:
    """Accuracy of ``classifier.classify`` (argmax over the C real classes) in eval mode (no
    dropout) on uint8 digits ``images``; the module's mode is restored."""
    was = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    try:
        with no_grad():
            pred = np.concatenate([classifier.classify(tensor(to_model_input(images[s:s + batch]),
                                                              device=device)).to("cpu").numpy().argmax(1)
                                   for s in range(0, len(images), batch)])
    finally:
        classifier.train(was)
    return float((pred == np.asarray(labels)).mean())


class SGANJob(Job):
    """SGAN (or, with ``baseline``, the CNN) on ``labels`` labelled digits (:mod:`tinygan.models.sgan`)."""

    model = "sgan"
    DEFAULTS = DEFAULTS
    RULES = {"labels": number_rule(10, kind=int), "baseline": lambda v: isinstance(v, bool),
             "batch_size": POSITIVE_INT, "lr": POSITIVE, "seed": number_rule(-2**63, kind=int),
             "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
             "epochs": POSITIVE_INT, "g_loss": lambda v: v in sgan.G_LOSSES, "z_dim": POSITIVE_INT,
             "n_train": lambda v: v is None or POSITIVE_INT(v), "decay": number_rule(0, 1),
             "noise": lambda v: isinstance(v, list) and len(v) == 2 and all(number_rule(0)(s) for s in v)}
    LOSS_KEYS = {"d_loss": "D loss", "g_loss": "G loss", "c_loss": "classifier loss"}
    EMA_OF = ("G", "D", "C")            # --ema: G for the grids, D (SGAN) / C (--baseline) scored
    ABSENT = {"ema": 0.0, "noise": [0.0, 0.0], "decay": 0.0}   # runs from before these flags
    add_flags = staticmethod(add_flags)

    @classmethod
    def given(cls, args) -> dict:
        given = super().given(args)
        if "noise" in given:
            given["noise"] = tuple(given["noise"])
            if not all(s >= 0.0 for s in given["noise"]):
                raise UsageError(f"--noise must be >= 0, got {given['noise']}")
        return given

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, getattr(args, "device", "cpu")
        seed, B, n = config["seed"], config["batch_size"], config["labels"]
        images, labels, self.data = load_digits(args, checkpoint, config["n_train"], B)
        self.test_images, self.test_labels = load_test_digits(self.data["data_dir"])
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "z", "dropout", "labels")}
        try:
            index = sgan.stratified_indices(labels, n, self.rngs["labels"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.set_labelled(images, index, labels[index])
        del labels                      # from here on the job holds exactly n labels
        init, drop, noise = self.rngs["init"], self.rngs["dropout"], tuple(config["noise"])
        if config["baseline"]:
            self.C = sgan.Classifier(generator=init, dropout_generator=drop, noise=noise).to(self.device)
            self.modules = {"C": self.C}
            self.optimizers = {"C's Adam": Adam(self.C.parameters(), lr=config["lr"], betas=tuple(config["betas"]))}
        else:
            self.G = sgan.Generator(config["z_dim"], generator=init).to(self.device)
            self.D = sgan.SGANDiscriminator(generator=init, dropout_generator=drop, noise=noise).to(self.device)
            self.C = self.D
            self.modules = {"G": self.G, "D": self.D}
            opt = dict(lr=config["lr"], betas=tuple(config["betas"]))
            self.optimizers = {"G's Adam": Adam(self.G.parameters(), **opt),
                               "D's Adam": Adam(self.D.parameters(), **opt)}
            self.fixed_z = stream(seed, "samples").normal((100, config["z_dim"]))
        self.loader = BatchLoader(np.arange(len(self.images)), B, self.rngs["data"])
        self.labelled_loader = BatchLoader(np.arange(n), min(B, n), self.rngs["labels"])
        self.steps_per_epoch = len(self.loader)
        self.batch_size = self.labelled_loader.batch_size if config["baseline"] else B
        self.total_steps = config["epochs"] * self.steps_per_epoch
        self.t = 0

    def set_labelled(self, images, index, labels) -> None:
        """The job's data: every training image (unlabelled) and the n labelled ones, their labels."""
        self.images = images
        self.labelled_index = np.asarray(index)
        self.labelled_images, self.labelled_labels = images[self.labelled_index], np.asarray(labels, np.int64)
        self.labels_record = {"n": int(len(index)), "per_class": np.bincount(self.labelled_labels, minlength=10).tolist(),
                              "sha256": data_digest(np.concatenate([self.labelled_index, self.labelled_labels]))}

    def describe(self, steps: int) -> str:
        c = self.config
        what = "CNN baseline" if c["baseline"] else f"SGAN (C+1 outputs, G loss {c['g_loss']})"
        length = f"{c['epochs']} epochs x {self.steps_per_epoch} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return (f"{what}: {c['labels']} labelled digits {self.labels_record['per_class']} of "
                f"{len(self.images):,}, {length}; Adam lr {c['lr']} betas {tuple(c['betas'])}")

    def record(self) -> dict:
        return {**self.provenance(), "labelled": self.labels_record, "n_test": len(self.test_labels)}

    def meta(self) -> dict:
        return {"data": self.data, "labelled": self.labels_record}

    def states(self) -> dict:
        return {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "loader": self.loader.state_dict(), "labelled_loader": self.labelled_loader.state_dict(),
                "rng": {name: self.rngs[name].get_state() for name in ("z", "dropout")}, "t": self.t}

    def load_states(self, states: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(states["optimizers"][k])
        self.loader.load_state_dict(states["loader"])
        self.labelled_loader.load_state_dict(states["labelled_loader"])
        for name in ("z", "dropout"):
            self.rngs[name].set_state(states["rng"][name])
        self.t = int(states.get("t", 0))   # absent before --decay (then the lr is constant)
        set_lr(self.optimizers.values(), self.config["lr"])

    def step(self) -> dict:
        dev = self.device
        set_lr(self.optimizers.values(), self.config["lr"] * lr_factor(self.t, self.total_steps, self.config["decay"]))
        self.t += 1
        j = self.labelled_loader.next_batch()
        x_lab = tensor(to_model_input(self.labelled_images[j]), device=dev)
        y_lab = tensor(self.labelled_labels[j], device=dev)
        if self.config["baseline"]:
            return {"c_loss": descend(self.optimizers["C's Adam"], cross_entropy(self.C(x_lab), y_lab))}
        B = self.config["batch_size"]
        x_unl = tensor(to_model_input(self.images[self.loader.next_batch()]), device=dev)
        fake = self.G(tensor(self.rngs["z"].normal((B, self.config["z_dim"])), device=dev))
        loss, sup, unsup = sgan.d_loss(self.D(x_lab), y_lab, self.D(x_unl), self.D(fake.detach()))
        values = {"d_loss": descend(self.optimizers["D's Adam"], loss), "sup_loss": float(sup.item()),
                  "unsup_loss": float(unsup.item())}
        with frozen(self.D):
            if self.config["g_loss"] == "feature-matching":
                g = gan_loss.feature_matching_loss(self.D.features(x_unl), self.D.features(fake), batch_mean)
            else:
                g = sgan.g_loss_nonsaturating(self.D(fake))
            values["g_loss"] = descend(self.optimizers["G's Adam"], g)
        return values

    def scored(self):
        """The classifier the test accuracy is measured on: D (SGAN) or C (--baseline), or its
        moving average under --ema."""
        return self.drawing("C" if self.config["baseline"] else "D")

    def postfix(self, values: dict) -> str:
        return " ".join(f"{k.replace('_loss', '')} {v:.3f}" for k, v in values.items())

    def epoch_end(self, run_dir, epoch: int) -> str:
        acc = test_accuracy(self.scored(), self.test_images, self.test_labels)
        note = f"test accuracy {acc:.4f} ({len(self.test_labels)} digits)"
        if not self.config["baseline"]:
            note += ", " + str(save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png",
                                         generate(self.drawing("G"), self.fixed_z), nrow=10))
        return note

    def finish(self, run_dir, metrics) -> dict:
        acc = test_accuracy(self.scored(), self.test_images, self.test_labels)
        if not self.config["baseline"]:
            save_grid(run_dir / "samples" / "final.png", generate(self.drawing("G"), self.fixed_z), nrow=10)
        what = "CNN baseline" if self.config["baseline"] else "SGAN"
        print(f"{what}, {self.config['labels']} labels: test accuracy {acc:.4f} on "
              f"{len(self.test_labels)} test digits")
        return {"test_accuracy": acc, "n_test": len(self.test_labels), "labels": self.config["labels"],
                "baseline": self.config["baseline"]}


def load_generator(path):
    """(G of an SGAN checkpoint on the CPU, the checkpoint); a baseline run has no G."""
    def build(config):
        if config["baseline"]:
            raise CheckpointError(f"{path} is a checkpoint of the CNN baseline (`train sgan "
                                  "--baseline`): it has no generator")
        return {"G": sgan.Generator(config["z_dim"])}
    # G does not depend on D's noise or the lr schedule: checkpoints from before those keys still load
    rules = {k: rule for k, rule in SGANJob.RULES.items() if k not in ("noise", "decay")}
    modules, checkpoint = load_checkpoint_modules(path, "sgan", rules, build, ["G"])
    return modules["G"], checkpoint


def load_sampler(path):
    """(sample(n, seed) -> images (n, 1, 28, 28), checkpoint meta, "mnist") for eval / sample."""
    G, checkpoint = load_generator(path)

    def sample(n, seed):
        z = Generator(seed).normal((n, G.z_dim))
        return np.concatenate([generate(G, z[s:s + 500]) for s in range(0, n, 500)])
    return sample, checkpoint.meta, "mnist"


def main(argv=None) -> int:
    """``python -m tinygan.train sgan [flags]``."""
    return loop_main(SGANJob, argv, description=__doc__)
