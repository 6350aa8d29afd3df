"""``python -m tinygan.train dann``: domain-adversarial training (Ganin & Lempitsky) from MNIST
(labelled source) to the UCI handwritten digits (unlabelled target), on the shared loop.

Each step draws a batch of labelled MNIST digits and a batch of UCI digits (their labels are never
read in training), sets the paper's schedules for progress p = step / steps --

    lambda_p = lambda_max (2 / (1 + exp(-10 p)) - 1)      (the gradient reversal's weight)
    mu_p = lr / (1 + 10 p)^0.75                           (--anneal paper; SGD momentum 0.9)
    mu_p = lr (1 + cos(pi p)) / 2                         (--anneal cosine: to zero at the end)

-- and takes one optimizer step on  L_y(source) + L_d(both domains through the reversal)
(:mod:`tinygan.models.dann`). ``--mode source-only`` drops the domain part: the baseline.

Every accuracy, the PCA features and :func:`load_model` use an exponential moving average of the
whole network's weights (``--ema 0.99``, the default: theta_ema <- 0.99 theta_ema + 0.01 theta
after each step, a mean over the last ~100 iterates: Polyak averaging, the "teacher" of
Tarvainen & Valpola's mean teacher, which French, Mackiewicz & Fisher 2018 carried to domain
adaptation -- here it only scores, it does not teach); ``--ema 0`` scores
the last iterate itself, which swings by several points from one epoch to the next late in the
game (README).

Data. Source: MNIST's training digits (the shipped 4,500, or full MNIST with --data-dir / the
cache); MNIST's test digits measure the source accuracy. Target: all 1,797 UCI digits
(``sklearn.datasets.load_digits``; scikit-learn is the ``sklearn`` extra), resampled as MNIST
was framed (``--uci-resample mnist``: 20x20 box, centre of mass at the centre; ``naive``: the 8x8
stretched to 28x28; :mod:`tinygan.data.uci_digits`). Unsupervised adaptation is transductive: the
target accuracy is measured on the same 1,797 unlabelled digits the run adapted to, with labels
used only for that measurement. ``--norm domain`` standardises each domain with its own pixel
mean and standard deviation (needs no target label); ``--norm source`` uses MNIST's for both.

Outputs (besides the loop's): ``accuracy.jsonl`` (per epoch: target and source-test accuracy),
``features_pca.png`` / ``.npz`` (the features of 1,000 source-test and 1,000 target digits
projected on their joint first two principal components) and ``summary.json`` (final accuracies).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import backends
from ..autograd import no_grad
from ..cli import positive_float, positive_int, probability
from ..creation import tensor
from ..data import BatchLoader, load_mnist
from ..data.uci_digits import load_uci_digits
from ..models.dann import DANN, annealed_lr, cosine_lr, grl_lambda
from ..optim import SGD, Adam
from ..random import Generator
from .common import MetricsLog, UsageError
from .dann_pictures import save_feature_pca
from .job import Job
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, check_same_data, data_digest, number_rule

MODES = ("dann", "source-only")
OPTIMIZERS = ("sgd", "adam")
NORMS = ("domain", "source")
RESAMPLES = ("mnist", "naive")
ANNEALS = ("paper", "cosine", "off")
STREAMS = ("init", "source", "target", "dropout")

DEFAULTS = {"mode": "dann", "steps": 2000, "batch_size": 64, "optimizer": "sgd", "lr": 0.01,
            "momentum": 0.9, "anneal": "paper", "lambda_max": 1.0, "gamma": 10.0,
            "domain_hidden": [256, 256], "dropout": 0.3, "uci_resample": "mnist",
            "norm": "domain", "seed": 0, "n_train": None, "ema": 0.99}


def _stream(seed: int, purpose: str) -> Generator:
    """An independent Generator per purpose (a SeedSequence child keyed by this trainer's list)."""
    child = np.random.SeedSequence([int(seed) % 2**63, 1700 + STREAMS.index(purpose)])
    return Generator(int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)))


def _widths(text: str) -> list:
    import argparse
    try:
        widths = [int(w) for w in text.split(",")] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 1024,1024, got {text!r}") from None
    if any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"widths must be >= 1, got {text!r}")
    return widths


def _schedule(config: dict) -> str:
    """The config's --anneal; checkpoints from before the cosine choice saved a bool (on = paper)."""
    anneal = config["anneal"]
    return anneal if isinstance(anneal, str) else ("paper" if anneal else "off")


