"""Paired image-to-image tasks made from MNIST digits, for pix2pix: (input, target) pairs of
float32 (N, 1, 28, 28) arrays in [-1, 1] (the target is the digit itself).

* ``mask-lower``: the input is the digit with its lower half (rows 14..27) blanked to the
  background, -1; G must draw the missing half (inpainting: top of a 7 vs a 9 is ambiguous, so
  the task is not solved by copying).
* ``edges``: the input is the digit's outline: the pixels of the binarised digit (> 127) that have
  a background 4-neighbour, drawn as +1 on -1 (the paper's edges -> photo, on digits).
"""
from __future__ import annotations

import numpy as np

from .mnist import to_model_input

TASKS = ("mask-lower", "edges")


def _edges(images: np.ndarray) -> np.ndarray:
    ink = images > 127
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    interior = (padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:])
    return np.where(ink & ~interior, np.float32(1.0), np.float32(-1.0))[:, None]


def make_pairs(images: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for uint8 digits ``images`` (N, 28, 28); ``task`` one of :data:`TASKS`."""
    if task not in TASKS:
        raise ValueError(f"unknown paired task {task!r}; choose from {', '.join(TASKS)}")
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"make_pairs: expected uint8 digits (N, H, W), got {images.dtype} {images.shape}")
    target = to_model_input(images)
    if task == "edges":
        return _edges(images).astype(np.float32), target
    inputs = target.copy()
    inputs[:, :, images.shape[1] // 2:, :] = -1.0
    return inputs, target
