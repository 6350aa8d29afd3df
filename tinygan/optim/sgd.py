"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay (torch.optim.SGD)."""
from __future__ import annotations

from .optimizer import Optimizer, check_range


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False)``

    With g = grad (+ weight_decay * p), and b the momentum buffer (b = g at the first step)::

        b <- momentum * b + (1 - dampening) * g
        d  = g + momentum * b   (nesterov)   or   b   (momentum > 0)   or   g
        p <- p - lr * d

    ``maximize=True`` ascends (g -> -g). State per parameter: ``momentum_buffer`` (momentum > 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _validate(self, group):
        super()._validate(group)
        check_range(group["momentum"], "Invalid momentum value")
        check_range(group["weight_decay"], "Invalid weight_decay value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, p, grad, state, group):
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = p.xp.array(grad, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad
