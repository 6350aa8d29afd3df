"""Batch normalisation as one differentiable op over the ``batchnorm_fwd`` / ``batchnorm_bwd`` kernels.

``batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
momentum=0.1, eps=1e-5)`` has torch.nn.functional.batch_norm's signature and semantics:

* input ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``; every other argument ``(C,)`` or None.
* training: normalise with the batch mean and biased variance; running statistics (when given)
  are updated in place with the unbiased variance and ``momentum``.
* eval: normalise with the running statistics.

Gradients. First order (plain ``backward``), the VJP is the fused closed form of the
``batchnorm_bwd`` kernel (one kernel call, no chain of small ops)::

    dx = invstd * w * (g - mean(g) - xhat * mean(g * xhat)),  dw = sum(g * xhat),  db = sum(g)

That kernel works on arrays and is not itself differentiable. Under ``create_graph=True`` (grad of
grad, e.g. WGAN-GP) the VJP is instead composed from Tensor ops -- the same formula with the batch
statistics recomputed from ``x`` on the graph -- so the gradient is differentiable again in
``x``, ``weight`` and the cotangent ``g``.
"""
from __future__ import annotations

from .. import backends
from ..autograd import Function, is_grad_enabled
from ..devices import device_of
from ..tensor import Tensor
from ._util import constant
from .elementwise import sqrt
from .movement import reshape
from .reduce import mean
from .reduce import sum as _sum


def _layout(ndim):
    return (0,) + tuple(range(2, ndim))


def _bshape(x_shape):
    return (1, x_shape[1]) + (1,) * (len(x_shape) - 2)


class BatchNorm(Function):
    name = "batch_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        kernel = backends.get("batchnorm_fwd", device_of(x))
        y, mean, invstd = kernel(x, weight, bias, running_mean, running_var, training, momentum, eps)
        ctx.save_mean, ctx.save_invstd = mean, invstd
        ctx.training, ctx.eps = training, eps
        return y

    @staticmethod
    def vjp(ctx, g):
        x, weight = ctx.inputs[0], ctx.inputs[1]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if is_grad_enabled():
            dx, dw, db = _composed_vjp(ctx, g, need_x, need_w, need_b)
        else:
            kernel = backends.get("batchnorm_bwd", x.device)
            dxa, dwa, dba = kernel(g.data, x.data, None if weight is None else weight.data,
                                   ctx.save_mean, ctx.save_invstd, ctx.training)
            dx = constant(dxa) if need_x else None
            dw = constant(dwa) if need_w else None
            db = constant(dba) if need_b else None
        return dx, dw, db, None, None, None, None, None


def _composed_vjp(ctx, g, need_x, need_w, need_b):
    """The closed-form VJP written with Tensor ops (differentiable: used when create_graph=True)."""
    x, weight = ctx.inputs[0], ctx.inputs[1]
    axes, shape = _layout(x.ndim), _bshape(x.shape)
    w = None if weight is None else reshape(weight, shape)
    if ctx.training:
        mu = mean(x, axes, keepdims=True)
        centred = x - mu
        invstd = 1.0 / sqrt(mean(centred * centred, axes, keepdims=True) + ctx.eps)
        xhat = centred * invstd
    else:
        invstd = constant(ctx.save_invstd.reshape(shape))
        xhat = (x - constant(ctx.save_mean.reshape(shape))) * invstd
    dx = dw = db = None
    if need_x:
        gw = g if w is None else g * w
        if ctx.training:
            dx = invstd * (gw - mean(gw, axes, keepdims=True)
                           - xhat * mean(gw * xhat, axes, keepdims=True))
        else:
            dx = gw * invstd
    if need_w:
        dw = _sum(g * xhat, axes)
    if need_b:
        db = _sum(g, axes)
    return dx, dw, db


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """torch.nn.functional.batch_norm: input (N, C, *) -> same shape, normalised per channel.

    ``running_mean`` / ``running_var`` (Tensors or arrays of shape (C,), or None) are updated in
    place when ``training``; eval mode needs them. ``momentum`` is a float (for PyTorch's
    cumulative average pass ``1 / num_batches_tracked``, as BatchNorm modules do)."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input (N, C, ...), got shape {input.shape}")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match the "
                             f"{c} channels of an input of shape {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: eval mode (training=False) needs running_mean and running_var")
    if training and input.numel() // max(c, 1) <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {input.shape}")
    if momentum is None:
        raise ValueError("batch_norm: momentum must be a number (pass 1 / num_batches_tracked "
                         "for a cumulative average)")
    for t in (running_mean, running_var):
        if isinstance(t, Tensor) and t.requires_grad:
            raise ValueError("batch_norm: running statistics must not require grad")
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training),
                           float(momentum), float(eps))
