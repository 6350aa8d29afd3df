"""What the label-using trainers (``train cgan``, ``train sgan``) share: MNIST digits *with* their
labels, the ``--data-dir`` a resumed run remembers, the training data's digest, a plain
two-player Adam step, and the LeNet label accuracy of generated digits."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import load_mnist
from ..metrics.lenet import lenet_probs
from .common import UsageError
from .rundir import check_same_data, data_digest


def load_digits(args, checkpoint, n_train=None, min_count: int = 1):
    """(images uint8 (N, 28, 28), labels int64 (N,), record) of the training split: ``--data-dir``,
    else the one the checkpoint trained on, else the default source; a resumed run's digits must
    be the checkpoint's (SHA-256 over the images and labels)."""
    saved = checkpoint.meta.get("data") if checkpoint is not None else None
    data_dir = getattr(args, "data_dir", None)
    if data_dir is None and saved and saved.get("data_dir"):
        data_dir = saved["data_dir"]
        print(f"resuming with the checkpoint's --data-dir {data_dir}")
    data = load_mnist("train", data_dir=data_dir, verbose=True)
    images, labels = data.images, data.labels.astype(np.int64)
    if n_train:
        images, labels = images[:n_train], labels[:n_train]
    if len(images) < min_count:
        raise UsageError(f"need at least {min_count} training digits (batch size), have {len(images)}")
    digest = data_digest(np.concatenate([images.reshape(len(images), -1),
                                         labels.astype(np.uint8)[:, None]], axis=1))
    if checkpoint is not None:
        check_same_data(saved, digest, len(images), data.source, checkpoint)
    record = {"source": data.source, "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
              "n": len(images), "sha256": digest}
    return images, labels, record


def load_test_digits(data_dir):
    """(images, labels) of the test split from the same source as the training digits."""
    data = load_mnist("test", data_dir=data_dir, verbose=False)
    return data.images, data.labels.astype(np.int64)


def descend(optimizer, loss) -> float:
    """One optimizer step on ``loss``: zero the grads, backward, step; returns the loss value."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


def set_lr(optimizers, lr: float) -> None:
    """A --lr given on resume (else the same value) reaches every param group."""
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr


def label_accuracy(images, labels) -> float:
    """The fraction of ``images`` (N, 1, 28, 28) in [-1, 1] that the project's LeNet
    (:mod:`tinygan.metrics.lenet`, 97.6% on real test digits) classifies as ``labels``."""
    return float((lenet_probs(images).argmax(1) == np.asarray(labels)).mean())
