"""Activations with torch.nn.functional's names, signatures and formulas: gelu (exact and tanh),
silu, mish, elu / selu / celu, hardswish, hardsigmoid, softsign, softplus(beta, threshold),
softmin; and normalize with the vector norm it divides by.

Papers: Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)"; Elfwing, Uchibe & Doya,
"Sigmoid-Weighted Linear Units for Neural Network Function Approximation in Reinforcement
Learning" (SiLU); Misra, "Mish: A Self Regularized Non-Monotonic Activation Function"; Clevert,
Unterthiner & Hochreiter, "Fast and Accurate Deep Network Learning by Exponential Linear Units";
Klambauer et al., "Self-Normalizing Neural Networks" (SELU); Barron, "Continuously Differentiable
Exponential Linear Units" (CELU); Howard et al., "Searching for MobileNetV3" (hardswish).

Each op: forward on arrays beside its VJP ``g * f'(x)``, with f' in Tensor ops (grad of grad
works). Where f' has branches, the branch not taken is fed a harmless stand-in, so no inf is formed
there to turn a second derivative into NaN. Like torch, these take floating tensors only (softsign
excepted: torch builds it from division, so integers give float32). ``inplace=True`` is accepted
and ignored, as by tinygan.nn.ReLU: ops never write into their input.
"""
from __future__ import annotations

import math
import warnings

from ..autograd import Function
from ..devices import xp_of
from ._util import constant, normalize_axis, pick_keepdims, require_float
from .elementwise import (_softplus, _stable_sigmoid, _unary, abs as _abs, clip, exp, sigmoid, sign,
                          softplus as _softplus_exact, tanh, where)
from .elementwise_math import _special, erf
from .movement import reshape
from .reduce import softmax

_xp = xp_of
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_BETA = math.sqrt(2.0 / math.pi)     # gelu's tanh approximation: sqrt(2/pi) (x + 0.044715 x^3)
_TANH_KAPPA = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Gelu(Function):
    """x Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt 2)); d/dx = Phi(x) + x phi(x).
    ``approximate="tanh"``: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
    d/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    name = "gelu"

    @staticmethod
    def forward(ctx, a, approximate):
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * a * (1 + _xp(a).tanh(_TANH_BETA * (a + _TANH_KAPPA * a * a * a)))
        return a * 0.5 * (1 + _special("erf")(a * _SQRT1_2))

    @staticmethod
    def vjp(ctx, g):
        x = ctx.inputs[0]
        if ctx.approximate == "tanh":
            t = tanh(_TANH_BETA * (x + _TANH_KAPPA * x * x * x))
            local = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _TANH_BETA * (1 + 3 * _TANH_KAPPA * x * x)
        else:
            local = 0.5 * (1 + erf(x * _SQRT1_2)) + x * exp(-0.5 * x * x) * _INV_SQRT_2PI
        return g * local, None


def gelu(input, approximate="none"):
    """Gaussian error linear unit, exact (``"none"``) or with the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(require_float(input, "gelu"), approximate)


Silu, _silu = _unary("silu", lambda ctx, a: a * _stable_sigmoid(a),
                     lambda ctx: _silu_grad(ctx.inputs[0]),
                     "x sigmoid(x); d/dx = s (1 + x (1 - s)), s = sigmoid(x).", floating=False)
Mish, _mish = _unary("mish", lambda ctx, a: a * _xp(a).tanh(_softplus(a)),
                     lambda ctx: _mish_grad(ctx.inputs[0]),
                     "x tanh(softplus(x)); d/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x)).",
                     floating=False)
Hardsigmoid, _hardsigmoid = _unary(
    "hardsigmoid", lambda ctx, a: _xp(a).clip(a + 3, 0, 6) / 6,
    lambda ctx: constant(((ctx.inputs[0].data > -3) & (ctx.inputs[0].data < 3)).astype(ctx.out_data.dtype) / 6),
    "relu6(x + 3) / 6; d/dx = 1/6 on (-3, 3), else 0.", floating=False)
Hardswish, _hardswish = _unary(
    "hardswish", lambda ctx, a: a * _xp(a).clip(a + 3, 0, 6) / 6,
    lambda ctx: _hardswish_grad(ctx.inputs[0]),
    "x relu6(x + 3) / 6; d/dx = 0 for x <= -3, x/3 + 1/2 on (-3, 3), 1 for x >= 3 (torch's ends).",
    floating=False)


