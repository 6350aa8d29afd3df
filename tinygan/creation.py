"""Tensor constructors with torch's names: tensor, from_numpy, zeros, ones, full, randn, rand, arange,
*_like."""
from __future__ import annotations

import numpy as np

from .devices import array_module, move, normalize_device
from .random import get_generator
from .dtypes import as_dtype
from .tensor import Tensor


def from_numpy(ndarray) -> Tensor:
    """A CPU tensor sharing ``ndarray``'s memory (writes show through both ways), as torch."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biuf" or ndarray.dtype.itemsize > 8:
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {ndarray.dtype}; supported "
                        "types are float64/32/16, int64/32/16/8, uint8 and bool")
    return Tensor._make(ndarray, None)


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (list, scalar, array or Tensor)."""
    src = data.data if isinstance(data, Tensor) else data
    t = Tensor(src, dtype=dtype, device=device, requires_grad=False)
    same_device = type(t.data) is type(src)  # a copy to another device shares nothing
    if t.data is src or (same_device and isinstance(src, np.ndarray)
                         and np.shares_memory(t.data, src)):
        t.data = t.data.copy()
    return t.requires_grad_(True) if requires_grad else t


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(int(n) for n in size[0])
    return tuple(int(n) for n in size)


def _new(array, device, requires_grad):
    t = Tensor._make(array, None)
    return t.requires_grad_(True) if requires_grad else t


def _filled(fill, size, dtype, device, requires_grad):
    device = normalize_device(device)
    dtype = as_dtype(dtype) or np.dtype(np.float32)
    xp = array_module(device)
    return _new(xp.full(_shape(size), fill, dtype=dtype), device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(fill_value, (size,) if isinstance(size, int) else (tuple(size),), dtype, device,
                   requires_grad)


def _random(draw, size, dtype, device, requires_grad, generator):
    dtype = as_dtype(dtype) or np.dtype(np.float32)
    if dtype.kind != "f":
        raise TypeError(f"random tensors must be floating, got dtype {dtype}")
    array = draw(get_generator(generator), _shape(size), dtype)
    return _new(move(array, normalize_device(device)), device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples (drawn on the CPU from ``generator``: same seed, same numbers)."""
    return _random(lambda g, s, d: g.normal(s, d), size, dtype, device, requires_grad, generator)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _random(lambda g, s, d: g.uniform(s, d), size, dtype, device, requires_grad, generator)


def randint(low, high, size, device=None, generator=None) -> Tensor:
    array = get_generator(generator).integers(low, high, tuple(size))
    return _new(move(array, normalize_device(device)), device, False)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Like torch.arange: integer arguments give int64, any float gives float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else np.float32
    xp = array_module(normalize_device(device))
    return _new(xp.arange(start, end, step, dtype=as_dtype(dtype)), device, requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def randn_like(t, dtype=None, generator=None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=t.device, generator=generator)


def rand_like(t, dtype=None, generator=None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=t.device, generator=generator)
