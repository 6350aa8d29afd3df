"""torch.accelerator's queries: ``is_available()``, ``current_accelerator()``, ``device_count()``.
tinygan's one accelerator kind is CUDA (through CuPy)."""
from __future__ import annotations

from . import cuda
from .devices import device


def is_available() -> bool:
    return cuda.is_available()


def device_count() -> int:
    return cuda.device_count()


def current_accelerator(check_available: bool = False):
    """``tinygan.device("cuda")`` when a GPU can run tinygan's kernels, else None."""
    return device("cuda") if cuda.is_available() else None
