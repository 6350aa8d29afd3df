"""A seeded, resumable mini-batch iterator over an in-memory array.

Each epoch draws a fresh permutation from a :class:`tinygan.Generator`; ``state_dict()`` records
the epoch, the position inside it and the generator's state *at the start of the epoch*, so a
loader restored from it redraws the same permutation and yields exactly the batches an
uninterrupted run would have yielded next (what exact resume needs).
"""
from __future__ import annotations

import numpy as np

from ..random import Generator


class BatchLoader:
    """``BatchLoader(data, batch_size, generator, drop_last=True)``: batches ``data[idx]`` of shape
    (batch_size, *data.shape[1:]) in a new random order every epoch (``drop_last`` skips the short
    final batch, so BatchNorm always sees ``batch_size`` samples)."""

    def __init__(self, data: np.ndarray, batch_size: int, generator: Generator, drop_last: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if batch_size > len(data) and drop_last:
            raise ValueError(f"batch_size {batch_size} is larger than the dataset ({len(data)} items)")
        self.data, self.batch_size, self.generator = data, int(batch_size), generator
        self.drop_last = bool(drop_last)
        self.epoch, self.position = 0, 0               # position = batches already served this epoch
        self._epoch_state = generator.get_state()
        self._order = generator.permutation(len(data))

    def __len__(self):
        """Batches per epoch."""
        n, b = len(self.data), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def next_batch(self) -> np.ndarray:
        """The next batch; moves to a new epoch (new permutation) when this one is used up."""
        if self.position >= len(self):
            self.epoch += 1
            self.position = 0
            self._epoch_state = self.generator.get_state()
            self._order = self.generator.permutation(len(self.data))
        start = self.position * self.batch_size
        self.position += 1
        return self.data[self._order[start:start + self.batch_size]]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "epoch_rng": self._epoch_state,
                "batch_size": self.batch_size, "n": len(self.data)}

    def load_state_dict(self, state: dict) -> None:
        if int(state["n"]) != len(self.data) or int(state["batch_size"]) != self.batch_size:
            raise ValueError(f"BatchLoader.load_state_dict: saved for {state['n']} items in batches "
                             f"of {state['batch_size']}, this loader has {len(self.data)} items in "
                             f"batches of {self.batch_size}")
        self.generator.set_state(state["epoch_rng"])
        self._epoch_state = self.generator.get_state()
        self._order = self.generator.permutation(len(self.data))
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
