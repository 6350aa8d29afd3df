"""Activation modules with PyTorch's names and constructor arguments; each wraps the function of
:mod:`tinygan.ops.activation` (any input shape, output of the same shape). ``inplace`` is accepted
and ignored: tinygan's ops never write into their input."""
from __future__ import annotations

from ..ops import activation as A
from .module import Module


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