def learning_rate(schedule: str, progress: float, lr0: float) -> float:
    """mu_p at progress p in [0, 1] under --anneal ``schedule`` (module docstring)."""
    if schedule == "paper":
        return annealed_lr(progress, lr0)
    return cosine_lr(progress, lr0) if schedule == "cosine" else lr0


def add_flags(p) -> None:
    g = p.add_argument_group("dann")
    g.add_argument("--mode", choices=MODES, help="dann, or source-only (the baseline) (default dann)")
    g.add_argument("--steps", type=positive_int, help="training steps (default 2000)")
    g.add_argument("--batch-size", type=positive_int, help="images per domain per step (default 64)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="sgd (momentum) or adam (default sgd)")
    g.add_argument("--lr", type=positive_float, help="initial learning rate mu_0 (default 0.01)")
    g.add_argument("--momentum", type=probability, help="SGD momentum (default 0.9)")
    g.add_argument("--anneal", choices=ANNEALS, help="learning-rate schedule: the paper's "
                   "mu_0/(1+10p)^0.75, cosine to zero, or off (default paper)")
    g.add_argument("--lambda-max", type=positive_float, help="the reversal's final weight (default 1)")
    g.add_argument("--gamma", type=positive_float, help="lambda schedule's gamma (default 10)")
    g.add_argument("--domain-hidden", type=_widths, help="domain classifier's hidden widths (default 256,256; the paper's SVHN one: 1024,1024)")
    g.add_argument("--dropout", type=probability, help="dropout on the features (default 0.3)")
    g.add_argument("--uci-resample", choices=RESAMPLES, help="UCI digits framed as MNIST, or stretched (default mnist)")
    g.add_argument("--norm", choices=NORMS, help="standardise each domain by its own statistics, or both by MNIST's (default domain)")
    g.add_argument("--seed", type=int, help="seeds weights, batch order and dropout (default 0)")
    g.add_argument("--n-train", type=positive_int, help="use only the first N MNIST training digits")
    g.add_argument("--data-dir", help="folder with MNIST's IDX files (default: cache, else the shipped subset)")


def saved_config_rules() -> dict:
    widths = lambda v: isinstance(v, list) and all(POSITIVE_INT(w) for w in v)  # noqa: E731
    return {"mode": lambda v: v in MODES, "steps": POSITIVE_INT, "batch_size": POSITIVE_INT,
            "optimizer": lambda v: v in OPTIMIZERS, "lr": POSITIVE, "momentum": UNIT_OPEN,
            "anneal": lambda v: v in ANNEALS or isinstance(v, bool), "lambda_max": POSITIVE, "gamma": POSITIVE,
            "domain_hidden": widths, "dropout": UNIT_OPEN, "uci_resample": lambda v: v in RESAMPLES,
            "norm": lambda v: v in NORMS, "seed": number_rule(-2**63, kind=int),
            "n_train": lambda v: v is None or POSITIVE_INT(v)}


def build(config: dict, generator=None, dropout_generator=None) -> DANN:
    return DANN(domain_hidden=tuple(config["domain_hidden"]), dropout=config["dropout"],
                generator=generator, dropout_generator=dropout_generator)


def _standardise(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - mean) / std)[:, None].astype(np.float32)


def load_domains(config: dict, data_dir=None, verbose: bool = True) -> dict:
    """The three image sets as model inputs (N, 1, 28, 28) float32 and their labels, standardised
    as ``config["norm"]`` says, with each domain's statistics."""
    train = load_mnist("train", data_dir=data_dir, verbose=verbose)
    test = load_mnist("test", data_dir=data_dir, verbose=verbose)
    src = train.images[:config["n_train"]] if config["n_train"] else train.images
    tgt, tgt_labels = load_uci_digits(config["uci_resample"])
    s_mean, s_std = float(src.mean() / 255.0), float((src / 255.0).std())
    t_mean, t_std = float(tgt.mean() / 255.0), float((tgt / 255.0).std())
    if config["norm"] == "source":
        t_mean, t_std = s_mean, s_std
    return {"source": _standardise(src, s_mean, s_std), "source_labels": train.labels[:len(src)].astype(np.int64),
            "source_test": _standardise(test.images, s_mean, s_std), "source_test_labels": test.labels.astype(np.int64),
            "target": _standardise(tgt, t_mean, t_std), "target_labels": tgt_labels.astype(np.int64),
            "digest": data_digest(src), "source_name": train.source, "n_source": len(src),
            "stats": {"source": [s_mean, s_std], "target": [t_mean, t_std]}}


