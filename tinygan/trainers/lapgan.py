"""``python -m tinygan.train lapgan [flags]``: LAPGAN on MNIST, a Laplacian pyramid of GANs
(Denton et al. 2015; networks in :mod:`tinygan.models.lapgan`).

    python -m tinygan.train lapgan                  # 22 epochs of the 4,500 shipped digits, 98,560 images
    python -m tinygan.sample runs/lapgan-... --out grid.png   python -m tinygan.eval runs/lapgan-...

The three levels are trained *jointly*, in one loop: each step draws one real batch, splits it
with the Laplacian pyramid (:class:`tinygan.linops.LaplacianPyramid`: coarse I_2 at 7 x 7,
residuals h_1 at 14 x 14 and h_0 at 28 x 28) and takes, level by level, one Adam step of D and one
of G with that level's own two optimizers (six in all). Every level trains on *real* coarser
images, as in the paper: G_14 is conditioned on u I_2 of real digits, G_28 on u I_1, never on
generated ones; the levels meet only when sampling. Each D step minimises
BCE(D(real), 1) + BCE(D(fake), 0), each G step the non-saturating BCE(D(fake), 1)
(:mod:`tinygan.nn.gan_loss`); for the residual levels D's inputs are the pairs (l, h).

A run writes the shared loop's files (``config.json``, ``metrics.jsonl`` with each level's losses,
checkpoints, ``summary.json``), ``samples/epoch_XXX.png`` (8 x 8 digits from fixed noise) after
every epoch and at the end ``samples/final.png``, ``losses.png`` and the pyramid pictures
``pyramid_real.png`` / ``pyramid_generated.png``: one digit a row, columns I_2, h_1, I_1, h_0, I_0
(each enlarged to 28 x 28 by repeating pixels; residuals drawn x2 around mid-gray = 0).
Generated digits are clipped to [-1, 1] (the sum u I~ + h~ can overshoot a little).
"""
from __future__ import annotations

import numpy as np

from ..cli import positive_int
from ..creation import tensor
from ..data import BatchLoader, to_model_input
from ..linops.pyramid import LaplacianPyramid, up
from ..models import lapgan
from ..nn.gan_loss import discriminator_loss, generator_loss
from ..optim import Adam
from ..random import Generator
from ..viz import save_grid
from ..viz import save_curves
from .common import UsageError, frozen, stream
from .labelled import descend, load_digits, set_lr
from .loop import main as loop_main
from .resume import load_checkpoint_modules
from .rundir import POSITIVE_INT
from .staged import RULES, StagedJob, add_common_flags, batch_statistics, epochs_for

N_SAMPLES = 64                 # the per-epoch grid: 8 x 8 digits from fixed noise
N_PYRAMID = 8                  # rows of the pyramid pictures
RESIDUAL_GAIN = 2.0            # residuals are drawn x2 in the pyramid pictures
SIDES = (7, 14, 28)            # the levels, coarse to fine: their names in metrics and optimizers
DEFAULTS = dict(batch_size=64, lr=2e-4, betas=(0.5, 0.999), seed=0, z_dim=100, width=lapgan.WIDTH,
                epochs=None, n_train=None)


def add_flags(p) -> None:
    add_common_flags(p, "Adam learning rate of all six optimizers (default 2e-4)")
    p.add_argument("--z-dim", type=positive_int, help="latent size of the 7 x 7 generator (default 100)")
    p.add_argument("--width", type=positive_int, help=f"channels of the residual nets (default {lapgan.WIDTH})")


def noise(rng: Generator, G, n: int) -> list:
    """(z_7, z_14, z_28) for ``n`` samples, drawn from ``rng`` in that order."""
    return [rng.normal(shape) for shape in G.noise_shapes(n)]


