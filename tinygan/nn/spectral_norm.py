r"""Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
Networks"), with the semantics of ``torch.nn.utils.spectral_norm``.

    W_SN = W / sigma(W),     sigma(W) = max_{||h|| = 1} ||W h||_2 ~ u^T W v,

where W is the weight reshaped to a matrix (h, w) -- dim 0 first (dim 1 for transposed
convolutions, whose weight is (C_in, C_out, kH, kW)) -- and (u, v) are the left and right
singular-vector estimates of one power-iteration step per training forward:

    v <- W^T u / ||W^T u||,      u <- W v / ||W v||.

u (h,) and v (w,) are buffers: they persist across steps and live in the state_dict
(``weight_u``, ``weight_v``, beside the parameter ``weight_orig``), so that a resumed run goes on
with the same estimate. In eval mode the stored u, v are used as they are. The gradient flows
through W / sigma with u and v held constant (as torch and the paper's Algorithm 1): d sigma / d W
= u v^T. Each layer of a network normalised so has Lipschitz constant at most ~1, which keeps a
discriminator's gradients bounded without a penalty term.
"""
from __future__ import annotations

from ..creation import randn
from ..ops import matmul
from .layers import ConvTranspose2d
from .module import Parameter


def _normalize(xp, a, eps):
    return a / max(float(xp.linalg.norm(a)), eps)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name>`` = ``<name>_orig`` / sigma before each call."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        if n_power_iterations < 0:
            raise ValueError("spectral_norm: expected n_power_iterations to be non-negative, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, weight):
        """The weight as the (h, w) matrix whose largest singular value is sigma (a Tensor op,
        so the gradient reaches the weight)."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.ndim) if d != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration: bool):
        """W / (u^T W v), after ``n_power_iterations`` updates of u and v (in place) when training."""
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        w_mat = self.matrix(weight)
        if do_power_iteration:
            xp, W = u.xp, w_mat.data
            for _ in range(self.n_power_iterations):
                v.data[...] = _normalize(xp, W.T @ u.data, self.eps)
                u.data[...] = _normalize(xp, W @ v.data, self.eps)
        sigma = (u.detach() * matmul(w_mat, v.detach())).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None, generator=None):
    """Normalise ``module.<name>`` by its spectral norm before every forward (torch's signature;
    ``generator``: the random stream of u's and v's initial N(0, I) draws). Returns ``module``.

    The parameter becomes ``<name>_orig``; buffers ``<name>_u`` (h,) and ``<name>_v`` (w,) hold the
    singular-vector estimates (h, w: the weight as a matrix, see :class:`SpectralNorm`)."""
    hooks = module.__dict__.get("_forward_pre_hooks", {})
    if any(isinstance(h, SpectralNorm) and h.name == name for h in hooks.values()):
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is None:
        dim = 1 if isinstance(module, ConvTranspose2d) else 0
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    h, w = fn.matrix(weight).shape
    xp = weight.xp
    u = _normalize(xp, randn(h, dtype=weight.dtype, device=weight.device, generator=generator).data, eps)
    v = _normalize(xp, randn(w, dtype=weight.dtype, device=weight.device, generator=generator).data, eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    object.__setattr__(module, name, weight.detach())     # a plain attribute, set again each forward
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    fn.handle = module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``<name>`` becomes a Parameter again holding W / sigma with the
    current u, v (as torch). Returns ``module``."""
    hooks = module.__dict__.get("_forward_pre_hooks", {})
    for fn in list(hooks.values()):
        if isinstance(fn, SpectralNorm) and fn.name == name:
            weight = fn.compute_weight(module, do_power_iteration=False)
            fn.handle.remove()
            for suffix in ("_orig", "_u", "_v"):
                delattr(module, name + suffix)
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight.detach().data.copy()))
            return module
    raise ValueError(f"spectral_norm of {name!r} not found in {module}")
