"""AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") and Adadelta (Zeiler,
"ADADELTA: An Adaptive Learning Rate Method"), with torch.optim's defaults and update order."""
from __future__ import annotations

from .adam import Adam
from .optimizer import Optimizer, check_range


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
    maximize=False)``: Adam whose weight decay shrinks the weights directly,
    p <- p (1 - lr wd), before the Adam step (not added to the gradient)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)``

    With g = grad (+ weight_decay * p), state v (square_avg) and u (acc_delta), both zero at first::

        v <- rho v + (1 - rho) g^2
        d  = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho u + (1 - rho) d^2
        p <- p - lr d

    State per parameter: ``step`` (int), ``square_avg``, ``acc_delta``.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _validate(self, group):
        super()._validate(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")
        check_range(group["eps"], "Invalid epsilon value")
        check_range(group["weight_decay"], "Invalid weight_decay value")

    def _update(self, p, grad, state, group):
        xp = p.xp
        if group["maximize"]:
            grad = -grad
        rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            state["acc_delta"] = xp.zeros_like(p.data)
        state["step"] += 1
        if wd:
            grad = grad + wd * p.data
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * (grad * grad)
        std = xp.sqrt(v + eps)
        delta = xp.sqrt(u + eps)
        delta /= std
        delta *= grad
        u *= rho
        u += (1 - rho) * (delta * delta)
        p.data -= group["lr"] * delta
