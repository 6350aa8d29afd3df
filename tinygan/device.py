"""Devices: "cpu" holds numpy arrays, "cuda" holds CuPy arrays (CuPy is imported only when used)."""
from __future__ import annotations

import numpy as np

DEVICES = ("cpu", "cuda")


def normalize_device(device) -> str:
    """Accept "cpu", "cuda", "cuda:0" (one GPU is all tinygan uses) or None (= "cpu")."""
    if device is None:
        return "cpu"
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {DEVICES}")
    return name


def _cupy():
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise RuntimeError("device 'cuda' needs CuPy: pip install -e '.[gpu]'") from exc
    return cupy


def array_module(device: str):
    """numpy for "cpu", cupy for "cuda": the namespace elementwise ops call."""
    return np if device == "cpu" else _cupy()


def device_of(array) -> str:
    """"cuda" for a CuPy array, "cpu" for anything numpy understands."""
    return "cuda" if type(array).__module__.startswith("cupy") else "cpu"


def move(array, device: str):
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return _cupy().asarray(array)


def xp_of(array):
    """numpy or cupy, whichever owns ``array``."""
    return np if type(array) is np.ndarray else array_module(device_of(array))
