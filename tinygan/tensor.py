"""Tensor: a backend array + device + dtype + requires_grad + grad + the graph node that made it.

``Tensor.data`` is the raw array (``numpy.ndarray`` on "cpu", ``cupy.ndarray`` on "cuda"), as in
micrograd: optimizers and initialisers update it in place. Every differentiable operation goes
through :mod:`tinygan.ops`; the methods here are thin aliases with PyTorch's names.
"""
from __future__ import annotations

import numpy as np

from . import autograd
from .devices import CPU, CUDA, array_module, device_of, move, normalize_device

float32, float64, float16 = np.float32, np.float64, np.float16
int32, int64, bool_ = np.int32, np.int64, np.bool_
int8, int16, uint8 = np.int8, np.int16, np.uint8
# torch's Tensor.type() names, by numpy dtype
_TYPE_NAMES = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
               np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor",
               np.dtype(np.int32): "IntTensor", np.dtype(np.int16): "ShortTensor",
               np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor",
               np.dtype(np.bool_): "BoolTensor"}
_DTYPE_NAMES = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "float": np.float32,
                "double": np.float64, "int64": np.int64, "int32": np.int32, "long": np.int64,
                "bool": np.bool_}


def as_dtype(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}; choose from {sorted(_DTYPE_NAMES)}")
        return np.dtype(_DTYPE_NAMES[dtype])
    return np.dtype(dtype)


