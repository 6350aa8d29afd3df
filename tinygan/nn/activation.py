"""Activation modules with PyTorch's names and constructor arguments; each wraps the function of
:mod:`tinygan.ops.activation` (any input shape, output of the same shape). ``inplace`` is accepted
and ignored: tinygan's ops never write into their input."""
from __future__ import annotations

import warnings

import numpy as np

from ..devices import array_module, normalize_device
from ..dtypes import as_dtype
from ..ops import activation as A
from ..ops import activation_piecewise as P
from ..ops.reduce import log_softmax, softmax
from .module import Module, Parameter


class _Activation(Module):
    """A stateless elementwise module: ``forward(x) = fn(x, name=self.name, ...)`` for the
    constructor arguments it keeps as attributes (``m.alpha``, ``m.dim``... as in torch)."""

    def __init__(self, **kwargs):
        super().__init__()
        self._arg_names = tuple(kwargs)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def forward(self, x):
        return type(self).fn(x, **{k: getattr(self, k) for k in self._arg_names})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self._arg_names)


class GELU(_Activation):
    """x Phi(x) (``approximate="none"``) or its tanh approximation (``"tanh"``)."""
    fn = staticmethod(A.gelu)

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(approximate=approximate)


class SiLU(_Activation):
    """x sigmoid(x)."""
    fn = staticmethod(A.silu)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Mish(_Activation):
    """x tanh(softplus(x))."""
    fn = staticmethod(A.mish)

    def __init__(self, inplace: bool = False):
        super().__init__()


class ELU(_Activation):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    fn = staticmethod(A.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=float(alpha))


class SELU(_Activation):
    """scale * elu(x, alpha) with Klambauer et al.'s self-normalising constants."""
    fn = staticmethod(A.selu)

    def __init__(self, inplace: bool = False):
        super().__init__()


class CELU(_Activation):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1))."""
    fn = staticmethod(A.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0")
        super().__init__(alpha=float(alpha))


class Hardswish(_Activation):
    """x relu6(x + 3) / 6."""
    fn = staticmethod(A.hardswish)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""
    fn = staticmethod(A.hardsigmoid)

    def __init__(self, inplace: bool = False):
        super().__init__()


class Softsign(_Activation):
    """x / (1 + |x|)."""
    fn = staticmethod(A.softsign)


class Softplus(_Activation):
    """log(1 + e^(beta x)) / beta, linear (= x) where beta x > threshold."""
    fn = staticmethod(A.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__(beta=float(beta), threshold=float(threshold))


class Softmin(_Activation):
    """softmax(-x) along ``dim``."""
    fn = staticmethod(A.softmin)

    def __init__(self, dim=None):
        super().__init__(dim=dim)


# ---- piecewise and gated activations (tinygan.ops.activation_piecewise), softmax family ----------
class Hardtanh(_Activation):
    """x clamped to [min_val, max_val]; torch's module asserts max_val > min_val."""
    fn = staticmethod(P.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value=None, max_value=None):
        if min_value is not None or max_value is not None:
            warnings.warn("keyword argument min_value / max_value is deprecated and renamed to "
                          "min_val / max_val", FutureWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        if not max_val > min_val:
            raise AssertionError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        super().__init__(min_val=min_val, max_val=max_val)


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): Hardtanh(0, 6), as in torch."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0)

    def extra_repr(self):
        return ""


class Threshold(_Activation):
    """x where x > threshold, else value."""
    fn = staticmethod(P.threshold)

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(threshold=threshold, value=value)


class Hardshrink(_Activation):
    """x where |x| > lambd, else 0."""
    fn = staticmethod(P.hardshrink)

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd=lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x - lambd sign(x) where |x| > lambd, else 0."""
    fn = staticmethod(P.softshrink)


class Tanhshrink(_Activation):
    """x - tanh(x)."""
    fn = staticmethod(P.tanhshrink)


class LogSigmoid(_Activation):
    """log sigmoid(x) = -softplus(-x)."""
    fn = staticmethod(P.logsigmoid)


class GLU(_Activation):
    """a * sigmoid(b) for the halves a, b of the input along ``dim`` (its size halves)."""
    fn = staticmethod(P.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim=dim)


class _SoftmaxDim(_Activation):
    """softmax / log_softmax along ``dim``; dim=None picks torch's legacy dim, with its warning."""

    def __init__(self, dim=None):
        super().__init__(dim=dim)

    def forward(self, x):
        dim = self.dim
        if dim is None:
            dim = A.legacy_softmax_dim(x.ndim, type(self).__name__)
        return type(self).fn(x, dim)


class Softmax(_SoftmaxDim):
    """e^x / sum e^x along ``dim``."""
    fn = staticmethod(softmax)


class LogSoftmax(_SoftmaxDim):
    """x - logsumexp(x) along ``dim``."""
    fn = staticmethod(log_softmax)


class PReLU(Module):
    """Parametric ReLU (He et al., "Delving Deep into Rectifiers"): x where x > 0, else a_c x, with
    a learnable slope per channel (dim 1 of the input) or one shared slope.

    weight: (num_parameters,), every entry ``init``; ``dtype`` default float32."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = int(num_parameters), float(init)
        dtype = as_dtype(dtype) or np.dtype(np.float32)
        if dtype.kind != "f":
            raise TypeError(f"PReLU: weight must be floating, got dtype {dtype}")
        xp = array_module(normalize_device(device))
        self.weight = Parameter(xp.full((self.num_parameters,), self.init, dtype=dtype))

    def reset_parameters(self):
        self.weight.data[...] = self.init

    def forward(self, x):
        return P.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