def _silu_grad(x):
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


def _mish_grad(x):
    t = tanh(_softplus_exact(x))
    return t + x * (1 - t * t) * sigmoid(x)


def _hardswish_grad(x):
    inner = constant((x.data > -3) & (x.data < 3))
    high = constant((x.data >= 3).astype(x.dtype))
    return where(inner, x / 3 + 0.5, high)


def silu(input, inplace=False):
    """x sigmoid(x) (also called swish)."""
    return _silu(require_float(input, "silu"))


def mish(input, inplace=False):
    """x tanh(softplus(x))."""
    return _mish(require_float(input, "mish"))


def hardsigmoid(input, inplace=False):
    """min(max(x + 3, 0), 6) / 6."""
    return _hardsigmoid(require_float(input, "hardsigmoid"))


def hardswish(input, inplace=False):
    """x min(max(x + 3, 0), 6) / 6."""
    return _hardswish(require_float(input, "hardswish"))


def softsign(input):
    """x / (1 + |x|), built from ops as torch builds it."""
    return input / (_abs(input) + 1)


class Elu(Function):
    """torch's ELU family: scale * x for x > 0, alpha (e^(x * input_scale) - 1) for x <= 0.
    elu: (alpha, 1, 1); selu: (SELU_ALPHA * SELU_SCALE, SELU_SCALE, 1); celu: (alpha, 1, 1/alpha).
    d/dx = scale for x > 0, alpha * input_scale * e^(x * input_scale) for x <= 0. As torch, the
    second derivative counts x = 0 on the linear side (its mask is x < 0)."""
    name = "elu"

    @staticmethod
    def forward(ctx, a, alpha, scale, input_scale):
        ctx.coefs = (alpha, scale, input_scale)
        xp = _xp(a)
        neg = xp.expm1(xp.minimum(a, 0) * input_scale) * alpha
        return xp.where(a <= 0, neg, a * scale)

    @staticmethod
    def vjp(ctx, g):
        alpha, scale, input_scale = ctx.coefs
        x = ctx.inputs[0]
        neg = constant(x.data < 0)
        x_neg = where(neg, x, 0.0)          # e^x only where it is used: no overflow elsewhere
        rest = constant(_xp(x.data).where(x.data == 0, alpha * input_scale, scale).astype(x.dtype))
        return g * where(neg, exp(x_neg * input_scale) * (alpha * input_scale), rest), None, None, None


def elu(input, alpha=1.0, inplace=False):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return Elu.apply(require_float(input, "elu"), float(alpha), 1.0, 1.0)


def selu(input, inplace=False):
    """SELU_SCALE * elu(x, SELU_ALPHA): the self-normalising constants of Klambauer et al."""
    return Elu.apply(require_float(input, "selu"), SELU_ALPHA * SELU_SCALE, SELU_SCALE, 1.0)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)); alpha must not be 0."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (ZeroDivisionError in x / alpha)")
    return Elu.apply(require_float(input, "celu"), float(alpha), 1.0, 1.0 / alpha)


class Softplus(Function):
    """torch's softplus: log(1 + e^(beta x)) / beta, and x itself where beta x > threshold.
    d/dx = sigmoid(beta x), and 1 above the threshold. As torch, the second derivative is
    beta sigmoid'(beta x) strictly below the threshold and 0 from it on."""
    name = "softplus"

    @staticmethod
    def forward(ctx, a, beta, threshold):
        ctx.params = (beta, threshold)
        xp = _xp(a)
        z = a * beta
        return xp.where(z > threshold, a, xp.log1p(xp.exp(xp.minimum(z, threshold))) / beta)

    @staticmethod
    def vjp(ctx, g):
        beta, threshold = ctx.params
        x = ctx.inputs[0]
        z = x.data * beta
        smooth = constant(z < threshold)
        at = 1 / (1 + math.exp(-threshold)) if threshold > -700 else 0.0    # sigmoid at the threshold
        rest = constant(_xp(z).where(z == threshold, at, 1.0).astype(x.dtype))
        return g * where(smooth, sigmoid(x * beta), rest), None, None


