"""The original GAN's real data (``python -m tinygan.train gan``, :mod:`tinygan.trainers.gan`):
points of a 2-D mixture or MNIST digits, drawn from the run's "data" stream, resumable, and for
MNIST with a digest of the training images (a resumed run must train on the same ones)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import BatchLoader, load_mnist, to_model_input
from ..data.toy import get_mixture
from .common import UsageError, stream
from .rundir import data_digest


class Sampler:
    """``sampler(n)`` -> n real points (n, dim) float32 from the run's "data" stream; its
    ``state_dict`` / ``load_state_dict`` make a resumed run draw what an uninterrupted one would."""

    def __init__(self, config: dict):
        self.rng = stream(config["seed"], "data")
        self.loader = self.mixture = self.data = None
        if config["data"] == "mnist":
            mnist = load_mnist("train", config.get("data_dir"))
            data_dir = config.get("data_dir")
            self.data = {"source": mnist.source, "n": len(mnist),
                         "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
                         "sha256": data_digest(mnist.images)}
            if config["batch_size"] > len(mnist):
                raise UsageError(f"--batch-size {config['batch_size']} is larger than the "
                                 f"{len(mnist)} training digits")
            images = to_model_input(mnist.images).reshape(-1, 784)
            self.loader = BatchLoader(images, config["batch_size"], self.rng)
        else:
            self.mixture = get_mixture(config["data"])

    def __call__(self, n: int) -> np.ndarray:
        return self.loader.next_batch() if self.loader is not None else self.mixture.sample(n, self.rng)

    def state_dict(self) -> dict:
        return {"loader": self.loader.state_dict()} if self.loader is not None else {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if self.loader is not None:
            self.loader.load_state_dict(state["loader"])
        else:
            self.rng.set_state(state["rng"])
