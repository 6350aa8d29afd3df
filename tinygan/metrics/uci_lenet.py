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
from ..data.uci_digits import load_uci_split, to_frame
from ..nn import functional as F
from ..random import Generator
from ..tensor import Tensor
from .lenet import LeNet, accuracy


def jittered(images8: np.ndarray, copies: int, generator, box: int = 20) -> np.ndarray:
    """``copies`` framed versions of each 8 x 8 digit (copy-major), each at a random size (height
    box - 4..box, width box - 10..box: MNIST's digits keep their aspect ratio, UCI's fill the box)
    and offset (-2..2 pixels each way). Groups of one size are resampled together."""
    n = len(images8)
    out = np.empty((copies * n, 1, 28, 28), np.float32)
    h = generator.integers(box - 4, box + 1, (copies * n,))
    w = generator.integers(box - 10, box + 1, (copies * n,))
    dy, dx = generator.integers(-2, 3, (copies * n,)), generator.integers(-2, 3, (copies * n,))
    for key in sorted(set(zip(h.tolist(), w.tolist(), dy.tolist(), dx.tolist()))):
        idx = np.flatnonzero((h == key[0]) & (w == key[1]) & (dy == key[2]) & (dx == key[3]))
        out[idx] = to_frame(images8[idx % n], (key[0], key[1]), offset=(key[2], key[3]))
    return out


def train_uci_lenet(epochs: int = 30, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                    box: int = 20, augment: int = 0):
    """(model, meta): LeNet trained on the UCI training split (plus ``augment`` jittered copies
    of it, :func:`jittered`, for a judge that reads the digit rather than its frame); meta holds
    its test accuracy on the plain held-out split."""
    train, test = load_uci_split("train", box), load_uci_split("test", box)
    gen = Generator(seed)
    if augment:
        train.images = np.concatenate([train.images, jittered(train.images8, augment, gen, box)])
        train.labels = np.tile(train.labels, augment + 1)
        epochs = max(1, round(epochs / (augment + 1)))     # the same number of steps
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
    meta = {"seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr, "box": box, "augment": augment,
            "train_seconds": round(time.perf_counter() - start, 1), "num_train": len(train),
            "num_test": len(test), "train_accuracy": accuracy(model, train.images, train.labels),
            "test_accuracy": accuracy(model, test.images, test.labels)}
    return model, meta


@functools.lru_cache(maxsize=None)
def load_uci_lenet(box: int = 20, seed: int = 0, augment: int = 0) -> LeNet:
    """The UCI-digit LeNet (trained once per process and setting); ``model.meta`` its record."""
    model, meta = train_uci_lenet(seed=seed, box=box, augment=augment)
    model.meta = meta
    return model


def main(argv=None) -> int:
    augment = int(argv[0]) if argv else 0
    print(json.dumps(load_uci_lenet(augment=augment).meta, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
