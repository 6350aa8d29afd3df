"""Tensor: a backend array + device + dtype + requires_grad + grad + the graph node that made it.

``Tensor.data`` is the raw array (``numpy.ndarray`` on "cpu", ``cupy.ndarray`` on "cuda"), as in
micrograd: optimizers and initialisers update it in place. Every differentiable operation goes
through :mod:`tinygan.ops`; the methods here are thin aliases with PyTorch's names (``x.exp()`` is
``ops.exp(x)``, ``x + y`` is ``ops.add(x, y)``), each defined in the class body below.
"""
from __future__ import annotations

import numpy as np

from .devices import CPU, CUDA, array_module, device_of, move, normalize_device
from .dtypes import as_dtype, parse_type_name, to_array, type_name


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, dtype=None, device=None, requires_grad=False)`` wraps ``data`` without a copy
    when it is already an array of the right dtype and device (``tinygan.tensor`` always copies).
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "__weakref__")
    __array_priority__ = 1000   # numpy scalars/arrays on the left defer to Tensor's operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        self.data = to_array(data.data if isinstance(data, Tensor) else data, as_dtype(dtype), device)
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
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
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
            return type_name(self.dtype, self.is_cuda)
        if isinstance(dtype, str) and dtype.startswith("torch."):
            dtype, device = parse_type_name(dtype)
            return self.to(dtype, device=device)
        return self.to(dtype)

    def astype(self, dtype):
        return self.to(dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def clone(self) -> "Tensor":
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
        self.data[ops.movement.normalize_index(index)] = value.data if isinstance(value, Tensor) else value

    # ----- autograd ---------------------------------------------------------------------------
    def backward(self, grad=None, create_graph=False, retain_graph=None):
        """Add d self / d leaf into ``leaf.grad`` for every leaf that requires grad.

        A non-scalar tensor needs ``grad`` (the cotangent, same shape). With
        ``create_graph=True`` the gradients are differentiable. The graph is kept, so calling
        backward again works and adds again; ``retain_graph`` is accepted and ignored."""
        autograd.backward(self, grad, create_graph)

    # ----- operators: x + y is ops.add(x, y) ... (ops/elementwise.py, matmul.py, movement.py) -----
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)
    def __mod__(self, other): return ops.remainder(self, other)
    def __rmod__(self, other): return ops.remainder(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __lt__(self, other): return ops.lt(self, other)
    def __le__(self, other): return ops.le(self, other)
    def __gt__(self, other): return ops.gt(self, other)
    def __ge__(self, other): return ops.ge(self, other)
    def __eq__(self, other): return ops.eq(self, other)
    def __ne__(self, other): return ops.ne(self, other)
    def __neg__(self): return ops.neg(self)
    def __abs__(self): return ops.abs(self)
    def __invert__(self): return ops.bitwise_not(self)
    def __getitem__(self, index): return ops.getitem(self, index)

    # ----- elementwise (ops/elementwise.py) -------------------------------------------------------
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def rsqrt(self): return ops.rsqrt(self)
    def square(self): return ops.square(self)
    def abs(self): return ops.abs(self)
    def neg(self): return ops.neg(self)
    def sign(self): return ops.sign(self)
    def relu(self): return ops.relu(self)
    def leaky_relu(self, negative_slope=0.01): return ops.leaky_relu(self, negative_slope)
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def softplus(self): return ops.softplus(self)
    def log_sigmoid(self): return ops.log_sigmoid(self)
    def pow(self, other): return ops.pow(self, other)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    def clip(self, min=None, max=None): return ops.clip(self, min, max)
    def div(self, other, *, rounding_mode=None): return ops.div(self, other, rounding_mode=rounding_mode)
    def floor_divide(self, other): return ops.floor_divide(self, other)

    # ----- comparisons and logic (ops/elementwise.py, elementwise_math.py) ------------------------
    def eq(self, other): return ops.eq(self, other)
    def ne(self, other): return ops.ne(self, other)
    def lt(self, other): return ops.lt(self, other)
    def le(self, other): return ops.le(self, other)
    def gt(self, other): return ops.gt(self, other)
    def ge(self, other): return ops.ge(self, other)
    def isnan(self): return ops.isnan(self)
    def isinf(self): return ops.isinf(self)
    def isfinite(self): return ops.isfinite(self)
    def logical_not(self): return ops.logical_not(self)
    def logical_and(self, other): return ops.logical_and(self, other)
    def logical_or(self, other): return ops.logical_or(self, other)
    def logical_xor(self, other): return ops.logical_xor(self, other)
    def bitwise_not(self): return ops.bitwise_not(self)

    # ----- more elementwise math (ops/elementwise.py, elementwise_math.py) ------------------------
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    def atan2(self, other): return ops.atan2(self, other)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def asinh(self): return ops.asinh(self)
    def acosh(self): return ops.acosh(self)
    def atanh(self): return ops.atanh(self)
    def arcsin(self): return ops.arcsin(self)
    def arccos(self): return ops.arccos(self)
    def arctan(self): return ops.arctan(self)
    def arctan2(self, other): return ops.arctan2(self, other)
    def arcsinh(self): return ops.arcsinh(self)
    def arccosh(self): return ops.arccosh(self)
    def arctanh(self): return ops.arctanh(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def round(self, decimals=0): return ops.round(self, decimals)
    def trunc(self): return ops.trunc(self)
    def fix(self): return ops.fix(self)
    def erf(self): return ops.erf(self)
    def erfc(self): return ops.erfc(self)
    def log2(self): return ops.log2(self)
    def exp2(self): return ops.exp2(self)
    def log10(self): return ops.log10(self)
    def fmod(self, other): return ops.fmod(self, other)
    def remainder(self, other): return ops.remainder(self, other)
    def lerp(self, end, weight): return ops.lerp(self, end, weight)
    def copysign(self, other): return ops.copysign(self, other)
    def logaddexp(self, other): return ops.logaddexp(self, other)

    # ----- reductions (ops/reduce.py, prod.py) and scans (ops/scan.py) ----------------------------
    def sum(self, axis=None, keepdims=None, *, dim=None, keepdim=False, dtype=None):
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim, dtype=dtype)
    def mean(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def var(self, axis=None, keepdims=None, *, dim=None, keepdim=False, correction=1):
        return ops.var(self, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction)
    def std(self, axis=None, keepdims=None, *, dim=None, keepdim=False, correction=1):
        return ops.std(self, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction)
    def max(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def min(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.min(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def amax(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.amax(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def amin(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.amin(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def argmax(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def argmin(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def logsumexp(self, axis=None, keepdims=None, *, dim=None, keepdim=False):
        return ops.logsumexp(self, axis, keepdims, dim=dim, keepdim=keepdim)
    def softmax(self, dim=None, *, axis=None): return ops.softmax(self, dim, axis=axis)
    def log_softmax(self, dim=None, *, axis=None): return ops.log_softmax(self, dim, axis=axis)
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return ops.prod(self, dim, keepdim, dtype=dtype)
    def any(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.any(self, dim, keepdim, keepdims=keepdims)
    def all(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.all(self, dim, keepdim, keepdims=keepdims)
    def cumsum(self, dim, *, dtype=None): return ops.cumsum(self, dim, dtype=dtype)
    def cumprod(self, dim, *, dtype=None): return ops.cumprod(self, dim, dtype=dtype)
    def cummax(self, dim): return ops.cummax(self, dim)
    def cummin(self, dim): return ops.cummin(self, dim)
    def logcumsumexp(self, dim): return ops.logcumsumexp(self, dim)

    # ----- shape and movement (ops/movement.py, tiling.py, diagonal.py, indexing.py) --------------
    def reshape(self, *shape): return ops.reshape(self, *shape)
    def view(self, *shape): return ops.view(self, *shape)
    def permute(self, *axes): return ops.permute(self, *axes)
    def transpose(self, axis0, axis1): return ops.transpose(self, axis0, axis1)
    def swapaxes(self, axis0, axis1): return ops.swapaxes(self, axis0, axis1)
    def expand(self, *sizes): return ops.expand(self, *sizes)
    def broadcast_to(self, *shape): return ops.broadcast_to(self, *shape)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def flip(self, dims=None, *, axis=None): return ops.flip(self, dims, axis=axis)
    def pad(self, pad_width, value=0.0): return ops.pad(self, pad_width, value)
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def repeat(self, *sizes): return ops.repeat(self, *sizes)
    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return ops.repeat_interleave(self, repeats, dim, output_size=output_size)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def diag(self, diagonal=0): return ops.diag(self, diagonal)
    def diagonal(self, offset=0, dim1=0, dim2=1): return ops.diagonal(self, offset, dim1, dim2)
    def gather(self, dim, index, *, sparse_grad=False):
        return ops.gather(self, dim, index, sparse_grad=sparse_grad)
    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return ops.scatter(self, dim, index, src, value=value, reduce=reduce)
    def scatter_add(self, dim, index, src): return ops.scatter_add(self, dim, index, src)

    # ----- matmul, where, linear operators (ops/linear.py), norm (ops/activation.py) -------------
    def matmul(self, other): return ops.matmul(self, other)
    def where(self, condition, other): return ops.where(condition, self, other)
    def view_as(self, other): return ops.reshape(self, other.shape)
    def _apply_operator(self, op):
        """``op(x)`` for a ``tinygan.linops.LinearOperator`` op: A x, whose VJP is A^T."""
        return ops.apply_linear(op, self)
    def norm(self, p=2, dim=None, keepdim=False, dtype=None):
        """torch's ``x.norm``: the vector p-norm (``"fro"`` = 2) over ``dim`` (all by default)."""
        return ops.vector_norm(self, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)

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


# autograd (grad mode, the backward walk) and the ops take and return Tensors, and the methods
# above call them at run time: imported last, once Tensor exists, so that any of these modules may
# be imported first (docs/architecture.md, "Layers").
from . import autograd, ops  # noqa: E402
