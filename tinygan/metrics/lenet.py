r"""A LeNet-5-style MNIST classifier, trained with tinygan itself, whose features and softmax give
tinygan's GAN metrics for digits: LeNet-FID, the LeNet Inception-Score analog, and the mode
(predicted-class) histogram with its KL to uniform.

Architecture (LeCun et al. 1998, with ReLU and average pooling), on (N, 1, 28, 28) in [-1, 1]::

    conv 1->6, 5x5, pad 2 -> ReLU -> avgpool 2      (N, 6, 14, 14)
    conv 6->16, 5x5       -> ReLU -> avgpool 2      (N, 16, 5, 5)
    flatten -> linear 400->120 -> ReLU -> linear 120->84 -> ReLU     the 84-d *features* (FID)
    linear 84->10                                                    logits -> softmax (IS, modes)

The weights ship as ``tinygan/metrics/lenet_mnist.npz`` (float32, ~62k parameters, saved with
``np.savez_compressed`` and read with ``allow_pickle=False``; the JSON under ``__meta__`` records
the seed, epochs, training time and test accuracy). They were made by::

    python -m tinygan.metrics.lenet --train

which trains on the 4,500-digit training split of the MNIST subset that tinygan ships
(:func:`tinygan.data.mnist.load_subset`), Adam lr 1e-3, batch 64, seeded, and reports accuracy on
its 500 test digits. If the file is missing, :func:`load_lenet` trains once and caches the weights in
``tinygan.data.cache_dir()``.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..autograd import no_grad
from ..data.mnist import cache_dir, load_subset
from ..nn import functional as F
from ..random import Generator
from ..tensor import Tensor
from .fid import class_histogram, fid_from_features, inception_score, kl_to_uniform

WEIGHTS = Path(__file__).with_name("lenet_mnist.npz")
NUM_CLASSES = 10


class LeNet(nn.Module):
    """LeNet-5 with ReLU and average pooling; ``forward`` gives logits, ``features`` the 84-d layer."""

    def __init__(self, generator=None):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2, generator=generator)
        self.conv2 = nn.Conv2d(6, 16, 5, generator=generator)
        self.fc1 = nn.Linear(16 * 5 * 5, 120, generator=generator)
        self.fc2 = nn.Linear(120, 84, generator=generator)
        self.fc3 = nn.Linear(84, NUM_CLASSES, generator=generator)

    def features(self, x):
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = x.reshape(x.shape[0], -1)
        return F.relu(self.fc2(F.relu(self.fc1(x))))

    def forward(self, x):
        return self.fc3(self.features(x))


def as_input(images) -> np.ndarray:
    """float32 (N, 1, 28, 28) in [-1, 1] from uint8 digits (N, 28, 28) in 0..255, or from float
    images already in [-1, 1] shaped (N, 784), (N, 28, 28) or (N, 1, 28, 28)."""
    a = np.asarray(images)
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    a = np.asarray(a, dtype=np.float32)
    if a.size % 784:
        raise ValueError(f"lenet: expected 28x28 images, got shape {np.shape(images)}")
    return a.reshape(-1, 1, 28, 28)


def _batched(model, images, fn, batch_size=500) -> np.ndarray:
    x = as_input(images)
    model.eval()
    out = []
    with no_grad():
        for s in range(0, len(x), batch_size):
            out.append(fn(Tensor(x[s:s + batch_size])).numpy())
    return np.concatenate(out) if out else np.zeros((0,))


# ----- training -------------------------------------------------------------------------------
def train_lenet(epochs: int = 15, batch_size: int = 64, lr: float = 1e-3, seed: int = 0,
                verbose: bool = True):
    """Train on the shipped subset's 4,500 training digits; returns ``(model, meta)`` with the test
    accuracy on its 500 test digits in ``meta``."""
    gen = Generator(seed)
    data = load_subset()
    x_train, y_train = as_input(data["train_images"]), data["train_labels"].astype(np.int64)
    model = LeNet(generator=gen)
    opt = optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = gen.permutation(len(x_train))
        total = 0.0
        for s in range(0, len(order) - batch_size + 1, batch_size):
            idx = order[s:s + batch_size]
            loss = F.cross_entropy(model(Tensor(x_train[idx])), Tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: mean loss {total / (len(order) // batch_size):.4f}")
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, data["test_images"], data["test_labels"])
    train_acc = accuracy(model, data["train_images"], data["train_labels"])
    meta = {"seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "train_seconds": round(seconds, 1), "test_accuracy": test_acc,
            "train_accuracy": train_acc, "num_train": len(x_train),
            "num_test": int(len(data["test_labels"])),
            "data": "tinygan mnist_5k subset (stratified, split seed 0)"}
    if verbose:
        print(f"trained in {seconds:.1f} s: test accuracy {test_acc:.4f} on {meta['num_test']} digits "
              f"(train {train_acc:.4f})")
    return model, meta


def save_lenet(model, meta, path=WEIGHTS) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: v.to("cpu").numpy().astype(np.float32) for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, __meta__=np.array(json.dumps(meta)), **arrays)
    tmp.replace(path)
    return path


def _read_weights(path):
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["__meta__"])) if "__meta__" in f.files else {}
        state = {k: f[k] for k in f.files if k != "__meta__"}
    model = LeNet()
    model.load_state_dict(state)
    model.eval()
    model.meta = meta
    return model


@functools.lru_cache(maxsize=None)
def load_lenet(path=None) -> LeNet:
    """The trained LeNet (cached per process): the shipped weights, else a cached copy, else train
    once (~20 s) and cache. ``model.meta`` holds the training record."""
    if path is not None:
        return _read_weights(path)
    if WEIGHTS.is_file():
        return _read_weights(WEIGHTS)
    cached = cache_dir() / "lenet_mnist.npz"
    if not cached.is_file():
        print(f"lenet: {WEIGHTS.name} is not installed; training it once into {cached}", file=sys.stderr)
        save_lenet(*train_lenet(verbose=False), cached)
    return _read_weights(cached)


# ----- what the metrics need ------------------------------------------------------------------
def accuracy(model, images, labels) -> float:
    logits = _batched(model, images, model)
    return float((logits.argmax(1) == np.asarray(labels).astype(np.int64)).mean())


def lenet_features(images, model=None) -> np.ndarray:
    """84-d features (N, 84), float64."""
    model = model or load_lenet()
    return _batched(model, images, model.features).astype(np.float64)


def lenet_probs(images, model=None) -> np.ndarray:
    """Softmax class probabilities (N, 10), float64."""
    model = model or load_lenet()
    logits = _batched(model, images, model).astype(np.float64)
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def lenet_fid(images_a, images_b, model=None) -> float:
    """LeNet-FID between two image sets (Fréchet distance of the 84-d feature Gaussians)."""
    model = model or load_lenet()
    return fid_from_features(lenet_features(images_a, model), lenet_features(images_b, model))


def lenet_inception_score(images, splits: int = 10, model=None):
    """(mean, std) of the LeNet Inception-Score analog exp(E KL(p(y|x) || p(y))), in [1, 10]."""
    return inception_score(lenet_probs(images, model), splits)


def confident_fraction(images, threshold: float = 0.9, model=None) -> float:
    """The fraction of images LeNet assigns to one class with probability >= threshold: a rough
    proxy of "readable" (a malformed or ambiguous digit spreads its probability)."""
    return float((lenet_probs(images, model).max(1) >= threshold).mean())


def mode_histogram(images, model=None) -> dict:
    """Predicted-class counts and their KL to uniform (0: all ten digits equally often; log 10:
    one digit only)."""
    counts = class_histogram(lenet_probs(images, model).argmax(1), NUM_CLASSES)
    return {"counts": counts.tolist(), "kl_to_uniform": kl_to_uniform(counts),
            "classes_present": int((counts > 0).sum())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.metrics.lenet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", action="store_true", help="train and write the weights")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(WEIGHTS), help=f"weights file (default {WEIGHTS})")
    args = parser.parse_args(argv)
    if not args.train:
        model = load_lenet()
        print(json.dumps(model.meta, indent=2))
        return 0
    model, meta = train_lenet(epochs=args.epochs, seed=args.seed)
    path = save_lenet(model, meta, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
