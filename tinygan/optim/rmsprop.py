"""RMSprop (Hinton's lecture 6e; torch.optim.RMSprop), optionally centered and with momentum."""
from __future__ import annotations

from .optimizer import Optimizer, check_range


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False)``

    With g = grad (+ weight_decay * p)::

        s <- alpha s + (1 - alpha) g^2          (centered: a <- alpha a + (1 - alpha) g, s - a^2)
        d  = g / (sqrt(s) + eps)
        b <- momentum b + d,  p <- p - lr b     (momentum > 0)   or   p <- p - lr d

    WGAN (weight clipping) trains with RMSprop, lr 5e-5. State: ``step``, ``square_avg`` (and
    ``grad_avg``, ``momentum_buffer``).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _validate(self, group):
        super()._validate(group)
        check_range(group["eps"], "Invalid epsilon value")
        check_range(group["momentum"], "Invalid momentum value")
        check_range(group["weight_decay"], "Invalid weight_decay value")
        check_range(group["alpha"], "Invalid alpha value")

    def _update(self, p, grad, state, group):
        xp = p.xp
        if group["maximize"]:
            grad = -grad
        alpha, eps, mom = group["alpha"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if mom > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        s = state["square_avg"]
        s *= alpha
        s += (1 - alpha) * (grad * grad)
        if group["centered"]:
            a = state["grad_avg"]
            a += (1 - alpha) * (grad - a)
            avg = xp.sqrt(s - a * a)
        else:
            avg = xp.sqrt(s)
        avg += eps
        if mom > 0:
            buf = state["momentum_buffer"]
            buf *= mom
            buf += grad / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * (grad / avg)
