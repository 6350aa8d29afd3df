"""Dtypes with torch's names and torch's rules for the arrays behind a Tensor.

tinygan's dtypes are numpy's (``tinygan.float32`` is ``numpy.float32``); this module holds what
torch adds on top: the string names (``"float"``, ``"long"``), the legacy type strings of
``Tensor.type()`` (``"torch.FloatTensor"``, ``"torch.cuda.LongTensor"``) and the dtype a Python
value gets when it becomes a tensor (floats -> float32, ints -> int64, arrays keep theirs).
"""
from __future__ import annotations

import numpy as np

from .devices import array_module, device_of, move, normalize_device

float32, float64, float16 = np.float32, np.float64, np.float16
int32, int64, bool_ = np.int32, np.int64, np.bool_
int8, int16, uint8 = np.int8, np.int16, np.uint8
# torch's Tensor.type() names, by numpy dtype
TYPE_NAMES = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
              np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor",
              np.dtype(np.int32): "IntTensor", np.dtype(np.int16): "ShortTensor",
              np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor",
              np.dtype(np.bool_): "BoolTensor"}
DTYPE_NAMES = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "float": np.float32,
               "double": np.float64, "int64": np.int64, "int32": np.int32, "long": np.int64,
               "bool": np.bool_}


def as_dtype(dtype):
    """A numpy dtype from a dtype, a numpy type or one of DTYPE_NAMES; None stays None."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        if dtype not in DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; choose from {sorted(DTYPE_NAMES)}")
        return np.dtype(DTYPE_NAMES[dtype])
    return np.dtype(dtype)


def type_name(dtype, cuda: bool) -> str:
    """torch's legacy type string: float32 on the CPU -> "torch.FloatTensor"."""
    name = TYPE_NAMES.get(np.dtype(dtype))
    if name is None:
        raise TypeError(f"type: tensor dtype {dtype} has no torch type name")
    return ("torch.cuda." if cuda else "torch.") + name


def parse_type_name(name: str):
    """"torch.cuda.LongTensor" -> (int64, "cuda"); the inverse of :func:`type_name`."""
    parts = name.split(".")
    by_name = {v: k for k, v in TYPE_NAMES.items()}
    if parts[-1] not in by_name or len(parts) not in (2, 3) or parts[1:-1] not in ([], ["cuda"]):
        raise ValueError(f"type: invalid type {name!r}")
    return by_name[parts[-1]], "cuda" if len(parts) == 3 else "cpu"


def to_array(data, dtype, device):
    """A backend array of ``data`` (a list, scalar or array) with torch's dtype rules: Python
    floats -> float32, ints -> int64, bools stay bool, arrays keep their dtype (a float64 numpy
    array stays float64) unless ``dtype`` is given; on ``device``, else where ``data`` lives."""
    if dtype is None and not hasattr(data, "dtype"):
        arr = np.asarray(data)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "b":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                            f"(numpy dtype {arr.dtype})")
        data = arr
    device = normalize_device(device if device is not None else device_of(data))
    data = move(data, device)
    xp = array_module(device)
    return xp.asarray(data, dtype=dtype)
