"""The numpy backend's batch normalisation kernels (the GPU backends share its argument checks).

Same contract as :mod:`tinygan.backends.reference` (the spec, tested against it), computed with
fewer temporaries (in-place updates).

Shapes: ``x`` is ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``; statistics are per channel (axis 1),
reduced over every other axis, ``m = x.size / C`` values per channel. ``weight``, ``bias``,
``running_mean``, ``running_var``, ``save_mean``, ``save_invstd`` are ``(C,)`` arrays (``weight`` /
``bias`` / running statistics may be None). Outputs keep ``x``'s dtype; ``y`` and ``dx`` are
C-contiguous with ``x``'s shape.

``batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps)
-> (y, save_mean, save_invstd)``

* training: ``mu = mean(x)``, ``var = mean((x - mu)^2)`` (biased, used to normalise),
  ``invstd = 1 / sqrt(var + eps)``, ``y = (x - mu) * invstd * weight + bias``. When given, the
  running statistics are updated IN PLACE, PyTorch's way::

      running_mean = (1 - momentum) * running_mean + momentum * mu
      running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)   # unbiased

  (PyTorch's cumulative average, ``momentum=None``, is the caller's business: it passes
  ``momentum = 1 / num_batches_tracked``.) ``save_mean = mu``, ``save_invstd = invstd``.
* eval: ``y = (x - running_mean) / sqrt(running_var + eps) * weight + bias``; nothing is updated;
  ``save_mean = running_mean`` (a copy), ``save_invstd = 1 / sqrt(running_var + eps)``.

``batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training) -> (dx, dweight, dbias)``

The fused closed form, with ``xhat = (x - save_mean) * save_invstd`` and means over the m values of
a channel::

    dbias   = sum(dy)                    dweight = sum(dy * xhat)
    training: dx = invstd * weight * (dy - mean(dy) - xhat * mean(dy * xhat))
    eval:     dx = invstd * weight * dy  (the running statistics are constants)

``weight=None`` means weight 1 (``dweight`` is still returned).
"""
from __future__ import annotations

import numpy as np

from ..devices import xp_of


def _layout(x):
    """Reduction axes (all but 1) and the broadcast shape (1, C, 1, ...) of a per-channel vector."""
    if x.ndim < 2:
        raise ValueError(f"batch norm: expected an input (N, C, ...), got shape {tuple(x.shape)}")
    return (0,) + tuple(range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def check_fwd_args(x, training, running_mean, running_var):
    """The spec's argument errors for ``batchnorm_fwd``, shared with the GPU backends (whose
    kernels update the running statistics in place, so these must be contiguous there too).
    Returns ``(C, L, m)``: x viewed as (N, C, L), m = N * L values per channel."""
    if x.ndim < 2:
        raise ValueError(f"batch norm: expected an input (N, C, ...), got shape {tuple(x.shape)}")
    length = int(np.prod(x.shape[2:], dtype=np.int64))
    m = x.shape[0] * length
    if training and m <= 1:
        raise ValueError(f"batch norm: expected more than 1 value per channel when training, "
                         f"got input of shape {tuple(x.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch norm: eval mode needs running_mean and running_var")
    for stat in (running_mean, running_var):
        if stat is not None and not stat.flags.c_contiguous:
            raise ValueError("batch norm: running statistics must be contiguous (updated in place)")
    return x.shape[1], length, m


def batchnorm_fwd(x, weight, bias, running_mean, running_var, training, momentum, eps):
    xp = xp_of(x)
    axes, shape = _layout(x)
    if training:
        m = x.size // x.shape[1]
        if m <= 1:
            raise ValueError(f"batch norm: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(x.shape)}")
        mean = x.mean(axis=axes)
        centred = x - mean.reshape(shape)
        var = (centred * centred).mean(axis=axes)
        invstd = 1.0 / xp.sqrt(var + eps)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * m / (m - 1)) * var
        y = centred
        y *= invstd.reshape(shape)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch norm: eval mode needs running_mean and running_var")
        mean = running_mean.copy()
        invstd = (1.0 / xp.sqrt(running_var + eps)).astype(x.dtype, copy=False)
        y = (x - mean.reshape(shape)) * invstd.reshape(shape)
    if weight is not None:
        y *= weight.reshape(shape)
    if bias is not None:
        y += bias.reshape(shape)
    return xp.ascontiguousarray(y), mean, invstd


def batchnorm_bwd(dy, x, weight, save_mean, save_invstd, training):
    xp = xp_of(x)
    axes, shape = _layout(x)
    xhat = (x - save_mean.reshape(shape)) * save_invstd.reshape(shape)
    dbias = dy.sum(axis=axes)
    dweight = (dy * xhat).sum(axis=axes)
    scale = save_invstd if weight is None else save_invstd * weight
    if training:
        m = x.size // x.shape[1]
        dx = dy - (dbias / m).reshape(shape)
        dx -= xhat * (dweight / m).reshape(shape)
        dx *= scale.reshape(shape)
    else:
        dx = dy * scale.reshape(shape)
    return xp.ascontiguousarray(dx), dweight, dbias


_CONSTANTS = {}


def device_constants(owner, asarray, dtype, values: tuple):
    """A read-only device array of ``values`` (the GPU batch norms' [1 - momentum, momentum,
    unbiased momentum, eps]), copied to the device once per (owner, dtype, values) and reused:
    a host-to-device copy on every call costs more than the kernels at DCGAN sizes. ``owner`` is
    the runtime or array module that ``asarray`` belongs to; kernels must never write the array."""
    key = (owner, np.dtype(dtype).str, tuple(float(v) for v in values))
    array = _CONSTANTS.get(key)
    if array is None:
        array = _CONSTANTS[key] = asarray(np.array(values, dtype=dtype))
    return array
