"""What the image-to-image trainers (``train pix2pix``, ``train cyclegan``) share: the MNIST digits
with their digest (checked on --resume), a frozen discriminator during G's step, generators run
in batches under no_grad with a given dropout stream, and the pictures' layout."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import tensor
from ..data import load_mnist
from .common import UsageError
from .rundir import check_same_data, data_digest


def mnist_split(data_dir, n_train, batch_size, checkpoint=None, saved_key="data"):
    """(train MNIST, test MNIST, record) from ``data_dir`` (default: cache, else the shipped subset;
    a resumed run reuses the checkpoint's). The record (source, n, SHA-256 of the training digits)
    goes into the checkpoint; on resume the digits must be the same."""
    saved = checkpoint.meta.get(saved_key) if checkpoint is not None else None
    if data_dir is None and saved and saved.get("data_dir"):
        data_dir = saved["data_dir"]
        print(f"resuming with the checkpoint's --data-dir {data_dir}")
    train, test = load_mnist("train", data_dir=data_dir), load_mnist("test", data_dir=data_dir, verbose=False)
    if n_train:
        train.images, train.labels = train.images[:n_train], train.labels[:n_train]
    if batch_size > len(train.images):
        raise UsageError(f"--batch-size {batch_size} is larger than the {len(train.images)} training digits")
    digest = data_digest(train.images)
    if checkpoint is not None:
        check_same_data(saved, digest, len(train.images), train.source, checkpoint)
    record = {"source": train.source, "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
              "n": len(train.images), "sha256": digest}
    return train, test, record


def lr_factor(step: int, total: int, decay: float) -> float:
    """1 for the first (1 - decay) of the run, then linear to 0 at ``total`` (step 0-based): the
    schedule of the pix2pix / CycleGAN authors' code (n epochs constant, n decaying)."""
    start = total * (1.0 - decay)
    return 1.0 if step < start else max(0.0, (total - step) / (total - start))


@contextmanager
def dropout_stream(module, generator):
    """Every Dropout of ``module`` draws from ``generator`` inside (pictures and evaluations then
    leave the training stream alone and are reproducible from their own seed)."""
    drops = [m for m in module.modules() if isinstance(m, nn.Dropout)]
    saved = [m.generator for m in drops]
    for m in drops:
        m.generator = generator
    try:
        yield module
    finally:
        for m, g in zip(drops, saved):
            m.generator = g


def run_batched(G, images: np.ndarray, batch_size: int, device: str = "cpu") -> np.ndarray:
    """G(images) as numpy, in batches of ``batch_size`` (the last one may be shorter), no_grad."""
    out = []
    with no_grad():
        for s in range(0, len(images), batch_size):
            out.append(np.asarray(G(tensor(images[s:s + batch_size], device=device)).to("cpu").numpy()))
    return np.concatenate(out)


def interleave_rows(*rows: np.ndarray, per_row: int) -> np.ndarray:
    """Stack equally long image sets (N, 1, H, W) as grid rows: ``per_row`` of the first set, the
    same ``per_row`` of the second, ..., then the next ``per_row`` of each (save_grid nrow=per_row)."""
    n = len(rows[0])
    blocks = [r[s:s + per_row] for s in range(0, n, per_row) for r in rows]
    return np.concatenate(blocks)
