"""Devices: "cpu" holds numpy arrays, "cuda" holds CuPy arrays (CuPy is imported only when used).

``device`` is torch.device's twin (exported as ``tinygan.device``); every function here that takes a
device takes a ``device`` or its string.
"""
from __future__ import annotations

import re

import numpy as np

DEVICES = ("cpu", "cuda")
_DEVICE_STRING = re.compile(r"([a-z]+)(?::(\d+))?")


class device(str):  # noqa: N801 -- torch's name
    """``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:0")``, ``device(other_device)``.

    ``.type`` is "cpu" or "cuda", ``.index`` an int or None; ``str()`` gives "cuda:0" as in torch.
    Unlike torch.device it *is* that string (a ``str`` subclass), so it compares equal to
    ``"cuda:0"`` and works wherever tinygan takes a device string.
    """

    __slots__ = ("type", "index")

    def __new__(cls, type, index=None):  # noqa: A002 -- torch's argument name
        if isinstance(type, device):
            if index is not None:
                raise RuntimeError(f"device: {type!r} already has a type; got index {index!r} too")
            return type
        if isinstance(type, bool) or not isinstance(type, (str, int)):
            raise TypeError(f"device: expected a device string (\"cpu\", \"cuda:0\") or a device, "
                            f"got {type.__class__.__name__}")
        if isinstance(type, int):   # torch.device(0): the accelerator's index 0
            type, index = "cuda", type if index is None else index
        m = _DEVICE_STRING.fullmatch(type)
        if m is None:
            raise RuntimeError(f"device: invalid device string {type!r}")
        if m.group(1) not in DEVICES:
            raise RuntimeError(f"device: expected one of {DEVICES} device type at start of device "
                               f"string: {type}")
        if m.group(2) is not None:
            if index is not None:
                raise RuntimeError(f"device: type (string) must not include an index because index "
                                   f"was passed explicitly: {type}")
            index = int(m.group(2))
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"device: index must be an int, got {index.__class__.__name__}")
            if index < 0:
                raise RuntimeError(f"device: device index must not be negative, got {index}")
            index = int(index)
        name = m.group(1)
        self = super().__new__(cls, name if index is None else f"{name}:{index}")
        self.type, self.index = name, index
        return self

    def __repr__(self):
        return (f"device(type='{self.type}')" if self.index is None
                else f"device(type='{self.type}', index={self.index})")

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU, CUDA = device("cpu"), device("cuda")


def normalize_device(device) -> str:
    """Accept "cpu", "cuda", "cuda:0", a ``device`` or None (= "cpu"). One GPU is all tinygan uses:
    another index ("cuda:1") is refused rather than silently run on GPU 0."""
    if device is None:
        return "cpu"
    name, _, index = str(device).partition(":")
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {DEVICES}")
    if index not in ("", "0"):
        raise ValueError(f"device {str(device)!r}: tinygan uses one GPU, cuda:0 (set "
                         f"CUDA_VISIBLE_DEVICES to choose which)")
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