def softplus(input, beta=1.0, threshold=20.0):
    """torch.nn.functional.softplus (``tinygan.ops.softplus`` is the exact log(1 + e^x) the losses
    use, with no threshold)."""
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return Softplus.apply(require_float(input, "softplus"), float(beta), float(threshold))


def legacy_softmax_dim(ndim, op):
    """torch's implicit softmax dim for an ``ndim``-d input (with its deprecation warning)."""
    warnings.warn(f"{op}: implicit dimension choice is deprecated; pass dim (torch's rule: dim 0 for "
                  "0-, 1- and 3-d input, else 1)", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``: weights that favour the smallest entries."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = legacy_softmax_dim(input.ndim, "softmin")
    return softmax(-input, dim)


# ---- vector norms and normalize -----------------------------------------------------------------
class VectorNorm(Function):
    """||x||_p over ``axes``: (sum |x|^p)^(1/p); p = inf: max |x|, -inf: min |x|, 0: the count of
    nonzeros. VJPs as torch's norm_backward: p = 1: sign(x) g; p = 2: x g / ||x||; inf: sign(x) g
    split among the entries reaching the max; other p: sign(x) |x|^(p-1) g / ||x||^(p-1); 0 at a
    zero norm (and for p = 0) instead of 0 / 0."""
    name = "vector_norm"

    @staticmethod
    def forward(ctx, a, p, axes, keepdims):
        ctx.p, ctx.axes, ctx.keepdims = p, axes, keepdims
        xp = _xp(a)
        m = xp.abs(a)
        if p == math.inf:
            return m.max(axis=axes, keepdims=keepdims)
        if p == -math.inf:
            return m.min(axis=axes, keepdims=keepdims)
        if p == 0:
            return (a != 0).sum(axis=axes, keepdims=keepdims).astype(a.dtype)
        if p == 1:
            return m.sum(axis=axes, keepdims=keepdims)
        if p == 2:
            return xp.sqrt((a * a).sum(axis=axes, keepdims=keepdims))
        return (m ** p).sum(axis=axes, keepdims=keepdims) ** (1.0 / p)

    @staticmethod
    def vjp(ctx, g):
        x, p = ctx.inputs[0], ctx.p
        kept = tuple(1 if i in ctx.axes else n for i, n in enumerate(x.shape))
        g = reshape(g, kept)
        norm = reshape(ctx.output(), kept)
        if p == 0:
            return constant(g.xp.zeros(x.shape, g.dtype)), None, None, None
        if p == 1:
            return sign(x) * g, None, None, None
        if abs(p) == math.inf:               # ties share the gradient, as torch's amax
            hit = _xp(x.data).abs(x.data) == norm.data
            count = hit.sum(axis=ctx.axes, keepdims=True).astype(x.dtype)
            return sign(x) * constant(hit.astype(x.dtype) / count) * g, None, None, None
        zero = constant(norm.data == 0)
        safe = where(zero, 1.0, norm)
        if p == 2:
            return x * where(zero, 0.0, g / safe), None, None, None
        ax = _abs(x)
        if p < 1:                            # |x|^(p-1) blows up at x = 0: torch puts 0 there
            xz = constant(x.data == 0)
            scaled = sign(x) * where(xz, 0.0, where(xz, 1.0, ax) ** (p - 1))
            return where(zero, 0.0, scaled * g * safe ** (1 - p)), None, None, None
        return sign(x) * ax ** (p - 1) * where(zero, 0.0, g / safe ** (p - 1)), None, None, None


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 -- torch's name
    """torch.linalg.vector_norm: the ``ord``-norm of x over ``dim`` (None: all entries)."""
    if dtype is not None:
        x = x.to(dtype)
    require_float(x, "vector_norm")
    p = float(ord)
    axes = normalize_axis(dim, x.ndim, "vector_norm")
    if (p < 0 or p == math.inf) and any(x.shape[i] == 0 for i in axes):
        raise ValueError(f"vector_norm: ord={ord} over an empty axis (shape {x.shape}, dim {dim}) "
                         "has no identity")
    return VectorNorm.apply(x, p, axes, pick_keepdims(keepdim, None))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim`` (torch.nn.functional.normalize)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported (tinygan ops return new tensors)")
    denom = clip(vector_norm(input, p, dim, keepdim=True), min=eps)
    return input / denom
