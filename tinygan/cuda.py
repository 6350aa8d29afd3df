"""torch.cuda's everyday queries: ``tinygan.cuda.is_available()``, ``device_count()``.

"Available" means tinygan's GPU backends can run: CuPy imports and sees at least one CUDA device.
CuPy is imported here only when asked (an optional heavy package), never by ``import tinygan``.
"""
from __future__ import annotations


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 without CuPy, a driver or a device)."""
    try:
        import cupy
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # noqa: BLE001 -- no CuPy, no driver, no device: all mean "none"
        return 0


def is_available() -> bool:
    """True when a "cuda" tensor can be made: CuPy and at least one device."""
    return device_count() > 0


def current_device() -> int:
    """The index of the device tinygan uses (it uses one: 0)."""
    if not is_available():
        raise RuntimeError("cuda.current_device: no CUDA device (tinygan needs CuPy and a GPU)")
    return 0
