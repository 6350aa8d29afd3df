"""The kernel registry: ``name -> {backend: callable}`` for the hot kernels.

Ops never import a backend module. They ask the registry::

    conv = backends.get("conv2d_fwd", device="cpu")
    y = conv(x, w, stride, padding, dilation, groups)

Every backend takes and returns plain arrays (``numpy.ndarray`` on "cpu", ``cupy.ndarray`` on
"cuda") with the layout of :mod:`tinygan.backends.reference` (NCHW, C-contiguous output). That
module is the executable specification (each kernel its index equation in plain NumPy; select it
as "reference"): every other backend is tested against it.

Choosing a backend: ``tinygan.set_backend("numpy")`` (also a context manager), or the environment
variable ``TINYGAN_BACKEND`` (an unknown name is an error, as for ``set_backend``; ``check_env()``
also loads it, which the command-line programs do first). The default for a device is the fastest backend that loads; a backend
that cannot load (missing compiler, missing package) is skipped with one warning naming the reason,
and "numpy" (:mod:`tinygan.backends.numpy`, the tuned NumPy kernels) is always there. A CPU
backend that lacks a kernel falls back to numpy's.

Backends are Python modules imported lazily (numba, cupy, triton are never imported by
``import tinygan``). A backend module exposes its kernels as module-level functions named after
the kernel (``conv2d_fwd``...) and may define ``AVAILABLE`` / ``UNAVAILABLE_REASON``.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import warnings
from typing import Callable

# Hot kernels every backend may provide, with their array signatures (spec: backends/reference.py).
KERNELS = (
    "conv2d_fwd",    # (x, w, stride, padding, dilation, groups) -> y
    "conv2d_dgrad",  # (dy, w, x_shape, stride, padding, dilation, groups) -> dx
    "conv2d_wgrad",  # (x, dy, w_shape, stride, padding, dilation, groups) -> dw
    "batchnorm_fwd",
    "batchnorm_bwd",
    "leaky_relu_fwd",  # (x, slope) -> y
    "leaky_relu_bwd",  # (x, g, slope) -> dx
    "masked_scale",    # (x, keep, scale) -> x * keep * scale   (dropout and its VJP)
    "bias_add",        # (x, b) -> x + b per channel (axis 1)
    "channel_sum",     # (g) -> sum of g over every axis but 1 (bias_add's adjoint in b)
    "keep_mask",       # (state, inc, n, threshold) -> dropout mask from NumPy's PCG64 stream (CPU)
    "adam_update",     # (p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps), in place
    "matmul",          # (a, b) -> a @ b with broadcasting (the Linear layers)
    "cdist_l1",        # (x1, x2) -> pairwise L1 distances (B, P, R) (minibatch discrimination)
    "cdist_l1_vjp",    # (x1, x2, g) -> (dx1, dx2), its VJP
)

# backend name -> (device, module path); order = preference (fastest first) per device.
_BACKENDS: dict[str, tuple[str, str]] = {
    "reference": ("cpu", "tinygan.backends.reference"),  # the spec: plain NumPy, never a default
    "numpy": ("cpu", "tinygan.backends.numpy"),
    "numba": ("cpu", "tinygan.backends.numba_cpu"),
    "cpp": ("cpu", "tinygan.backends.cpp"),        # tinygan._C: C++ kernels from csrc/cpu (setup.py)
    "cuda": ("cuda", "tinygan.backends.cuda"),      # CuPy RawModule over csrc/cuda/*.cu
    "triton": ("cuda", "tinygan.backends.triton"),  # tinygan/kernels/*.py
}
# numba comes after numpy although its DCGAN step is faster (0.74x vs 0.62x torch; cpp: 1.7x):
# its first use in a fresh environment compiles for ~43 s (cached on disk after), which a default
# must not spring on a user. Choose it with set_backend("numba") or TINYGAN_BACKEND=numba.
# cuda before triton: the faster of the two on an H200 (benchmarks/README.md, GPU section).
_DEFAULT_ORDER = {"cpu": ["cpp", "numpy", "numba"], "cuda": ["cuda", "triton"]}

_modules: dict[str, object] = {}
_failed: dict[str, str] = {}
_active: dict[str, str | None] = {"cpu": None, "cuda": None}
_cache: dict[tuple[str, str], Callable] = {}


def register_backend(name: str, device: str, module: str, preferred: bool = False) -> None:
    """Add a backend (``module`` is imported lazily on first use)."""
    _BACKENDS[name] = (device, module)
    order = _DEFAULT_ORDER.setdefault(device, [])
    if name not in order:
        order.insert(0, name) if preferred else order.append(name)
    _cache.clear()


def _load(name: str):
    if name in _modules:
        return _modules[name]
    if name in _failed:
        return None
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from {sorted(_BACKENDS)}")
    try:
        mod = importlib.import_module(_BACKENDS[name][1])
    except Exception as exc:  # an optional backend must never break tinygan
        _failed[name] = f"{type(exc).__name__}: {exc}"
        return None
    if not getattr(mod, "AVAILABLE", True):
        _failed[name] = getattr(mod, "UNAVAILABLE_REASON", "reported itself unavailable")
        return None
    _modules[name] = mod
    return mod


def _env_choice(device: str) -> str | None:
    env = os.environ.get("TINYGAN_BACKEND")
    if not env:
        return None
    if env not in _BACKENDS:
        raise ValueError(f"TINYGAN_BACKEND={env!r} is not a backend; choose from "
                         f"{', '.join(sorted(_BACKENDS))} (or unset it)")
    return env if _BACKENDS[env][0] == device else None


def check_env() -> str | None:
    """Validate ``TINYGAN_BACKEND`` now, as ``set_backend`` validates a name: ValueError for an
    unknown name, RuntimeError for a backend that cannot load here (``cuda`` without a GPU...).
    Returns the name (None when the variable is unset). The command-line programs call it first."""
    env = os.environ.get("TINYGAN_BACKEND")
    if not env:
        return None
    _env_choice("cpu")                      # unknown name -> ValueError
    if _load(env) is None:
        raise RuntimeError(f"TINYGAN_BACKEND={env!r}: backend {env!r} is unavailable: "
                           f"{_failed[env]} (unset it or choose another)")
    return env


def current(device: str = "cpu") -> str:
    """Name of the backend that kernels on ``device`` come from."""
    name = _active.get(device) or _env_choice(device)
    if name is not None:
        if _load(name) is None:
            raise RuntimeError(f"backend {name!r} is unavailable: {_failed[name]}")
        return name
    for name in _DEFAULT_ORDER.get(device, []):
        if _load(name) is not None:
            return name
        if name not in _warned:
            _warned.add(name)
            warnings.warn(f"tinygan: backend {name!r} unavailable ({_failed[name]}); "
                          f"falling back to the next one", RuntimeWarning, stacklevel=3)
    if device == "cpu":
        return "numpy"
    raise RuntimeError(f"no backend available for device {device!r}")


_warned: set[str] = set()


def get(kernel: str, device: str = "cpu", backend: str | None = None) -> Callable:
    """The callable for ``kernel`` on ``device`` from the active (or given) backend.

    Falls back to the numpy backend's kernel when the backend does not provide it (CPU only).
    """
    name = backend or current(device)
    key = (kernel, name)
    fn = _cache.get(key)
    if fn is not None:
        return fn
    mod = _load(name)
    if mod is None:
        raise RuntimeError(f"backend {name!r} is unavailable: {_failed[name]}")
    fn = getattr(mod, kernel, None)
    if fn is None:
        if _BACKENDS[name][0] != "cpu":
            raise NotImplementedError(f"backend {name!r} has no kernel {kernel!r}")
        fn = getattr(_load("numpy"), kernel, None)
        if fn is None:
            raise NotImplementedError(f"no backend provides kernel {kernel!r}")
    _cache[key] = fn
    return fn


def set_backend(name: str):
    """Select the backend for its device. Usable as a plain call or a context manager::

        tinygan.set_backend("numpy")
        with tinygan.set_backend("numpy"):
            ...
    """
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from {sorted(_BACKENDS)}")
    if _load(name) is None:
        raise RuntimeError(f"backend {name!r} is unavailable: {_failed[name]}")
    device = _BACKENDS[name][0]
    previous = _active.get(device)
    _active[device] = name

    @contextlib.contextmanager
    def _restore():
        try:
            yield name
        finally:
            _active[device] = previous

    return _BackendChoice(_restore())


class _BackendChoice:
    """Returned by set_backend: the choice is already made; ``with`` restores the old one."""

    def __init__(self, cm):
        self._cm = cm

    def __enter__(self):
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def names(device: str | None = None) -> list[str]:
    """The registered backends (of ``device``), sorted, without importing any of them."""
    return sorted(n for n, (d, _) in _BACKENDS.items() if device is None or d == device)


def available() -> dict[str, dict]:
    """Every known backend with its device and state: ``{"numpy": {"device": "cpu",
    "available": True, "reason": None, "active": True}, ...}``."""
    out = {}
    for name, (device, _) in _BACKENDS.items():
        ok = _load(name) is not None
        try:
            active = current(device) == name
        except (RuntimeError, ValueError):
            active = False
        out[name] = {"device": device, "available": ok, "reason": None if ok else _failed[name],
                     "active": active}
    return out


# torch.backends' flag modules (not kernel backends; the registry above never lists them)
from . import cudnn, mps  # noqa: E402,F401
