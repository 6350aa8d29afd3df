"""The LinearOperator protocol: y = A x, x = A^T y, composition, and the dense matrix.

An operator is built for one concrete ``in_shape`` (batch dimension included) and acts on backend
arrays (numpy on the CPU, cupy on the GPU). The defining property of the adjoint, checked by every
dottest, is ``<A x, y> = <x, A^T y>`` for all x, y.
"""
from __future__ import annotations

import math
import numbers

import numpy


def array_module(x):
    """``numpy`` or ``cupy``, whichever owns array ``x`` (cupy is imported only when it does)."""
    if type(x).__module__.startswith("cupy"):
        import cupy
        return cupy
    return numpy


def is_array(x) -> bool:
    """True for a numpy or cupy array (as opposed to a tinygan Tensor)."""
    return isinstance(x, numpy.ndarray) or type(x).__module__.startswith("cupy")


def _fmt(value) -> str:
    """Compact repr for hyper-parameters: a tuple of equal ints prints as that int."""
    if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
        return str(value[0]) if len(set(value)) == 1 else _fmt_shape(value)
    if isinstance(value, tuple):
        items = (_fmt_shape(v) if isinstance(v, tuple) else str(v) for v in value)
        return "(" + ",".join(items) + ")"
    return repr(value)


def _fmt_shape(shape: tuple) -> str:
    """``(1,1,7)``: shapes without spaces, so a repr stays on one line."""
    return "(" + ",".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class LinearOperator:
    """A linear map A from arrays of ``in_shape`` to arrays of ``out_shape``.

    ``apply(x)`` is A x, ``adjoint(y)`` is A^T y, ``A.T`` is the adjoint operator
    (``(A.T).T is A``), ``A @ B`` is the composition x -> A (B x), and ``to_dense()`` is the
    (prod(out_shape), prod(in_shape)) matrix of A acting on C-order flattened arrays.
    ``dtype`` is the dtype of that matrix (a weighted operator's weight dtype); ``apply`` and
    ``adjoint`` keep the dtype of their input.

    Subclasses implement ``_apply`` and ``_adjoint`` (shapes already checked) and may override
    ``_make_transpose`` to return a named operator (Conv.T is a ConvTranspose) instead of the
    generic ``Transposed`` wrapper.
    """

    # True when A acts on every slice x[n] along axis 0 in the same way and _apply / _adjoint
    # accept any size of that axis: to_dense then probes one sample and builds kron(I_N, A_1).
    per_sample = False

    def __init__(self, in_shape, out_shape, dtype=numpy.float64, xp=numpy):
        self.in_shape = tuple(int(s) for s in in_shape)
        self.out_shape = tuple(int(s) for s in out_shape)
        self.dtype = numpy.dtype(dtype)
        self.xp = xp
        self._transpose = None

    # -- to implement -------------------------------------------------------------------------
    def _apply(self, x):
        raise NotImplementedError

    def _adjoint(self, y):
        raise NotImplementedError

    def _make_transpose(self) -> "LinearOperator":
        return Transposed(self)

    def _repr_params(self) -> dict:
        """Extra ``name=value`` pairs for ``repr`` (the non-default hyper-parameters)."""
        return {}

    # -- public -------------------------------------------------------------------------------
    def apply(self, x):
        """A x: ``in_shape`` -> ``out_shape``."""
        self._check(x, self.in_shape, "apply", "input")
        return self._apply(x)

    def adjoint(self, y):
        """A^T y: ``out_shape`` -> ``in_shape``."""
        self._check(y, self.out_shape, "adjoint", "input")
        return self._adjoint(y)

    def __call__(self, x):
        """A x for an array; for a tinygan Tensor, a differentiable A x (its VJP is A^T).

        linops sits below the tensors and knows nothing of them: anything that is not an array
        applies the operator itself, through its ``_apply_operator`` method (Tensor's calls
        ``tinygan.ops.apply_linear``)."""
        if is_array(x):
            return self.apply(x)
        apply_operator = getattr(x, "_apply_operator", None)
        if apply_operator is None:
            raise TypeError(f"{type(self).__name__}: expected an array or a tinygan Tensor, "
                            f"got {type(x).__name__}")
        return apply_operator(self)

    @property
    def T(self) -> "LinearOperator":
        """The adjoint operator A^T, built once; ``A.T.T is A``."""
        if self._transpose is None:
            transpose = self._make_transpose()
            transpose._transpose = self
            self._transpose = transpose
        return self._transpose

    @property
    def shape(self) -> tuple[int, int]:
        """(prod(out_shape), prod(in_shape)): the shape of the dense matrix."""
        return math.prod(self.out_shape), math.prod(self.in_shape)

    def to_dense(self):
        """The matrix of A, column j = A e_j (C-order flattening of ``in_shape``/``out_shape``)."""
        xp = self.xp
        m, n = self.shape
        if self.per_sample:
            # A = kron(I_N, A_1): probe one sample with all its basis vectors as a single batch.
            n1 = n // self.in_shape[0]
            basis = xp.eye(n1, dtype=self.dtype).reshape((n1,) + self.in_shape[1:])
            block = self._apply(basis).reshape(n1, -1).T
            return xp.kron(xp.eye(self.in_shape[0], dtype=self.dtype), block)
        dense = xp.zeros((m, n), dtype=self.dtype)
        basis = xp.zeros(n, dtype=self.dtype)
        for j in range(n):
            basis[j] = 1
            dense[:, j] = self._apply(basis.reshape(self.in_shape)).reshape(-1)
            basis[j] = 0
        return dense

    # -- algebra ------------------------------------------------------------------------------
    def __matmul__(self, other):
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Composed(self, other)

    def __add__(self, other):
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, other)

    def __sub__(self, other):
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, Scaled(-1.0, other))

    def __mul__(self, alpha):
        if not isinstance(alpha, numbers.Real):
            return NotImplemented
        return Scaled(alpha, self)

    __rmul__ = __mul__

    def __neg__(self):
        return Scaled(-1.0, self)

    def __repr__(self) -> str:
        parts = [f"in_shape={_fmt_shape(self.in_shape)}", f"out_shape={_fmt_shape(self.out_shape)}"]
        parts += [f"{k}={_fmt(v)}" for k, v in self._repr_params().items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    def _check(self, x, shape, method, what):
        if tuple(x.shape) != shape:
            raise ValueError(f"{self!r}.{method}: expected {what} of shape {_fmt_shape(shape)}, "
                             f"got {_fmt_shape(tuple(x.shape))}")


class Transposed(LinearOperator):
    """A^T for an operator A with no named adjoint: apply is A's adjoint, adjoint is A's apply."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.out_shape, op.in_shape, op.dtype, op.xp)
        self.op = op
        self.per_sample = op.per_sample

    def _apply(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._apply(y)

    def __repr__(self) -> str:
        return f"{self.op!r}.T"


class Composed(LinearOperator):
    """A @ B: x -> A (B x); its adjoint is B^T A^T, i.e. y -> B^T (A^T y)."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        if outer.in_shape != inner.out_shape:
            raise ValueError(f"cannot compose {outer!r} @ {inner!r}: the left operator takes shape "
                             f"{_fmt_shape(outer.in_shape)} but the right one returns "
                             f"{_fmt_shape(inner.out_shape)}")
        super().__init__(inner.in_shape, outer.out_shape,
                         numpy.result_type(outer.dtype, inner.dtype), outer.xp)
        self.outer, self.inner = outer, inner
        self.per_sample = outer.per_sample and inner.per_sample

    def _apply(self, x):
        return self.outer._apply(self.inner._apply(x))

    def _adjoint(self, y):
        return self.inner._adjoint(self.outer._adjoint(y))

    def _make_transpose(self):
        return Composed(self.inner.T, self.outer.T)

    def __repr__(self) -> str:
        return f"({self.outer!r} @ {self.inner!r})"


class Sum(LinearOperator):
    """A + B on the same shapes; (A + B)^T = A^T + B^T."""

    def __init__(self, a: LinearOperator, b: LinearOperator):
        if a.in_shape != b.in_shape or a.out_shape != b.out_shape:
            raise ValueError(f"cannot add {a!r} and {b!r}: shapes "
                             f"{_fmt_shape(a.out_shape)}x{_fmt_shape(a.in_shape)} and "
                             f"{_fmt_shape(b.out_shape)}x{_fmt_shape(b.in_shape)} differ")
        super().__init__(a.in_shape, a.out_shape, numpy.result_type(a.dtype, b.dtype), a.xp)
        self.a, self.b = a, b
        self.per_sample = a.per_sample and b.per_sample

    def _apply(self, x):
        return self.a._apply(x) + self.b._apply(x)

    def _adjoint(self, y):
        return self.a._adjoint(y) + self.b._adjoint(y)

    def _make_transpose(self):
        return Sum(self.a.T, self.b.T)

    def __repr__(self) -> str:
        return f"({self.a!r} + {self.b!r})"


class Scaled(LinearOperator):
    """alpha A for a real scalar alpha; (alpha A)^T = alpha A^T."""

    def __init__(self, alpha: float, op: LinearOperator):
        super().__init__(op.in_shape, op.out_shape, op.dtype, op.xp)
        self.alpha, self.op = alpha, op
        self.per_sample = op.per_sample

    def _apply(self, x):
        return self.op._apply(x) * self.alpha

    def _adjoint(self, y):
        return self.op._adjoint(y) * self.alpha

    def _make_transpose(self):
        return Scaled(self.alpha, self.op.T)

    def __repr__(self) -> str:
        return f"{self.alpha!r} * {self.op!r}"


class Identity(LinearOperator):
    """I x = x on ``shape``; I^T = I."""

    per_sample = True

    def __init__(self, shape, dtype=numpy.float64):
        super().__init__(shape, shape, dtype)

    def _apply(self, x):
        return x

    def _adjoint(self, y):
        return y

    def _make_transpose(self):
        return self
