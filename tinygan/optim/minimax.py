r"""Minimax optimisation schemes: how the two players of a game take their steps.

Ryu's lecture ("GANs", "Minimax optimization") writes the game as

    minimize_{θ1} maximize_{θ2}  E_X[ L(θ1, θ2; X) ]

with θ1 the min player (the generator) and θ2 the max player (the discriminator), and compares
ways of stepping the two. Each scheme here is an object over two *base* optimizers -- one per
player, any of SGD / Adam / RMSprop -- so "α_k ∇L" below stands for whatever step the base
optimizer takes with that gradient (with plain SGD it is literally α ∇L).

Losses are closures, because several schemes evaluate gradients at more than one point::

    scheme.step(loss)                  # zero-sum: θ1 minimises loss(), θ2 maximises it
    scheme.step(g_loss, d_loss)        # general: each player MINIMISES its own loss

The second form covers GANs where the players do not share one objective: the generator's
non-saturating loss -log D(G(z)) against the discriminator's cross-entropy. In the equations,
"θ2 + α ∇L" then reads "θ2 - α ∇_{θ2} L_max" and "θ1 - α ∇L" reads "θ1 - α ∇_{θ1} L_min".
A closure returns a scalar Tensor computed from the *current* parameters; it must not call
backward (the scheme computes the gradients with ``tinygan.grad`` and sets each player's
``p.grad``, replacing what was there). If a closure draws a fresh batch X each call, each
evaluation sees its own X; draw the batch outside the closure to hold X^k fixed over a step.

``step`` returns ``{"min_loss": float, "max_loss": float}``: each player's loss at the start of
the step (for the zero-sum form ``max_loss = -loss``).

On the bilinear game min_x max_y x y from (1, 1) with step 0.1 (``python -m tinygan.train
bilinear``): simultaneous GDA spirals out, alternating GDA circles on a bounded orbit, extragradient
and optimistic GDA converge to the equilibrium (0, 0).
"""
from __future__ import annotations

import numpy as np

from ..autograd import enable_grad
from ..autograd import grad as _grad
from ..devices import move
from ..tensor import Tensor


def _params(optimizer):
    return [p for g in optimizer.param_groups for p in g["params"]]


class MinimaxOptimizer:
    """Base class: ``Scheme(min_optimizer, max_optimizer)``; subclasses define ``step``."""

    def __init__(self, min_optimizer, max_optimizer):
        self.min_optimizer, self.max_optimizer = min_optimizer, max_optimizer
        ids = {id(p) for p in _params(min_optimizer)}
        if any(id(p) in ids for p in _params(max_optimizer)):
            raise ValueError(f"{type(self).__name__}: the two players share a parameter")

    def __repr__(self):
        return (f"{type(self).__name__}(min={type(self.min_optimizer).__name__}, "
                f"max={type(self.max_optimizer).__name__})")

    def step(self, min_loss, max_loss=None) -> dict:
        raise NotImplementedError

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.min_optimizer.zero_grad(set_to_none)
        self.max_optimizer.zero_grad(set_to_none)

    # ----- gradients ------------------------------------------------------------------------------
    def _set_grads(self, min_loss, max_loss, players=("min", "max")) -> dict:
        """Evaluate the closures at the current parameters and set ``p.grad`` of the requested
        players' parameters to the gradient of their own loss. Returns the loss values."""
        opts = {"min": self.min_optimizer, "max": self.max_optimizer}
        values = {}
        if max_loss is None:           # zero-sum: one evaluation of L serves both players
            with enable_grad():
                loss = min_loss()
            value = float(loss.item())
            params = [p for who in players for p in _params(opts[who])]
            signs = [-1.0 if who == "max" else 1.0 for who in players for _ in _params(opts[who])]
            _assign(params, loss, signs)             # one backward pass for both players
            return {"min_loss": value, "max_loss": -value}
        closures = {"min": min_loss, "max": max_loss}
        for who in players:
            with enable_grad():
                loss = closures[who]()
            values[f"{who}_loss"] = float(loss.item())
            _assign(_params(opts[who]), loss)
        return values

    def _both_steps(self):
        self.max_optimizer.step()
        self.min_optimizer.step()

    # ----- checkpoints ----------------------------------------------------------------------------
    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def state_dict(self) -> dict:
        """Both players' optimizer states plus the scheme's own (plain values, no pickle)."""
        return {"min": self.min_optimizer.state_dict(), "max": self.max_optimizer.state_dict(),
                "scheme": self._extra_state()}

    def load_state_dict(self, state: dict) -> None:
        self.min_optimizer.load_state_dict(state["min"])
        self.max_optimizer.load_state_dict(state["max"])
        self._load_extra_state(state.get("scheme", {}))