def accuracy(model, images: np.ndarray, labels: np.ndarray, device="cpu", batch: int = 500) -> float:
    """Fraction of ``images`` whose argmax class is ``labels`` (eval mode, no dropout)."""
    was = model.training
    model.eval()
    hits = 0
    with no_grad():
        for s in range(0, len(images), batch):
            logits = model(tensor(images[s:s + batch], device=device)).to("cpu").numpy()
            hits += int((logits.argmax(1) == labels[s:s + batch]).sum())
    model.train(was)
    return hits / len(images)


def features(model, images: np.ndarray, device="cpu", batch: int = 500) -> np.ndarray:
    """G_f's features (N, 3136) in eval mode."""
    was = model.training
    model.eval()
    with no_grad():
        out = [model.features(tensor(images[s:s + batch], device=device)).to("cpu").numpy()
               for s in range(0, len(images), batch)]
    model.train(was)
    return np.concatenate(out)


class DANNJob(Job):
    """MNIST -> UCI digits, DANN or source-only (module docstring)."""

    model = "dann"
    DEFAULTS = DEFAULTS
    RULES = saved_config_rules()
    MUTABLE_ON_RESUME = ()
    EMA_OF = ("DANN",)      # --ema DECAY: accuracies, features and load_model use the average
    LOSS_KEYS = {"label_loss": "label loss", "domain_loss": "domain loss"}
    add_flags = staticmethod(add_flags)

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, args.device
        saved = checkpoint.meta.get("data") if checkpoint is not None else None
        data_dir = args.data_dir or (saved or {}).get("data_dir")
        try:
            self.data = load_domains(config, data_dir)
        except ImportError as exc:            # scikit-learn missing: one line naming the extra
            raise UsageError(f"train dann: {exc}") from None
        B = config["batch_size"]
        if B > min(len(self.data["source"]), len(self.data["target"])):
            raise UsageError(f"--batch-size {B} is larger than a domain ({len(self.data['source'])} "
                             f"MNIST, {len(self.data['target'])} UCI digits)")
        if checkpoint is not None:
            check_same_data(saved, self.data["digest"], self.data["n_source"],
                            self.data["source_name"], checkpoint)
        self.data_record = {"sha256": self.data["digest"], "n": self.data["n_source"],
                            "source": self.data["source_name"],
                            "data_dir": str(Path(data_dir).resolve()) if data_dir else None}
        seed = config["seed"]
        self.rngs = {name: _stream(seed, name) for name in STREAMS}
        self.net = build(config, self.rngs["init"], self.rngs["dropout"])
        self.net.to(self.device)
        params = self.net.parameters() if config["mode"] == "dann" else \
            list(self.net.features.parameters()) + list(self.net.classifier.parameters())
        if config["optimizer"] == "sgd":
            opt = SGD(params, lr=config["lr"], momentum=config["momentum"])
        else:
            opt = Adam(params, lr=config["lr"])
        self.opt = opt
        self.modules = {"DANN": self.net}
        self.optimizers = {f"{config['optimizer'].upper()}": opt}
        self.source = BatchLoader(np.arange(len(self.data["source"])), B, self.rngs["source"])
        self.target = BatchLoader(np.arange(len(self.data["target"])), B, self.rngs["target"])
        self.batch_size = B
        self.steps_per_epoch = len(self.source)
        self.total_steps = config["steps"]
        self.t = 0

    def describe(self, steps: int) -> str:
        c = self.config
        return (f"{c['mode']}: MNIST ({self.data['n_source']:,} labelled) -> UCI digits "
                f"({len(self.data['target']):,} unlabelled, {c['uci_resample']} framing, {c['norm']} "
                f"norm); {steps} steps x {self.batch_size} per domain; {c['optimizer']} lr {c['lr']}"
                f"{'' if _schedule(c) == 'off' else ' annealed (' + _schedule(c) + ')'}, domain classifier {c['domain_hidden']}")

    def record(self) -> dict:
        return {"data": self.data_record, "device": self.device, "backend": backends.current(self.device),
                "normalisation": self.data["stats"], "n_target": len(self.data["target"])}

    def meta(self) -> dict:
        return {"data": self.data_record}

    def states(self) -> dict:
        return {"optimizer": self.opt.state_dict(), "source": self.source.state_dict(),
                "target": self.target.state_dict(), "t": self.t,
                "dropout_rng": self.rngs["dropout"].get_state()}

    def load_states(self, states: dict) -> None:
        self.opt.load_state_dict(states["optimizer"])
        self.source.load_state_dict(states["source"])
        self.target.load_state_dict(states["target"])
        self.rngs["dropout"].set_state(states["dropout_rng"])
        self.t = int(states["t"])

    def step(self) -> dict:
        c = self.config
        p = self.t / self.total_steps
        lr = learning_rate(_schedule(c), p, c["lr"])
        for group in self.opt.param_groups:
            group["lr"] = lr
        lam = grl_lambda(p, c["gamma"], c["lambda_max"])
        self.net.reversal.lambda_ = lam
        i, d = self.source.next_batch(), self.data
        xs = tensor(d["source"][i], device=self.device)
        ys = tensor(d["source_labels"][i], device=self.device)
        xt = tensor(d["target"][self.target.next_batch()], device=self.device) \
            if c["mode"] == "dann" else None
        loss, parts = self.net.losses(xs, ys, xt)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.t += 1
        return {**parts, "lambda": lam, "lr": lr}

    def postfix(self, values: dict) -> str:
        text = f"y {values['label_loss']:.3f} acc {values['source_acc']:.2f}"
        if "domain_loss" in values:
            text += f" d {values['domain_loss']:.3f} d-acc {values['domain_acc']:.2f} lam {values['lambda']:.2f}"
        return text

    def accuracies(self) -> dict:
        """Target and source-test accuracy of the network (of its moving average under --ema)."""
        d, net = self.data, self.drawing("DANN")
        return {"target_acc": accuracy(net, d["target"], d["target_labels"], self.device),
                "source_test_acc": accuracy(net, d["source_test"], d["source_test_labels"], self.device)}

    def epoch_end(self, run_dir: Path, epoch: int) -> str:
        acc = self.accuracies()
        with open(run_dir / "accuracy.jsonl", "a") as f:
            f.write(json.dumps({"epoch": epoch, "step": self.t, **acc}) + "\n")
        return f"target acc {acc['target_acc']:.3f}, MNIST test acc {acc['source_test_acc']:.3f}"

    def finish(self, run_dir: Path, metrics: MetricsLog) -> dict:
        acc = self.accuracies()
        d = self.data
        rng = np.random.default_rng(0)
        si = rng.choice(len(d["source_test"]), min(1000, len(d["source_test"])), replace=False)
        ti = rng.choice(len(d["target"]), 1000, replace=False)
        net = self.drawing("DANN")
        fs, ft = features(net, d["source_test"][si], self.device), features(net, d["target"][ti], self.device)
        title = f"{self.config['mode']}: target acc {acc['target_acc']:.3f}"
        save_feature_pca(run_dir / "features_pca.png", run_dir / "features_pca.npz", fs, ft,
                         d["source_test_labels"][si], d["target_labels"][ti], title)
        print(f"target (UCI digits) accuracy {acc['target_acc']:.4f}, MNIST test accuracy "
              f"{acc['source_test_acc']:.4f}")
        return acc


def main(argv=None) -> int:
    """``python -m tinygan.train dann [flags]`` (module docstring)."""
    return loop_main(DANNJob, argv, description=__doc__)


def load_sampler(path):
    """``train dann`` trains a classifier, not a generator: there is nothing to sample. A one-line
    ValueError that says where its numbers are (``python -m tinygan.eval`` / ``sample`` print it)."""
    modules, ckpt = load_checkpoint_modules(path, "dann", saved_config_rules(), lambda c: {"DANN": build(c)})
    raise ValueError(f"{ckpt.path} is a checkpoint of `train dann`, a classifier, not a generator: "
                     f"nothing to sample; its accuracies are in the run's summary.json and "
                     f"accuracy.jsonl (load it with tinygan.trainers.dann.load_model)")


def load_model(path) -> tuple:
    """(DANN with the checkpoint's weights on the CPU -- its moving average's under --ema --,
    checkpoint)."""
    modules, ckpt = load_checkpoint_modules(path, "dann", saved_config_rules(), lambda c: {"DANN": build(c)})
    return modules["DANN"], ckpt
