"""``python -m tinygan.train fair``: an adversarially fair representation (Edwards & Storkey;
Madras et al.) on the synthetic tabular task of :mod:`tinygan.data.fair_tabular`, on the shared loop.

Each step draws a batch of rows (x, y, a) and plays one round of

    min_{encoder, head} max_{adversary}  L_y - alpha L_a

with :class:`tinygan.optim.minimax.AlternatingMultiAscent` (``--n-dis`` adversary steps, then one
encoder / head step against the updated adversary; two Adams), the general form in which each
player minimises its own loss (:meth:`tinygan.models.fair.FairNet.player_losses`).
``--adv-weight 0`` is the unconstrained baseline (the adversary still trains, as an observer).

Measured on held-out rows after each epoch (``fairness.jsonl``) and at the end (``summary.json``):
task accuracy, the demographic-parity gap |P(yhat=1|a=1) - P(yhat=1|a=0)|, the game's adversary's
accuracy on a, and -- the honest test of what the representation still holds -- a *fresh* probe
(an MLP trained after the run on the frozen training representations, scored on the test rows).

``python -m tinygan.trainers.fair_curve RUN...`` draws accuracy against parity gap over runs with
different ``--adv-weight`` (the trade-off curve) and prints its table.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import backends, nn
from ..autograd import no_grad
from ..cli import _number, nonnegative_int, positive_float, positive_int
from ..creation import tensor
from ..data import BatchLoader
from ..data.fair_tabular import N_FEATURES, demographic_parity_gap, make_fair_task
from ..models.fair import FairNet
from ..ops import binary_cross_entropy_with_logits as _bce
from ..optim import Adam
from ..optim.minimax import AlternatingMultiAscent
from ..random import Generator
from .common import MetricsLog, UsageError
from .job import Job
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .rundir import POSITIVE, POSITIVE_INT, number_rule

STREAMS = ("init", "data", "probe")
DEFAULTS = {"adv_weight": 1.0, "steps": 2000, "batch_size": 128, "lr": 1e-3, "n_dis": 5,
            "hidden": 64, "rep": 16, "n_train": 8000, "n_test": 4000, "probe_steps": 500, "seed": 0}
DATA_SEEDS = (0, 1)            # train and test rows: fixed, the same task for every run


def _stream(seed: int, purpose: str) -> Generator:
    child = np.random.SeedSequence([int(seed) % 2**63, 1701 + STREAMS.index(purpose)])
    return Generator(int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)))


_nonnegative_float = _number(float, 0.0, what=">= 0")


def add_flags(p) -> None:
    g = p.add_argument_group("fair")
    g.add_argument("--adv-weight", type=_nonnegative_float, help="alpha, the adversary's weight (default 1; 0 = unconstrained)")
    g.add_argument("--steps", type=positive_int, help="training steps (default 2000)")
    g.add_argument("--batch-size", type=positive_int, help="rows per step (default 128)")
    g.add_argument("--lr", type=positive_float, help="both Adams' learning rate (default 1e-3)")
    g.add_argument("--n-dis", type=positive_int, help="adversary steps per encoder step (default 5)")
    g.add_argument("--hidden", type=positive_int, help="encoder's and adversary's hidden width (default 64)")
    g.add_argument("--rep", type=positive_int, help="representation size (default 16)")
    g.add_argument("--n-train", type=positive_int, help="training rows (default 8000)")
    g.add_argument("--n-test", type=positive_int, help="held-out rows (default 4000)")
    g.add_argument("--probe-steps", type=nonnegative_int, help="full-batch Adam steps of the final probe (default 500; 0 = none)")
    g.add_argument("--seed", type=int, help="seeds weights, batch order and the probe (default 0)")


def saved_config_rules() -> dict:
    return {"adv_weight": number_rule(0), "steps": POSITIVE_INT, "batch_size": POSITIVE_INT,
            "lr": POSITIVE, "n_dis": POSITIVE_INT, "hidden": POSITIVE_INT, "rep": POSITIVE_INT,
            "n_train": POSITIVE_INT, "n_test": POSITIVE_INT, "probe_steps": number_rule(0, kind=int),
            "seed": number_rule(-2**63, kind=int)}


def build(config: dict, generator=None) -> FairNet:
    return FairNet(N_FEATURES, hidden=(config["hidden"],), rep=config["rep"],
                   adv_hidden=(config["hidden"],), generator=generator)


def probe_attribute(h_train, a_train, h_test, a_test, steps: int, generator, hidden: int = 64) -> float:
    """Test accuracy of a fresh MLP (rep -> hidden -> 1) trained to predict a from frozen
    representations (full-batch Adam 3e-3, ``steps`` steps): what h still tells about a."""
    net = nn.Sequential(nn.Linear(h_train.shape[1], hidden, generator=generator), nn.ReLU(),
                        nn.Linear(hidden, 1, generator=generator))
    opt = Adam(net.parameters(), lr=3e-3)
    x, a = tensor(h_train), tensor(a_train.astype(np.float32))
    for _ in range(steps):
        loss = _bce(net(x).reshape(len(a_train)), a)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with no_grad():
        return float(((net(tensor(h_test)).numpy()[:, 0] > 0) == a_test).mean())


class FairJob(Job):
    """Encoder, task head and adversary on the synthetic task (module docstring)."""

    model = "fair"
    DEFAULTS = DEFAULTS
    RULES = saved_config_rules()
    MUTABLE_ON_RESUME = ()
    LOSS_KEYS = {"task_loss": "task loss", "adv_loss": "adversary loss"}
    add_flags = staticmethod(add_flags)

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, args.device
        self.x, self.y, self.a = make_fair_task(config["n_train"], DATA_SEEDS[0])
        self.xt, self.yt, self.at = make_fair_task(config["n_test"], DATA_SEEDS[1])
        B = config["batch_size"]
        if B > len(self.x):
            raise UsageError(f"--batch-size {B} is larger than the {len(self.x)} training rows")
        self.rngs = {name: _stream(config["seed"], name) for name in STREAMS}
        self.net = build(config, self.rngs["init"])
        self.net.to(self.device)
        self.optimizers = {"encoder's Adam": Adam(self.net.min_parameters(), lr=config["lr"]),
                           "adversary's Adam": Adam(self.net.max_parameters(), lr=config["lr"])}
        self.scheme = AlternatingMultiAscent(*self.optimizers.values(), n_dis=config["n_dis"])
        self.modules = {"FairNet": self.net}
        self.loader = BatchLoader(np.arange(len(self.x)), B, self.rngs["data"])
        self.batch_size, self.steps_per_epoch = B, len(self.loader)
        self.total_steps = config["steps"]

    def describe(self, steps: int) -> str:
        c = self.config
        return (f"fair: alpha {c['adv_weight']:g}, {len(self.x):,} training rows ({N_FEATURES} "
                f"features), {steps} steps x {self.batch_size}; alternating, {c['n_dis']} adversary "
                f"steps per encoder step, Adam lr {c['lr']:g}")

    def record(self) -> dict:
        return {"device": self.device, "backend": backends.current(self.device),
                "data": "tinygan.data.fair_tabular.make_fair_task", "data_seeds": list(DATA_SEEDS)}

    def states(self) -> dict:
        return {"scheme": self.scheme.state_dict(), "loader": self.loader.state_dict()}

    def load_states(self, states: dict) -> None:
        self.scheme.load_state_dict(states["scheme"])
        self.loader.load_state_dict(states["loader"])

    def step(self) -> dict:
        i = self.loader.next_batch()
        x = tensor(self.x[i], device=self.device)
        y = tensor(self.y[i].astype(np.float32), device=self.device)
        a = tensor(self.a[i].astype(np.float32), device=self.device)
        min_loss, max_loss, parts = self.net.player_losses(x, y, a, self.config["adv_weight"])
        values = self.scheme.step(min_loss, max_loss)
        return {**parts, **values}

    def postfix(self, values: dict) -> str:
        return (f"task {values['task_loss']:.3f} adv {values['adv_loss']:.3f} "
                f"adv-acc {values['adv_acc']:.2f}")

    def evaluate(self) -> dict:
        """Held-out task accuracy, parity gap and the game's adversary's accuracy."""
        with no_grad():
            xt = tensor(self.xt, device=self.device)
            h = self.net.represent(xt)
            y_hat = (self.net.head(h).to("cpu").numpy()[:, 0] > 0).astype(np.int64)
            a_hat = (self.net.adversary(h).to("cpu").numpy()[:, 0] > 0).astype(np.int64)
        return {"test_acc": float((y_hat == self.yt).mean()),
                "dp_gap": demographic_parity_gap(y_hat, self.at),
                "adv_acc_test": float((a_hat == self.at).mean())}

    def epoch_end(self, run_dir: Path, epoch: int) -> str:
        e = self.evaluate()
        with open(run_dir / "fairness.jsonl", "a") as f:
            f.write(json.dumps({"epoch": epoch, **e}) + "\n")
        return f"test acc {e['test_acc']:.3f}, parity gap {e['dp_gap']:.3f}, adversary acc {e['adv_acc_test']:.3f}"

    def finish(self, run_dir: Path, metrics: MetricsLog) -> dict:
        e = self.evaluate()
        if self.config["probe_steps"]:
            with no_grad():
                h_tr = self.net.represent(tensor(self.x, device=self.device)).to("cpu").numpy()
                h_te = self.net.represent(tensor(self.xt, device=self.device)).to("cpu").numpy()
            e["probe_acc"] = probe_attribute(h_tr, self.a, h_te, self.at, self.config["probe_steps"],
                                             _stream(self.config["seed"], "probe"))
        e["adv_weight"] = self.config["adv_weight"]
        print("held-out: " + ", ".join(f"{k} {v:.4f}" for k, v in e.items()))
        return e


def main(argv=None) -> int:
    """``python -m tinygan.train fair [flags]`` (module docstring)."""
    return loop_main(FairJob, argv, description=__doc__)


def load_model(path) -> tuple:
    """(FairNet with the checkpoint's weights on the CPU, checkpoint)."""
    modules, ckpt = load_checkpoint_modules(path, "fair", saved_config_rules(), lambda c: {"FairNet": build(c)})
    return modules["FairNet"], ckpt


def load_sampler(path):
    """``train fair`` trains a classifier and a representation, not a generator: a one-line
    ValueError saying where its numbers are."""
    _, ckpt = load_model(path)
    raise ValueError(f"{ckpt.path} is a checkpoint of `train fair`, not a generator: nothing to "
                     f"sample; its numbers are in the run's summary.json and fairness.jsonl")
