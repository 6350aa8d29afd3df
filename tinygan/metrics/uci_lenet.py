"""A LeNet (:class:`tinygan.metrics.lenet.LeNet`, the project's MNIST classifier's architecture)
trained on the UCI digits in MNIST's frame (:mod:`tinygan.data.uci_digits`): the judge of the
UCI side of CycleGAN -- does a digit translated from MNIST keep its class, as a UCI-digit
classifier reads it?

Trained with tinygan on the UCI training split (1,437 digits), Adam 1e-3, batch 64, 30 epochs,
seeded; about 10 s on one core, once per process (:func:`load_uci_lenet` caches it in memory).
``python -m tinygan.metrics.uci_lenet`` trains it and prints its held-out accuracy.
"""
from __future__ import annotations

import functools
import json
import sys
import time

import numpy as np

from .. import optim
from ..nn import functional as F
from ..random import Generator
from ..tensor import Tensor
from .lenet import LeNet, accuracy


def train_uci_lenet(epochs: int = 30, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                    box: int = 20):
    """(model, meta): LeNet trained on the UCI training split; meta holds its test accuracy."""
    from ..data.uci_digits import load_uci_digits
    train, test = load_uci_digits("train", box), load_uci_digits("test", box)
    gen = Generator(seed)
    model = LeNet(generator=gen)
    opt = optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = gen.permutation(len(train))
        for s in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[s:s + batch_size]
            loss = F.cross_entropy(model(Tensor(train.images[idx])), Tensor(train.labels[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    meta = {"seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr, "box": box,
            "train_seconds": round(time.perf_counter() - start, 1), "num_train": len(train),
            "num_test": len(test), "train_accuracy": accuracy(model, train.images, train.labels),
            "test_accuracy": accuracy(model, test.images, test.labels)}
    return model, meta


@functools.lru_cache(maxsize=None)
def load_uci_lenet(box: int = 20, seed: int = 0) -> LeNet:
    """The UCI-digit LeNet (trained once per process and box); ``model.meta`` its record."""
    model, meta = train_uci_lenet(seed=seed, box=box)
    model.meta = meta
    return model


def main(argv=None) -> int:
    del argv
    model = load_uci_lenet()
    print(json.dumps(model.meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