def generate_levels(G, zs, batch: int = 500) -> list:
    """[I~_2, I~_1, I~_0] (numpy, coarse to fine) of noise ``zs`` under no_grad, in batches. G_7's
    BatchNorm normalises with each batch's statistics (training mode, as the DCGAN's samples);
    its running statistics and G's mode are left as they were."""
    device = next(G.parameters()).device
    out = [[] for _ in SIDES]
    with batch_statistics(G):
        for s in range(0, len(zs[0]), batch):
            images = G(*[tensor(np.asarray(z[s:s + batch], np.float32), device=device) for z in zs])
            for k, image in enumerate(images):
                out[k].append(image.to("cpu").numpy())
    return [np.concatenate(o) for o in out]


def real_levels(x: np.ndarray) -> list:
    """[I_2, I_1, I_0] of real digits x (N, 1, 28, 28): the pyramid's Gaussian levels."""
    _, h1, coarse = _split(x)
    middle = up(coarse.shape, coarse.dtype).apply(coarse) + h1
    return [coarse, middle, x]


def _split(x: np.ndarray) -> list:
    """[h_0, h_1, I_2] of a batch by the pyramid's analysis."""
    A = LaplacianPyramid(x.shape, len(SIDES), dtype=x.dtype)
    return A.split(A.apply(x))