def _assign(params, loss, signs=None):
    """p.grad = sign * d loss / d p for the params that require grad (None when unused);
    ``signs``: one +-1 per parameter (default all +1)."""
    signs = [1.0] * len(params) if signs is None else signs
    live = [(p, s) for p, s in zip(params, signs) if p.requires_grad]
    if not live:
        return
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        for p, _ in live:
            p.grad = None
        return
    grads = _grad(loss, [p for p, _ in live], allow_unused=True)
    for (p, sign), g in zip(live, grads):
        p.grad = None if g is None else Tensor._make(g.data if sign == 1.0 else g.xp.asarray(-g.data), None)


class SimultaneousGDA(MinimaxOptimizer):
    r"""Simultaneous gradient descent-ascent: both players step from the same point::

        θ2^{k+1} = θ2^k + α_k ∇L(θ1^k, θ2^k; X^k)
        θ1^{k+1} = θ1^k - α_k ∇L(θ1^k, θ2^k; X^k)

    On min_x max_y xy each step multiplies the distance to (0, 0) by sqrt(1 + α^2): it spirals out.
    """

    def step(self, min_loss, max_loss=None) -> dict:
        values = self._set_grads(min_loss, max_loss)
        self._both_steps()
        return values


class AlternatingGDA(MinimaxOptimizer):
    r"""Alternating gradient descent: the max player (D) steps first, then the min player (G)
    steps against the *updated* θ2::

        θ2^{k+1} = θ2^k + α_k ∇L(θ1^k, θ2^k; X^k)
        θ1^{k+1} = θ1^k - α_k ∇L(θ1^k, θ2^{k+1}; X^k)

    "Slightly better than simultaneous update empirically." On min_x max_y xy the update matrix has
    determinant 1 and trace 2 - α^2: a bounded orbit, neither diverging nor converging.
    ``n_dis`` > 1 gives :class:`AlternatingMultiAscent`.
    """

    def __init__(self, min_optimizer, max_optimizer, n_dis: int = 1):
        super().__init__(min_optimizer, max_optimizer)
        if int(n_dis) < 1:
            raise ValueError(f"{type(self).__name__}: n_dis must be >= 1, got {n_dis}")
        self.n_dis = int(n_dis)

    def step(self, min_loss, max_loss=None) -> dict:
        values = {}
        for i in range(self.n_dis):
            v = self._set_grads(min_loss, max_loss, ("max",))
            if i == 0:
                values["max_loss"] = v["max_loss"]
            self.max_optimizer.step()
        values["min_loss"] = self._set_grads(min_loss, max_loss, ("min",))["min_loss"]
        self.min_optimizer.step()
        return values


class AlternatingMultiAscent(AlternatingGDA):
    r"""Alternating multi ascent-single descent: N_dis ascent steps of θ2, then one descent step of
    θ1 against the last θ2 (common value N_dis = 5)::

        θ2^{k+1,(1)}     = θ2^{k,(N_dis)} + α_k ∇L(θ1^k, θ2^{k,(N_dis)}; X^k)
        θ2^{k+1,(j+1)}   = θ2^{k+1,(j)}   + α_k ∇L(θ1^k, θ2^{k+1,(j)}; X^k),   j = 1..N_dis-1
        θ1^{k+1}         = θ1^k - α_k ∇L(θ1^k, θ2^{k+1,(N_dis)}; X^k)

    (The lecture's slide evaluates the j-th gradient at "θ2^{k,(j)}"; each ascent step is taken at
    the current iterate θ2^{k+1,(j)}, as written here and as every implementation does.)
    """

    def __init__(self, min_optimizer, max_optimizer, n_dis: int = 5):
        super().__init__(min_optimizer, max_optimizer, n_dis)


class Extragradient(MinimaxOptimizer):
    r"""Extragradient (Korpelevich 1976; for GANs Gidel et al. 2019): look ahead one simultaneous
    step, then step from the *original* point with the gradient found at the look-ahead::

        θ̃2 = θ2^k + α_k ∇L(θ1^k, θ2^k; X^k)        θ̃1 = θ1^k - α_k ∇L(θ1^k, θ2^k; X^k)
        θ2^{k+1} = θ2^k + α_k ∇L(θ̃1, θ̃2; X^k)      θ1^{k+1} = θ1^k - α_k ∇L(θ̃1, θ̃2; X^k)

    On min_x max_y xy the distance to (0, 0) shrinks by sqrt(1 - α^2 + α^4) per step: it converges.
    With a stateful base optimizer (momentum, Adam) both half-steps go through it, so its state
    advances twice per step ("Extra-Adam" of Gidel et al.).
    """

    def step(self, min_loss, max_loss=None) -> dict:
        params = _params(self.min_optimizer) + _params(self.max_optimizer)
        saved = [p.data.copy() for p in params]
        values = self._set_grads(min_loss, max_loss)
        self._both_steps()                                   # the extrapolation θ̃
        self._set_grads(min_loss, max_loss)                  # gradients at θ̃
        for p, s in zip(params, saved):
            p.data[...] = s                                  # back to θ^k
        self._both_steps()
        return values


