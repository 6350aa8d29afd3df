"""What the staged generators' trainers (``train lapgan``, ``train stackgan``) share: their common
flags and config rules, the bookkeeping half of their jobs (:class:`StagedJob`), and drawing from
a generator with training-mode BatchNorm without disturbing its running statistics."""
from __future__ import annotations

from contextlib import contextmanager

from ..autograd import no_grad
from ..cli import positive_float, positive_int
from .job import Job
from .rundir import POSITIVE, POSITIVE_INT, UNIT_OPEN, number_rule

TARGET_IMAGES = 100_000        # the default length: 22 epochs of 4,480 images

RULES = {"batch_size": POSITIVE_INT, "lr": POSITIVE, "seed": number_rule(-2**63, kind=int),
         "betas": lambda v: isinstance(v, list) and len(v) == 2 and all(map(UNIT_OPEN, v)),
         "epochs": lambda v: v is None or POSITIVE_INT(v),
         "n_train": lambda v: v is None or POSITIVE_INT(v)}


def add_common_flags(p, lr_help: str) -> None:
    """--batch-size, --epochs, --lr, --betas, --n-train, --data-dir."""
    p.add_argument("--batch-size", type=positive_int, help="default 64")
    p.add_argument("--epochs", type=positive_int, help=f"default: enough for ~{TARGET_IMAGES:,} images")
    p.add_argument("--lr", type=positive_float, help=lr_help)
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="default 0.5 0.999")
    p.add_argument("--n-train", type=positive_int, help="train on the first N digits only")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (default: cache, else shipped subset)")


def epochs_for(config: dict, images_per_epoch: int) -> int:
    """``--epochs``, else enough epochs for about TARGET_IMAGES images."""
    return config["epochs"] or max(1, round(TARGET_IMAGES / images_per_epoch))


@contextmanager
def batch_statistics(G):
    """Inside: G in training mode under no_grad (BatchNorm normalises with each batch's statistics,
    as the DCGAN's samples do); on leaving, G's running statistics and mode are as before."""
    was_training, buffers = G.training, [(b, b.data.copy()) for b in G.buffers()]
    G.train(True)
    try:
        with no_grad():
            yield G
    finally:
        for b, saved in buffers:
            b.data[...] = saved
        G.train(was_training)


class StagedJob(Job):
    """The parts of ``train lapgan``'s and ``train stackgan``'s jobs that are the same: the data
    record, the length line, and what a checkpoint holds besides the modules (every optimizer, the
    data order, the z stream). Subclasses set ``optimizers``, ``loader``, ``rngs`` (with "z"),
    ``data``, ``epochs``, ``device`` and restore their learning rates in :meth:`set_lrs`."""

    def length(self, steps: int) -> str:
        """"E epochs x S steps", or the --max-steps part of it."""
        length = f"{self.epochs} epochs x {self.steps_per_epoch} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return length

    def record(self) -> dict:
        return {"epochs": self.epochs, **self.provenance()}

    def meta(self) -> dict:
        return {"epochs": self.epochs, "data": self.data}

    def states(self) -> dict:
        return {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "loader": self.loader.state_dict(), "rng": {"z": self.rngs["z"].get_state()}}

    def load_states(self, states: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(states["optimizers"][k])
        self.loader.load_state_dict(states["loader"])
        self.rngs["z"].set_state(states["rng"]["z"])
        self.set_lrs()

    def set_lrs(self) -> None:
        """Put the config's learning rates (a --lr given on resume) into the optimizers."""
