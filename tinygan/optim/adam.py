"""Adam (Kingma & Ba) with PyTorch's bias correction, L2 or decoupled (AdamW) weight decay, AMSGrad."""
from __future__ import annotations

from .. import backends
from ..devices import device_of
from .optimizer import Optimizer, check_range


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False, decoupled_weight_decay=False)``

    At step t, with g = grad (+ weight_decay * p unless decoupled)::

        m <- b1 m + (1 - b1) g              v <- b2 v + (1 - b2) g^2
        p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    (AMSGrad uses max over time of v; decoupled weight decay first does p <- p (1 - lr wd), AdamW.)
    DCGAN uses lr=2e-4, betas=(0.5, 0.999). State: ``step`` (int), ``exp_avg``, ``exp_avg_sq``
    (and ``max_exp_avg_sq``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _validate(self, group):
        super()._validate(group)
        check_range(group["eps"], "Invalid epsilon value")
        b1, b2 = group["betas"]
        check_range(b1, "Invalid beta parameter at index 0", 1.0)
        check_range(b2, "Invalid beta parameter at index 1", 1.0)
        check_range(group["weight_decay"], "Invalid weight_decay value")

    def _update(self, p, grad, state, group):
        xp = p.xp
        if group["maximize"]:
            grad = -grad
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        if wd:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        step_size = lr / (1 - b1 ** t)
        bc2_sqrt = (1 - b2 ** t) ** 0.5
        if not group["amsgrad"]:   # the fused kernel: one pass over p, g, m, v
            kernel = backends.get("adam_update", device_of(p.data))
            kernel(p.data, grad, m, v, b1, b2, step_size, bc2_sqrt, eps)
            return
        m += (1 - b1) * (grad - m)                      # torch's lerp
        v *= b2
        v += (1 - b2) * (grad * grad)
        xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = xp.sqrt(state["max_exp_avg_sq"]) / bc2_sqrt + eps
        p.data -= step_size * (m / denom)