def _to_array(data, dtype, device):
    """Build a backend array with torch's dtype rules: Python floats -> float32, ints -> int64,
    arrays keep their dtype (a float64 numpy array stays float64)."""
    if isinstance(data, Tensor):
        data = data.data
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


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, dtype=None, device=None, requires_grad=False)`` wraps ``data`` without a copy
    when it is already an array of the right dtype and device (``tinygan.tensor`` always copies).
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "__weakref__")
    __array_priority__ = 1000   # numpy scalars/arrays on the left defer to Tensor's operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        self.data = _to_array(data, as_dtype(dtype), device)
        self.grad = None
        self._node = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, node):
        """Fast internal constructor: ``node`` is the Context that produced ``data`` or None."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t._node = node
        t.requires_grad = node is not None
        return t

    # ----- properties -------------------------------------------------------------------------
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)

    def size(self, dim=None):
        """The shape (torch's name), or its length along ``dim``."""
        return tuple(self.data.shape) if dim is None else self.data.shape[dim]

    @property
    def device(self):
        """``tinygan.device("cpu")`` or ``tinygan.device("cuda")`` (a ``str`` subclass)."""
        return CPU if type(self.data) is np.ndarray or device_of(self.data) == "cpu" else CUDA

    @property
    def is_cuda(self) -> bool:
        return type(self.data) is not np.ndarray and device_of(self.data) == "cuda"

    @property
    def xp(self):
        """The array namespace of this tensor's device (numpy or cupy)."""
        return np if type(self.data) is np.ndarray else array_module(self.device)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return None if self._node is None else self._node.name

    @property
    def T(self):
        from . import ops
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        from . import ops
        return ops.swapaxes(self, -1, -2)

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ----- conversion -------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a numpy array (a copy from the GPU; shares memory on the CPU)."""
        return self.data if self.device == "cpu" else self.data.get()

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    def detach(self) -> "Tensor":
        """The same values, off the graph (shares the array)."""
        return Tensor._make(self.data, None)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"requires_grad_: only floating tensors can require grad, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def to(self, device_or_dtype=None, dtype=None, device=None, non_blocking=False, copy=False) -> "Tensor":
        """``t.to("cuda")``, ``t.to(tinygan.device("cuda", 0))``, ``t.to(tinygan.float64)``,
        ``t.to(other)`` (other's device and dtype), ``t.to(device="cpu", dtype="float32")``.
        Differentiable: the gradient flows back across the copy. ``non_blocking`` is ignored;
        ``copy=True`` returns a new tensor even when nothing changes."""
        from . import ops
        if isinstance(device_or_dtype, Tensor):
            device_or_dtype, dtype = device_or_dtype.device, device_or_dtype.dtype
        if device_or_dtype is not None:
            if isinstance(device_or_dtype, str) and device_or_dtype.split(":")[0] in ("cpu", "cuda"):
                device = device_or_dtype
            else:
                dtype = device_or_dtype
        out = self
        if dtype is not None and as_dtype(dtype) != self.dtype:
            out = ops.astype(out, as_dtype(dtype))
        if device is not None and normalize_device(device) != self.device:
            out = ops.to_device(out, normalize_device(device))
        return ops.clone(out) if copy and out is self else out

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):  # noqa: A003 -- torch's name
        return self.to(np.int32)

    def bool(self):  # noqa: A003
        return self.to(np.bool_)

    def type(self, dtype=None):  # noqa: A003
        """``t.type()``: torch's type string ("torch.FloatTensor", "torch.cuda.LongTensor");
        ``t.type(dtype)``: ``t`` cast to ``dtype`` (a dtype or such a string)."""
        if dtype is None:
            name = _TYPE_NAMES.get(self.dtype)
            if name is None:
                raise TypeError(f"type: tensor dtype {self.dtype} has no torch type name")
            return ("torch.cuda." if self.is_cuda else "torch.") + name
        if isinstance(dtype, str) and dtype.startswith("torch."):
            parts = dtype.split(".")
            by_name = {v: k for k, v in _TYPE_NAMES.items()}
            if parts[-1] not in by_name or len(parts) not in (2, 3) or parts[1:-1] not in ([], ["cuda"]):
                raise ValueError(f"type: invalid type {dtype!r}")
            return self.to(by_name[parts[-1]], device="cuda" if len(parts) == 3 else "cpu")
        return self.to(dtype)

    def astype(self, dtype):
        return self.to(dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def clone(self) -> "Tensor":
        from . import ops
        return ops.clone(self)

    # ----- in-place (no graph; for initialisers and optimizers) -------------------------------
    def _check_inplace(self, op):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"{op}: in-place change of a tensor that requires grad; "
                               "wrap it in `with tinygan.no_grad():`")

    def zero_(self):
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, src):
        self._check_inplace("copy_")
        src = src.data if isinstance(src, Tensor) else src
        if tuple(src.shape) != self.shape:
            raise ValueError(f"copy_: source shape {tuple(src.shape)} != destination shape {self.shape}")
        self.data[...] = move(src, self.device)
        return self

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        from .ops.movement import normalize_index
        self.data[normalize_index(index)] = value.data if isinstance(value, Tensor) else value

    # ----- autograd ---------------------------------------------------------------------------
    def backward(self, grad=None, create_graph=False, retain_graph=None):
        """Add d self / d leaf into ``leaf.grad`` for every leaf that requires grad.

        A non-scalar tensor needs ``grad`` (the cotangent, same shape). With
        ``create_graph=True`` the gradients are differentiable. The graph is kept, so calling
        backward again works and adds again; ``retain_graph`` is accepted and ignored."""
        autograd.backward(self, grad, create_graph)

    # ----- printing ---------------------------------------------------------------------------
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.dtype != np.float32 and self.dtype.kind == "f":
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._node is not None:
            extras.append(f"grad_fn={self._node.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __hash__ = object.__hash__


def _install_methods():
    """Attach operator overloads and torch-named methods that forward to tinygan.ops."""
    from . import ops

    def binary(fn, reverse=False):
        if reverse:
            return lambda self, other: fn(other, self)
        return lambda self, other: fn(self, other)

    table = {
        "__add__": binary(ops.add), "__radd__": binary(ops.add, True),
        "__sub__": binary(ops.sub), "__rsub__": binary(ops.sub, True),
        "__mul__": binary(ops.mul), "__rmul__": binary(ops.mul, True),
        "__truediv__": binary(ops.div), "__rtruediv__": binary(ops.div, True),
        "__pow__": binary(ops.pow), "__rpow__": binary(ops.pow, True),
        "__matmul__": binary(ops.matmul), "__rmatmul__": binary(ops.matmul, True),
        "__lt__": binary(ops.lt), "__le__": binary(ops.le), "__gt__": binary(ops.gt),
        "__ge__": binary(ops.ge), "__eq__": binary(ops.eq), "__ne__": binary(ops.ne),
        "__neg__": ops.neg, "__abs__": ops.abs, "__getitem__": ops.getitem,
        "__invert__": ops.logical_not,
    }
    for name in ("exp", "log", "sqrt", "abs", "neg", "relu", "sigmoid", "tanh", "softplus",
                 "log_sigmoid", "sum", "mean", "max", "min", "amax", "amin", "var", "std",
                 "reshape", "permute", "swapaxes", "expand", "broadcast_to", "squeeze",
                 "unsqueeze", "flatten", "flip", "matmul", "softmax", "log_softmax",
                 "logsumexp", "maximum", "minimum", "pow", "argmax", "argmin", "sign",
                 "leaky_relu", "square", "clip", "clamp", "where", "pad", "transpose", "view"):
        table.setdefault(name, getattr(ops, name))
    for name in ("prod", "any", "all", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
                 "gather", "scatter", "scatter_add", "roll", "repeat", "repeat_interleave", "tril",
                 "triu", "diag", "diagonal"):
        table.setdefault(name, getattr(ops, name))
    # elementwise math: torch's Tensor methods and operators
    table.update({"__mod__": binary(ops.remainder), "__rmod__": binary(ops.remainder, True),
                  "__floordiv__": binary(ops.floor_divide), "__rfloordiv__": binary(ops.floor_divide, True),
                  "__invert__": ops.bitwise_not,
                  "norm": lambda self, p=2, dim=None, keepdim=False, dtype=None: ops.vector_norm(
                      self, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)})
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh",
                 "atanh", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh",
                 "floor", "ceil", "round", "trunc", "fix", "isnan", "isinf", "isfinite", "erf", "erfc",
                 "log2", "exp2", "log10", "rsqrt", "fmod", "remainder", "lerp", "copysign", "logaddexp",
                 "div", "floor_divide", "logical_not", "logical_and", "logical_or", "logical_xor",
                 "bitwise_not"):
        table.setdefault(name, getattr(ops, name))
    # comparisons as methods (torch's x.eq(y) ...), view_as
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        table.setdefault(name, getattr(ops, name))
    table["view_as"] = lambda self, other: ops.reshape(self, other.shape)
    for name, fn in table.items():
        setattr(Tensor, name, fn)


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
