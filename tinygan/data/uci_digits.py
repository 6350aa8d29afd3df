"""The UCI optical-recognition handwritten digits (Alpaydin & Kaynak), as scikit-learn ships them
(``sklearn.datasets.load_digits``: 1,797 images, 8x8, values 0..16), made to look like MNIST.

UCI's 8x8 images are 4x4 block counts of 32x32 bitmaps whose digit fills the whole frame; MNIST's
digits are anti-aliased strokes in a 20x20 box centred by centre of mass in a 28x28 field (LeCun
et al., the MNIST database's description). :func:`mnist_like` repeats MNIST's own recipe:

    8x8 / 16 -> resample to box x box (tinygan's ``interpolate``, torch's sizes and taps)
             -> clip to [0, 1] -> place in 28x28 so that the centre of mass sits at pixel (14, 14)

``--uci-resample naive`` in ``train dann`` instead stretches the 8x8 frame over the whole 28x28
(digits far larger and thicker than MNIST's): the domain gap the resampling removes.

scikit-learn is optional: ``pip install "tinygan[sklearn]"``.
"""
from __future__ import annotations

import numpy as np

from ..ops.resample import interpolate
from ..tensor import Tensor

RESAMPLE_MODES = ("bilinear", "bicubic", "nearest", "area")


def load_digits_8x8():
    """(images float64 (1797, 8, 8) in 0..16, labels int64 (1797,)) from scikit-learn; a one-line
    ImportError naming the extra when scikit-learn is missing."""
    try:
        from sklearn.datasets import load_digits   # optional heavy dependency
    except ImportError:
        raise ImportError("UCI digits need scikit-learn: pip install \"tinygan[sklearn]\" "
                          "(or pip install scikit-learn)") from None
    d = load_digits()
    return np.asarray(d.images, dtype=np.float64), np.asarray(d.target, dtype=np.int64)


def _resample(images8: np.ndarray, size: int, mode: str) -> np.ndarray:
    if mode not in RESAMPLE_MODES:
        raise ValueError(f"uci digits: resample mode must be one of {', '.join(RESAMPLE_MODES)}, "
                         f"got {mode!r}")
    x = Tensor(images8[:, None] / 16.0)
    extra = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return np.clip(interpolate(x, size=(size, size), mode=mode, **extra).numpy()[:, 0], 0.0, 1.0)


def centre_by_mass(images: np.ndarray, field: int = 28) -> np.ndarray:
    """Images (N, h, w), h, w <= field, in [0, 1] -> (N, field, field) with each image's centre
    of mass (rounded) moved to pixel (field // 2, field // 2); what falls outside is cut."""
    n, h, w = images.shape
    if h > field or w > field:
        raise ValueError(f"centre_by_mass: images of {h}x{w} do not fit a {field}x{field} field")
    big = 2 * field
    canvas = np.zeros((n, big, big), images.dtype)
    top, left = (big - h) // 2, (big - w) // 2
    canvas[:, top:top + h, left:left + w] = images
    rows, cols = np.arange(big), np.arange(big)
    mass = canvas.sum((1, 2))
    mass = np.where(mass > 0, mass, 1.0)
    cy = np.rint((canvas.sum(2) * rows).sum(1) / mass).astype(int)
    cx = np.rint((canvas.sum(1) * cols).sum(1) / mass).astype(int)
    cy = np.where(canvas.sum((1, 2)) > 0, cy, big // 2)
    cx = np.where(canvas.sum((1, 2)) > 0, cx, big // 2)
    out = np.empty((n, field, field), images.dtype)
    half = field // 2
    for i in range(n):
        y0 = int(np.clip(cy[i] - half, 0, big - field))
        x0 = int(np.clip(cx[i] - half, 0, big - field))
        out[i] = canvas[i, y0:y0 + field, x0:x0 + field]
    return out


def mnist_like(images8: np.ndarray, box: int = 20, mode: str = "bilinear") -> np.ndarray:
    """UCI 8x8 (N, 8, 8) in 0..16 -> uint8 (N, 28, 28) in 0..255, MNIST's framing (module doc)."""
    if not 8 <= box <= 28:
        raise ValueError(f"uci digits: box must be in 8..28 pixels, got {box}")
    return np.rint(centre_by_mass(_resample(images8, box, mode)) * 255).astype(np.uint8)


def naive(images8: np.ndarray, mode: str = "bilinear") -> np.ndarray:
    """UCI 8x8 stretched over the whole 28x28 field: uint8 (N, 28, 28)."""
    return np.rint(_resample(images8, 28, mode) * 255).astype(np.uint8)


def load_uci_digits(resample: str = "mnist", box: int = 20, mode: str = "bilinear"):
    """(images uint8 (1797, 28, 28), labels uint8 (1797,)): ``resample`` "mnist" (:func:`mnist_like`)
    or "naive" (:func:`naive`)."""
    images8, labels = load_digits_8x8()
    if resample == "mnist":
        images = mnist_like(images8, box, mode)
    elif resample == "naive":
        images = naive(images8, mode)
    else:
        raise ValueError(f"uci digits: resample must be 'mnist' or 'naive', got {resample!r}")
    return images, labels.astype(np.uint8)
