"""``python -m tinygan.train stackgan [flags]``: Stacked GAN on MNIST (Huang et al. 2017; networks
and losses in :mod:`tinygan.models.stackgan`).

    python -m tinygan.train stackgan                # 22 epochs of the 4,500 shipped digits
    python -m tinygan.sample runs/stackgan-... --out grid.png   python -m tinygan.eval runs/stackgan-...

One run, three phases, each a whole number of epochs (by step count, so ``--resume`` continues
in the right phase, across a boundary too):

1. ``--encoder-epochs`` (1): the encoder stack E_0(E_1(x)) is trained as a classifier
   (cross-entropy, its own Adam, lr 1e-3), then frozen.
2. ``--independent-epochs`` (10): each level's GAN on its own, conditioned on *real*
   representations: G_1 on h_1 = E_1(x) of the real batch, G_0 on the batch's labels y.
3. the rest of ``--epochs`` (22 in all): *joint* training, end to end: x~ = G_1(G_0(y, z_0), z_1),
   D_0 judging G_0's features against E_1(x), D_1 judging x~ against x; one G step updates both
   generators with the sum of the two levels' losses (level 1's conditional target h~_1 is held
   fixed: it steers G_1, not G_0).

Level 0 (the small nets on features, G_0 and D_0) learns at ``--lr0`` = 1e-3, level 1 at ``--lr``
= 2e-4; ``--lambda-cond`` and ``--lambda-ent`` are 1 (the README's Stacked GAN section says why).
Per level and step: one Adam step of D_i (BCE real / fake + ``--lambda-ent`` x the entropy term
of its posterior head on the fakes) and of G_i (non-saturating BCE + ``--lambda-cond`` x the
conditional loss + ``--lambda-ent`` x the entropy loss).

A run writes the shared loop's files, after each GAN epoch ``samples/epoch_XXX.png``: a 10 x 10
grid, row = class, column = one fixed (z_0, z_1); at the end ``samples/final.png``,
``losses.png`` and, in ``summary.json``, the encoder's accuracy on the test digits and the LeNet
label accuracy of 1,000 generated digits (100 per class).
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..cli import positive_float, positive_int
from ..creation import tensor
from ..data import BatchLoader, to_model_input
from ..models import stackgan
from ..nn.gan_loss import discriminator_loss, generator_loss
from ..optim import Adam
from ..random import Generator
from ..viz import save_grid
from ..viz import save_curves
from .common import UsageError, frozen, stream
from .labelled import descend, label_accuracy, load_digits, load_test_digits, set_lr
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .rundir import POSITIVE, POSITIVE_INT, number_rule
from .staged import RULES, StagedJob, add_common_flags, batch_statistics, epochs_for

ENCODER_LR = 1e-3
EVAL_PER_CLASS = 100           # the final LeNet label accuracy: 10 x 100 generated digits
DEFAULTS = dict(batch_size=64, lr=2e-4, lr0=1e-3, betas=(0.5, 0.999), seed=0, h_dim=stackgan.H_DIM, epochs=None,
                encoder_epochs=1, independent_epochs=10, lambda_cond=1.0, lambda_ent=1.0, n_train=None)
NONNEG_INT = number_rule(0, kind=int)
NONNEG = number_rule(0)


def add_flags(p) -> None:
    add_common_flags(p, "Adam learning rate of level 1, G_1 and D_1 (default 2e-4)")
    p.add_argument("--lr0", type=positive_float, help="Adam learning rate of level 0, G_0 and D_0 (default 1e-3)")
    p.add_argument("--encoder-epochs", type=positive_int, help="phase 1: the encoder (default 1)")
    p.add_argument("--independent-epochs", type=int, help="phase 2: the levels apart (default 10)")
    p.add_argument("--h-dim", type=positive_int, help=f"size of the features h_1 (default {stackgan.H_DIM})")
    p.add_argument("--lambda-cond", type=float, help="weight of the conditional loss (default 1)")
    p.add_argument("--lambda-ent", type=float, help="weight of the entropy loss (default 1)")


def draw(G, y, rng: Generator):
    """(one-hot y, z_0, z_1) arrays for integer labels ``y``, the noise drawn from ``rng``."""
    n = len(y)
    return (np.eye(stackgan.NUM_CLASSES, dtype=np.float32)[y], rng.normal((n, G.z_dims[0])),
            rng.normal((n, G.z_dims[1])))


def generate(G, y, rng: Generator, batch: int = 500) -> np.ndarray:
    """x~ = G_1(G_0(y, z_0), z_1) (numpy (N, 1, 28, 28)) for integer labels y, under no_grad."""
    inputs = draw(G, np.asarray(y), rng)
    device = next(G.parameters()).device
    with batch_statistics(G):
        out = [G(*[tensor(np.asarray(a[s:s + batch], np.float32), device=device) for a in inputs])[1]
               .to("cpu").numpy() for s in range(0, len(y), batch)]
    return np.concatenate(out)


def class_grid(G, seed: int, columns: int = 10) -> np.ndarray:
    """10 x ``columns`` digits: row c is class c, column j one fixed (z_0, z_1)."""
    rng = stream(seed, "samples")
    z0, z1 = rng.normal((columns, G.z_dims[0])), rng.normal((columns, G.z_dims[1]))
    y = np.repeat(np.arange(stackgan.NUM_CLASSES), columns)
    inputs = [np.eye(stackgan.NUM_CLASSES, dtype=np.float32)[y], np.tile(z0, (10, 1)), np.tile(z1, (10, 1))]
    with batch_statistics(G):
        return G(*[tensor(np.asarray(a, np.float32), device=next(G.parameters()).device)
                   for a in inputs])[1].to("cpu").numpy()


class StackGANJob(StagedJob):
    """Stacked GAN on MNIST: the encoder, then two GANs apart, then together."""

    model = "stackgan"
    DEFAULTS = DEFAULTS
    RULES = {**RULES, "lr0": POSITIVE, "h_dim": POSITIVE_INT, "encoder_epochs": POSITIVE_INT,
             "independent_epochs": NONNEG_INT, "lambda_cond": NONNEG, "lambda_ent": NONNEG}
    LOSS_KEYS = {"e_loss": "encoder loss", "d_loss_0": "D_0 loss", "g_loss_0": "G_0 loss",
                 "d_loss_1": "D_1 loss", "g_loss_1": "G_1 loss"}
    MUTABLE_ON_RESUME = ("lr", "lr0")
    add_flags = staticmethod(add_flags)

    @classmethod
    def given(cls, args) -> dict:
        given = super().given(args)
        for flag in ("independent_epochs", "lambda_cond", "lambda_ent"):
            if flag in given and not given[flag] >= 0:
                raise UsageError(f"--{flag.replace('_', '-')} must be >= 0, got {given[flag]}")
        return given

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, getattr(args, "device", "cpu")
        seed, B = config["seed"], config["batch_size"]
        self.images, self.labels, self.data = load_digits(args, checkpoint, config["n_train"], B)
        self.data_dir = self.data["data_dir"]
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "z")}
        self.E, self.G, self.D = stackgan.build(config["h_dim"], generator=self.rngs["init"])
        for m in (self.E, self.G, self.D):
            m.to(self.device)
        opt, betas = dict(lr=config["lr"], betas=tuple(config["betas"])), tuple(config["betas"])
        self.optimizers = {"E's Adam": Adam(self.E.parameters(), lr=ENCODER_LR),
                           "G_0's Adam": Adam(self.G.level0.parameters(), lr=config["lr0"], betas=betas),
                           "D_0's Adam": Adam(self.D.level0.parameters(), lr=config["lr0"], betas=betas),
                           "G_1's Adam": Adam(self.G.level1.parameters(), **opt),
                           "D_1's Adam": Adam(self.D.level1.parameters(), **opt)}
        self.modules = {"E": self.E, "G": self.G, "D": self.D}
        self.loader = BatchLoader(np.arange(len(self.images)), B, self.rngs["data"])
        self.batch_size, self.steps_per_epoch = B, len(self.loader)
        self.epochs = epochs_for(config, self.steps_per_epoch * B)
        e, i = config["encoder_epochs"], config["independent_epochs"]
        if e + i > self.epochs:
            raise UsageError(f"--encoder-epochs {e} + --independent-epochs {i} exceed --epochs {self.epochs}")
        self.phase_ends = (e * self.steps_per_epoch, (e + i) * self.steps_per_epoch)
        self.total_steps = self.epochs * self.steps_per_epoch
        self.steps_done = 0

    def phase(self, step: int) -> str:
        """"encoder", "independent" or "joint" for 0-based step ``step``."""
        return ("encoder" if step < self.phase_ends[0] else
                "independent" if step < self.phase_ends[1] else "joint")

    def describe(self, steps: int) -> str:
        c = self.config
        return (f"Stacked GAN (h_1 of {c['h_dim']}): {self.data['n']:,} labelled training digits, "
                f"{self.length(steps)} x {self.batch_size} = {steps * self.batch_size:,} images: encoder "
                f"{c['encoder_epochs']} epochs, levels apart {c['independent_epochs']}, joint the "
                f"rest; lambda_cond {c['lambda_cond']}, lambda_ent {c['lambda_ent']}")

    def record(self) -> dict:
        return {**super().record(), "phase_ends": list(self.phase_ends)}

    def meta(self) -> dict:
        return {**super().meta(), "phase": self.phase(max(self.steps_done - 1, 0))}

    def states(self) -> dict:
        return {**super().states(), "steps_done": self.steps_done}

    def load_states(self, states: dict) -> None:
        super().load_states(states)
        self.steps_done = int(states["steps_done"])

    def set_lrs(self) -> None:
        set_lr([self.optimizers[k] for k in ("G_1's Adam", "D_1's Adam")], self.config["lr"])
        set_lr([self.optimizers[k] for k in ("G_0's Adam", "D_0's Adam")], self.config["lr0"])

    # ----- the step ------------------------------------------------------------------------------
    def step(self) -> dict:
        phase = self.phase(self.steps_done)
        idx = self.loader.next_batch()
        x = tensor(to_model_input(self.images[idx]), device=self.device)
        y = self.labels[idx]
        if phase == "encoder":
            loss = stackgan.label_condition_loss(self.E(x), tensor(y, device=self.device))
            values = {"e_loss": descend(self.optimizers["E's Adam"], loss)}
        else:
            values = self._gan_step(x, y, joint=phase == "joint")
        self.steps_done += 1
        return values

    def _gan_step(self, x, y, joint: bool) -> dict:
        T = lambda a: tensor(np.asarray(a, np.float32), device=self.device)      # noqa: E731
        c = self.config
        onehot, z0, z1 = (T(a) for a in draw(self.G, y, self.rngs["z"]))
        with no_grad():
            h_real = self.E.encode(x)                   # E_1 is frozen after phase 1
        h_fake = self.G.level0(onehot, z0)
        x_fake = self.G.level1(h_fake if joint else h_real, z1)
        levels = [(self.D.level0, h_real, h_fake, z0), (self.D.level1, x, x_fake, z1)]
        values = {}
        for i, (D, real, fake, z) in enumerate(levels):       # the discriminators, each on its own
            logits_real, _ = D(real)
            logits_fake, recovered = D(fake.detach())
            loss = discriminator_loss(logits_real, logits_fake) + \
                c["lambda_ent"] * stackgan.entropy_loss(recovered, z)
            values[f"d_loss_{i}"] = descend(self.optimizers[f"D_{i}'s Adam"], loss)
        with frozen(self.D), frozen(self.E):
            condition = (stackgan.label_condition_loss(self.E.classify(h_fake), tensor(y, device=self.device)),
                         stackgan.feature_condition_loss(self.E.encode(x_fake),
                                                         h_fake.detach() if joint else h_real))
            losses = []
            for i, (D, _, fake, z) in enumerate(levels):
                logits, recovered = D(fake)
                ent = stackgan.entropy_loss(recovered, z)
                losses.append(generator_loss(logits) + c["lambda_cond"] * condition[i] + c["lambda_ent"] * ent)
                values.update({f"cond_loss_{i}": float(condition[i].item()), f"ent_loss_{i}": float(ent.item())})
            if joint:      # one backward through G_1 and G_0 together
                for i in (0, 1):
                    self.optimizers[f"G_{i}'s Adam"].zero_grad()
                (losses[0] + losses[1]).backward()
                for i in (0, 1):
                    self.optimizers[f"G_{i}'s Adam"].step()
                    values[f"g_loss_{i}"] = float(losses[i].item())
            else:
                for i in (0, 1):
                    values[f"g_loss_{i}"] = descend(self.optimizers[f"G_{i}'s Adam"], losses[i])
        return values

    def postfix(self, values: dict) -> str:
        if "e_loss" in values:
            return f"encoder CE {values['e_loss']:.3f}"
        return " ".join(f"D/G_{i} {values[f'd_loss_{i}']:.2f}/{values[f'g_loss_{i}']:.2f}" for i in (0, 1))

    def encoder_accuracy(self) -> float:
        """E_0(E_1(x)) on the test digits of the training digits' source."""
        images, labels = load_test_digits(self.data_dir)
        with no_grad():
            logits = np.concatenate([self.E(tensor(to_model_input(images[s:s + 500]), device=self.device))
                                     .to("cpu").numpy() for s in range(0, len(images), 500)])
        return float((logits.argmax(1) == labels).mean())

    def epoch_end(self, run_dir, epoch: int) -> str:
        if epoch * self.steps_per_epoch <= self.phase_ends[0]:
            return f"encoder test accuracy {self.encoder_accuracy():.3f}"
        path = save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png", class_grid(self.G, self.config["seed"]),
                         nrow=10)
        return f"{path} ({self.phase(self.steps_done - 1)})"

    def finish(self, run_dir, metrics) -> dict:
        curves = {name: metrics.series(key) for key, name in self.LOSS_KEYS.items() if key != "e_loss"}
        if all(curves.values()):
            save_curves(run_dir / "losses.png", curves, title="Stacked GAN losses (after the encoder)",
                        xlabel="GAN step", ylabel="loss")
        save_grid(run_dir / "samples" / "final.png", class_grid(self.G, self.config["seed"]), nrow=10)
        labels = np.tile(np.arange(stackgan.NUM_CLASSES), EVAL_PER_CLASS)
        acc = label_accuracy(generate(self.G, labels, Generator(self.config["seed"] + 1)), labels)
        enc = self.encoder_accuracy()
        print(f"encoder test accuracy {enc:.4f}; LeNet label accuracy of {len(labels):,} generated digits: {acc:.4f}")
        return {"encoder_test_accuracy": enc, "label_accuracy": acc, "label_accuracy_digits": len(labels)}


def build_networks(config: dict) -> dict:
    """{"G": StackedGenerator} of a checkpoint's config, on the CPU (for sample / eval)."""
    return {"G": stackgan.StackedGenerator(config["h_dim"])}


def load_generator(path):
    """(StackedGenerator with the checkpoint's weights, the checkpoint)."""
    modules, checkpoint = load_checkpoint_modules(path, "stackgan", StackGANJob.RULES, build_networks, ["G"])
    return modules["G"], checkpoint


def load_sampler(path):
    """(sample(n, seed) -> images (n, 1, 28, 28), checkpoint meta, "mnist"): the classes in turn."""
    G, checkpoint = load_generator(path)
    return (lambda n, seed: generate(G, np.arange(n) % stackgan.NUM_CLASSES, Generator(seed))), \
        checkpoint.meta, "mnist"


def main(argv=None) -> int:
    """``python -m tinygan.train stackgan [flags]``."""
    return loop_main(StackGANJob, argv, description=__doc__)