class OptimisticGDA(MinimaxOptimizer):
    r"""Optimistic gradient descent-ascent (Popov 1980; Daskalakis et al. 2018): extrapolate with
    the previous step's gradient instead of a second evaluation (one gradient per step)::

        θ2^{k+1} = θ2^k + 2 α_k ∇L(θ1^k, θ2^k; X^k) - α_k ∇L(θ1^{k-1}, θ2^{k-1}; X^{k-1})
        θ1^{k+1} = θ1^k - 2 α_k ∇L(θ1^k, θ2^k; X^k) + α_k ∇L(θ1^{k-1}, θ2^{k-1}; X^{k-1})

    Written over any base optimizer as θ^{k+1} = θ^k + 2 Δ^k - Δ^{k-1}, with Δ^k the base
    optimizer's step from the gradient at θ^k (SGD: Δ^k = ∓α ∇L, the equations above; Adam: the
    Optimistic Adam of Daskalakis et al.). The first step uses Δ^{-1} = Δ^0 (a plain step).
    Converges on min_x max_y xy. Its state (Δ^{k-1}) is saved by :meth:`state_dict`.
    """

    def __init__(self, min_optimizer, max_optimizer):
        super().__init__(min_optimizer, max_optimizer)
        self.prev_step = None     # list of arrays Δ^{k-1}, one per parameter (min's, then max's)

    def step(self, min_loss, max_loss=None) -> dict:
        params = _params(self.min_optimizer) + _params(self.max_optimizer)
        before = [p.data.copy() for p in params]
        values = self._set_grads(min_loss, max_loss)
        self._both_steps()
        deltas = [p.data - b for p, b in zip(params, before)]
        prev = self.prev_step if self.prev_step is not None else deltas
        for p, d, dp in zip(params, deltas, prev):
            p.data += d - dp
        self.prev_step = deltas
        return values

    def _extra_state(self):
        if self.prev_step is None:
            return {"prev_step": None}
        return {"prev_step": [np.array(move(d, "cpu"), copy=True) for d in self.prev_step]}

    def _load_extra_state(self, state):
        prev = state.get("prev_step")
        if prev is None:
            self.prev_step = None
            return
        params = _params(self.min_optimizer) + _params(self.max_optimizer)
        if len(prev) != len(params):
            raise ValueError(f"OptimisticGDA.load_state_dict: {len(prev)} saved steps for "
                             f"{len(params)} parameters")
        restored = []
        for i, (p, d) in enumerate(zip(params, prev)):
            d = np.asarray(d) if not hasattr(d, "shape") else d
            if tuple(d.shape) != p.shape:
                raise ValueError(f"OptimisticGDA.load_state_dict: saved step {i} has shape "
                                 f"{tuple(d.shape)}, the parameter has shape {p.shape}")
            restored.append(p.xp.array(move(d, p.device), dtype=p.dtype, copy=True))
        self.prev_step = restored


class TTUR(MinimaxOptimizer):
    r"""Two time-scale update rule (Heusel et al. 2017): the players get separate learning rates,
    typically a faster discriminator (e.g. α_D = 4e-4, α_G = 1e-4)::

        θ2^{k+1} = θ2^k + α_D ∇L(θ1^k, θ2^k; X^k)
        θ1^{k+1} = θ1^k - α_G ∇L(θ1^k, θ2^{k+1}; X^k)      (alternating, the default)
        θ1^{k+1} = θ1^k - α_G ∇L(θ1^k, θ2^k;     X^k)      (alternating=False: simultaneous)

    ``min_lr`` / ``max_lr`` (when given) overwrite the learning rate of every parameter group of
    the min / max player's optimizer. Heusel et al.'s convergence proof is for the simultaneous
    form; their code, like most GAN code, alternates.
    """

    def __init__(self, min_optimizer, max_optimizer, min_lr=None, max_lr=None, alternating=True):
        super().__init__(min_optimizer, max_optimizer)
        for opt, lr in ((min_optimizer, min_lr), (max_optimizer, max_lr)):
            if lr is not None:
                if lr < 0:
                    raise ValueError(f"TTUR: invalid learning rate {lr}")
                for g in opt.param_groups:
                    g["lr"] = lr
        self.alternating = bool(alternating)
        inner = AlternatingGDA if self.alternating else SimultaneousGDA
        self._inner = inner(min_optimizer, max_optimizer)

    def step(self, min_loss, max_loss=None) -> dict:
        return self._inner.step(min_loss, max_loss)


SCHEMES = {
    "simultaneous": SimultaneousGDA,
    "alternating": AlternatingGDA,
    "alternating_n_dis": AlternatingMultiAscent,
    "extragradient": Extragradient,
    "optimistic": OptimisticGDA,
    "ttur": TTUR,
}
