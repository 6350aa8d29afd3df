"""torch.nn.utils: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``) and spectral
normalisation (``spectral_norm``, ``remove_spectral_norm``; :mod:`tinygan.nn.spectral_norm`).

The clipping functions work in place on ``p.grad.data`` (the raw arrays) after ``backward()``,
before ``step()``.
"""
from __future__ import annotations

import math

import numpy as np

from ..devices import xp_of
from ..tensor import Tensor
from .spectral_norm import SpectralNorm, remove_spectral_norm, spectral_norm  # noqa: F401


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def _norm(xp, a, norm_type):
    if norm_type == math.inf:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if norm_type == -math.inf:
        return xp.abs(a).min() if a.size else xp.array(math.inf, a.dtype)
    if norm_type == 0:
        return xp.asarray((a != 0).sum(), dtype=a.dtype)
    return (xp.abs(a) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most
    ``max_norm``; returns that total norm (before clipping) as a 0-d Tensor.

    As torch: total = || (||g_1||, ..., ||g_k||) ||, every gradient is multiplied by
    min(1, max_norm / (total + 1e-6)); no gradients gives tensor(0.). ``error_if_nonfinite``
    raises a RuntimeError when total is NaN or Inf (otherwise the gradients get scaled by it)."""
    norm_type = float(norm_type)
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    xp = xp_of(grads[0])
    norms = xp.stack([_norm(xp, g.reshape(-1), norm_type).astype(grads[0].dtype) for g in grads])
    total = _norm(xp, norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef.astype(g.dtype)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp_of(g).clip(g, -clip_value, clip_value, out=g)