def pyramid_picture(path, levels: list):
    """One digit a row: I_2, h_1, I_1, h_0, I_0, each enlarged to 28 x 28 (see the module doc)."""
    columns = [levels[0]]
    for coarse, fine in zip(levels, levels[1:]):
        residual = fine - up(coarse.shape, coarse.dtype).apply(coarse)
        columns += [RESIDUAL_GAIN * residual, fine]
    big = [np.kron(c, np.ones((1, 1, SIDES[-1] // c.shape[-1], SIDES[-1] // c.shape[-1]), c.dtype))
           for c in columns]
    tiles = np.stack(big, axis=1).reshape((-1,) + big[0].shape[1:])
    return save_grid(path, np.clip(tiles, -1, 1), nrow=len(columns))


class LAPGANJob(StagedJob):
    """LAPGAN on MNIST: three GANs of the Laplacian pyramid trained jointly, six Adams."""

    model = "lapgan"
    DEFAULTS = DEFAULTS
    RULES = {**RULES, "z_dim": POSITIVE_INT, "width": lambda v: POSITIVE_INT(v) and v >= 2}
    LOSS_KEYS = {f"{p}_loss_{s}": f"{p.upper()}_{s} loss" for s in SIDES for p in ("d", "g")}
    add_flags = staticmethod(add_flags)

    @classmethod
    def given(cls, args) -> dict:
        given = super().given(args)
        if given.get("width", 2) < 2:
            raise UsageError(f"--width must be at least 2, got {given['width']}")
        return given

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, getattr(args, "device", "cpu")
        seed, B = config["seed"], config["batch_size"]
        self.images, _, self.data = load_digits(args, checkpoint, config["n_train"], B)
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "z")}
        self.G, self.D = lapgan.build(config["z_dim"], config["width"], generator=self.rngs["init"])
        self.G.to(self.device), self.D.to(self.device)
        self.pairs = list(zip(SIDES, [self.G.coarse, *self.G.residuals], [self.D.coarse, *self.D.residuals]))
        opt = dict(lr=config["lr"], betas=tuple(config["betas"]))
        self.optimizers = {}
        for side, G, D in self.pairs:
            self.optimizers[f"G_{side}'s Adam"] = Adam(G.parameters(), **opt)
            self.optimizers[f"D_{side}'s Adam"] = Adam(D.parameters(), **opt)
        self.modules = {"G": self.G, "D": self.D}
        self.loader = BatchLoader(np.arange(len(self.images)), B, self.rngs["data"])
        self.batch_size, self.steps_per_epoch = B, len(self.loader)
        self.epochs = epochs_for(config, self.steps_per_epoch * B)
        self.total_steps = self.epochs * self.steps_per_epoch
        self.fixed = noise(stream(seed, "samples"), self.G, N_SAMPLES)

    def describe(self, steps: int) -> str:
        c = self.config
        return (f"LAPGAN (levels 7/14/28 trained jointly, residual nets {c['width']} wide): "
                f"{self.data['n']:,} training digits, {self.length(steps)} x {self.batch_size} = "
                f"{steps * self.batch_size:,} images; Adam lr {c['lr']} betas {tuple(c['betas'])}")

    def set_lrs(self) -> None:
        set_lr(self.optimizers.values(), self.config["lr"])

    def step(self) -> dict:
        """One D step and one G step per level, coarse to fine, on one real batch."""
        dev, B = self.device, self.batch_size
        x = to_model_input(self.images[self.loader.next_batch()])
        h0, h1, coarse = _split(x)
        lows = [up(coarse.shape, x.dtype).apply(coarse)]
        lows.append(up(lows[0].shape, x.dtype).apply(lows[0] + h1))
        zs = noise(self.rngs["z"], self.G, B)
        T = lambda a: tensor(a, device=dev)                                         # noqa: E731
        values = {}
        for k, (side, G, D) in enumerate(self.pairs):
            if k == 0:
                real, fake = (T(coarse),), (G(T(zs[0])),)
            else:
                low = T(lows[k - 1])
                real, fake = (low, T((h1, h0)[k - 1])), (low, G(low, T(zs[k])))
            d_out = discriminator_loss(D(*real), D(*fake[:-1], fake[-1].detach()))
            values[f"d_loss_{side}"] = descend(self.optimizers[f"D_{side}'s Adam"], d_out)
            with frozen(D):
                values[f"g_loss_{side}"] = descend(self.optimizers[f"G_{side}'s Adam"],
                                                   generator_loss(D(*fake)))
        return values

    def postfix(self, values: dict) -> str:
        return " ".join(f"D/G_{s} {values[f'd_loss_{s}']:.2f}/{values[f'g_loss_{s}']:.2f}" for s in SIDES)

    def epoch_end(self, run_dir, epoch: int) -> str:
        images = np.clip(generate_levels(self.G, self.fixed)[-1], -1, 1)
        return str(save_grid(run_dir / "samples" / f"epoch_{epoch:03d}.png", images, nrow=8))

    def finish(self, run_dir, metrics) -> dict:
        curves = {name: metrics.series(key) for key, name in self.LOSS_KEYS.items()}
        if all(curves.values()):
            save_curves(run_dir / "losses.png", curves, title="LAPGAN losses per level",
                        xlabel="step", ylabel="BCE")
        levels = generate_levels(self.G, self.fixed)
        save_grid(run_dir / "samples" / "final.png", np.clip(levels[-1], -1, 1), nrow=8)
        pyramid_picture(run_dir / "pyramid_generated.png", [v[:N_PYRAMID] for v in levels])
        x = to_model_input(self.images[:N_PYRAMID])
        pyramid_picture(run_dir / "pyramid_real.png", real_levels(x))
        return {}


def build_networks(config: dict) -> dict:
    """{"G": LaplacianGenerator} of a checkpoint's config, on the CPU (for sample / eval)."""
    return {"G": lapgan.LaplacianGenerator(config["z_dim"], config["width"])}


def load_generator(path):
    """(LaplacianGenerator with the checkpoint's weights, the checkpoint)."""
    modules, checkpoint = load_checkpoint_modules(path, "lapgan", LAPGANJob.RULES, build_networks, ["G"])
    return modules["G"], checkpoint


def load_sampler(path):
    """(sample(n, seed) -> images (n, 1, 28, 28) in [-1, 1], checkpoint meta, "mnist")."""
    G, checkpoint = load_generator(path)

    def sample(n, seed):
        return np.clip(generate_levels(G, noise(Generator(seed), G, n))[-1], -1, 1)
    return sample, checkpoint.meta, "mnist"


def main(argv=None) -> int:
    """``python -m tinygan.train lapgan [flags]``."""
    return loop_main(LAPGANJob, argv, description=__doc__)
