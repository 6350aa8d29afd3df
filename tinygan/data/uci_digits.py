"""The UCI handwritten digits that scikit-learn ships (``sklearn.datasets.load_digits``: 1,797
digits, 8 x 8, values 0..16; Alpaydin & Kaynak's "Optical Recognition of Handwritten Digits"),
resampled to MNIST's frame: a second, real source of handwriting for CycleGAN.

Each 8 x 8 digit fills its frame, while an MNIST digit sits in a 20 x 20 box centred in 28 x 28;
so each is resampled bilinearly (tinygan's own ``interpolate``, half-pixel centres, PyTorch's
``align_corners=False``) to ``box`` x ``box`` (default 20) and centred in 28 x 28 on the
background, -1 (values scaled 0..16 -> -1..1). The split is stratified and fixed: 20% of each
class (seed 0) is held out.

scikit-learn is optional: ``pip install 'tinygan[sklearn]'``; without it :func:`load_uci_digits`
raises :class:`MissingDependency` (an ImportError) saying so in one line.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..autograd import no_grad
from ..ops.resample import interpolate
from ..tensor import tensor

SPLIT_SEED, TEST_FRACTION, FRAME = 0, 0.2, 28
SOURCE = "scikit-learn's load_digits (UCI optical recognition of handwritten digits, 1,797 digits 8x8)"


class MissingDependency(ImportError):
    """An optional package is not installed; the message names the pip extra."""


@dataclass
class UCIDigits:
    """One split: ``images`` float32 (N, 1, 28, 28) in [-1, 1], ``labels`` int64 (N,), ``source``,
    ``images8`` the 8 x 8 originals (N, 8, 8), float32 0..16."""
    images: np.ndarray
    labels: np.ndarray
    source: str
    images8: np.ndarray

    def __len__(self):
        return len(self.images)


@functools.lru_cache(maxsize=1)
def _sklearn_digits():
    """(images (1797, 8, 8) float32 0..16, labels int64), read-only; read once per process."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDependency("the UCI digits come from scikit-learn, which is not installed: "
                                "pip install 'tinygan[sklearn]' (or pip install scikit-learn)") from None
    digits = load_digits()
    images, labels = np.asarray(digits.images, np.float32), np.asarray(digits.target, np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def to_frame(images8: np.ndarray, box=20, frame: int = FRAME, offset=(0, 0)) -> np.ndarray:
    """0..16 digits (N, h, w) -> float32 (N, 1, frame, frame) in [-1, 1]: resampled bilinearly to
    ``box`` (an int or (height, width)) and centred on a -1 background, moved by ``offset`` pixels."""
    bh, bw = (box, box) if np.isscalar(box) else box
    top, left = (frame - bh) // 2 + offset[0], (frame - bw) // 2 + offset[1]
    if not (1 <= bh and 1 <= bw and 0 <= top and top + bh <= frame and 0 <= left and left + bw <= frame):
        raise ValueError(f"to_frame: a {bh} x {bw} box moved by {tuple(offset)} does not fit a "
                         f"{frame} x {frame} frame")
    x = np.asarray(images8, np.float32)[:, None] / np.float32(8.0) - np.float32(1.0)
    with no_grad():
        x = np.asarray(interpolate(tensor(x), size=(int(bh), int(bw)), mode="bilinear").numpy())
    out = np.full((len(x), 1, frame, frame), -1.0, np.float32)
    out[:, :, top:top + bh, left:left + bw] = np.clip(x, -1.0, 1.0)
    return out


def load_uci_digits(split: str = "train", box: int = 20) -> UCIDigits:
    """The ``split`` ("train": 80%, "test": 20%, stratified, fixed) of the UCI digits in MNIST's frame."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _sklearn_digits()
    rng = np.random.default_rng(SPLIT_SEED)
    test = []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.append(idx[:round(TEST_FRACTION * len(idx))])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(labels)), test)
    pick = rng.permutation(train if split == "train" else test)
    return UCIDigits(to_frame(images[pick], box), labels[pick], SOURCE, images[pick])
