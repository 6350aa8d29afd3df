"""Elementwise math beyond elementwise.py's arithmetic: trigonometric and hyperbolic functions,
rounding (zero gradient), floating-point predicates, erf / erfc, log2 / exp2 / log10 / rsqrt, and
the binary atan2, fmod, remainder (``%``), copysign, logaddexp, and lerp.

Each forward is one array expression (numpy or cupy: it runs on every backend and device, no kernel
pays off for one pass); its VJP sits beside it, ``g * f'(x)`` with f' written in Tensor ops, so grad
of grad works. dtypes follow torch: integer and bool inputs of the floating functions give float32
(torch's default float); rounding keeps integers as they are; fmod / remainder keep integers and
raise on an integer zero divisor (torch: "ZeroDivisionError").
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..devices import xp_of
from ..tensor import Tensor
from ._util import broadcast_shape, constant, lift, lift_pair, to_float
from .elementwise import _Binary, _Step, _no_bool, _unary, exp, log, sigmoid, where
from .movement import unbroadcast

_xp = xp_of
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _x(ctx):
    return ctx.inputs[0]


# ---- trigonometric and hyperbolic ---------------------------------------------------------------
Sin, sin = _unary("sin", lambda ctx, a: _xp(a).sin(a), lambda ctx: cos(_x(ctx)), "sin x; d/dx = cos x.")
Cos, cos = _unary("cos", lambda ctx, a: _xp(a).cos(a), lambda ctx: -sin(_x(ctx)), "cos x; d/dx = -sin x.")
Tan, tan = _unary("tan", lambda ctx, a: _xp(a).tan(a), lambda ctx: 1 + ctx.output() ** 2,
                  "tan x; d/dx = 1 + tan^2 x.")
Asin, asin = _unary("asin", lambda ctx, a: _xp(a).arcsin(a), lambda ctx: rsqrt(1 - _x(ctx) * _x(ctx)),
                    "arcsin x on [-1, 1]; d/dx = 1 / sqrt(1 - x^2).")
Acos, acos = _unary("acos", lambda ctx, a: _xp(a).arccos(a), lambda ctx: -rsqrt(1 - _x(ctx) * _x(ctx)),
                    "arccos x on [-1, 1]; d/dx = -1 / sqrt(1 - x^2).")
Atan, atan = _unary("atan", lambda ctx, a: _xp(a).arctan(a), lambda ctx: 1 / (1 + _x(ctx) * _x(ctx)),
                    "arctan x; d/dx = 1 / (1 + x^2).")
Sinh, sinh = _unary("sinh", lambda ctx, a: _xp(a).sinh(a), lambda ctx: cosh(_x(ctx)), "sinh x; d/dx = cosh x.")
Cosh, cosh = _unary("cosh", lambda ctx, a: _xp(a).cosh(a), lambda ctx: sinh(_x(ctx)), "cosh x; d/dx = sinh x.")
Asinh, asinh = _unary("asinh", lambda ctx, a: _xp(a).arcsinh(a), lambda ctx: rsqrt(_x(ctx) * _x(ctx) + 1),
                      "arsinh x; d/dx = 1 / sqrt(x^2 + 1).")
Acosh, acosh = _unary("acosh", lambda ctx, a: _xp(a).arccosh(a), lambda ctx: rsqrt(_x(ctx) * _x(ctx) - 1),
                      "arcosh x for x >= 1; d/dx = 1 / sqrt(x^2 - 1).")
Atanh, atanh = _unary("atanh", lambda ctx, a: _xp(a).arctanh(a), lambda ctx: 1 / (1 - _x(ctx) * _x(ctx)),
                      "artanh x on (-1, 1); d/dx = 1 / (1 - x^2).")
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh   # torch's aliases


# ---- exponentials, logarithms, erf --------------------------------------------------------------
Log2, log2 = _unary("log2", lambda ctx, a: _xp(a).log2(a), lambda ctx: 1 / (_x(ctx) * math.log(2)),
                    "log_2 x; d/dx = 1 / (x ln 2).")
Log10, log10 = _unary("log10", lambda ctx, a: _xp(a).log10(a), lambda ctx: 1 / (_x(ctx) * math.log(10)),
                      "log_10 x; d/dx = 1 / (x ln 10).")
Exp2, exp2 = _unary("exp2", lambda ctx, a: _xp(a).exp2(a), lambda ctx: ctx.output() * math.log(2),
                    "2^x; d/dx = 2^x ln 2.")
Rsqrt, rsqrt = _unary("rsqrt", lambda ctx, a: 1 / _xp(a).sqrt(a), lambda ctx: -0.5 * ctx.output() ** 3,
                      "1 / sqrt(x); d/dx = -x^(-3/2) / 2 = -out^3 / 2.")


def _special(name):
    """scipy.special's (CPU) or cupyx.scipy.special's (GPU) ufunc, in the input's dtype. Imported on
    first use: scipy.special costs ~0.3 s to import and most programs never call erf."""
    def f(a):
        if isinstance(a, (np.ndarray, np.generic)):
            import scipy.special as sp
        else:  # pragma: no cover - GPU only
            import cupyx.scipy.special as sp
        return getattr(sp, name)(a).astype(a.dtype, copy=False)
    return f


Erf, erf = _unary("erf", lambda ctx, a: _special("erf")(a),
                  lambda ctx: _TWO_OVER_SQRT_PI * exp(-(_x(ctx) * _x(ctx))),
                  "erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt; d/dx = 2/sqrt(pi) e^(-x^2).")
Erfc, erfc = _unary("erfc", lambda ctx, a: _special("erfc")(a),
                    lambda ctx: -_TWO_OVER_SQRT_PI * exp(-(_x(ctx) * _x(ctx))),
                    "erfc x = 1 - erf x (accurate for large x); d/dx = -2/sqrt(pi) e^(-x^2).")


# ---- rounding (piecewise constant: zero gradient) -----------------------------------------------
def _round_decimals(a, decimals):
    xp = _xp(a)
    if decimals == 0:
        return xp.rint(a)                       # half to even, as torch.round
    if decimals > 0:                            # torch's order of operations, in a's dtype
        p = a.dtype.type(10.0 ** decimals)
        return xp.rint(a * p) / p
    p = a.dtype.type(10.0 ** -decimals)
    return xp.rint(a / p) * p


def _step(name, fn, doc):
    return type(name.title(), (_Step,), {"name": name, "__doc__": doc,
                                         "forward": staticmethod(lambda ctx, a, *args: fn(a, *args))})


Floor = _step("floor", lambda a: _xp(a).floor(a), "largest integer <= x.")
Ceil = _step("ceil", lambda a: _xp(a).ceil(a), "smallest integer >= x.")
Trunc = _step("trunc", lambda a: _xp(a).trunc(a), "x rounded toward zero.")
Round = _step("round", _round_decimals, "x rounded to ``decimals`` places, halves to even.")


def _rounding(cls, x, *args):
    _no_bool(x, cls.name)
    if x.dtype.kind in "iu":                    # torch: an integer tensor is already rounded
        if args and args[0] != 0:
            raise TypeError(f"{cls.name}: decimals={args[0]} needs a floating tensor, got {x.dtype}")
        return constant(x.data.copy())
    return cls.apply(x, *args)


def floor(x):
    """Largest integer <= x (same dtype); gradient 0."""
    return _rounding(Floor, x)


def ceil(x):
    """Smallest integer >= x (same dtype); gradient 0."""
    return _rounding(Ceil, x)


def trunc(x):
    """x rounded toward zero (same dtype); gradient 0."""
    return _rounding(Trunc, x)


fix = trunc


def round(x, decimals=0):  # noqa: A001 -- torch's name
    """x rounded to ``decimals`` places, ties to even (torch.round); gradient 0."""
    return _rounding(Round, x, int(decimals))


# ---- predicates (bool results, no graph) --------------------------------------------------------
def _predicate(name, fn, other_kinds):
    def op(x):
        if x.dtype.kind in "fc":
            return constant(fn(x.xp, x.data))
        return constant(x.xp.full(x.shape, other_kinds, dtype=bool))   # integers are finite
    op.__name__ = name
    return op


isnan = _predicate("isnan", lambda xp, a: xp.isnan(a), False)
isinf = _predicate("isinf", lambda xp, a: xp.isinf(a), False)
isfinite = _predicate("isfinite", lambda xp, a: xp.isfinite(a), True)


# ---- binary ops ---------------------------------------------------------------------------------
class Atan2(_Binary):
    """atan2(a, b), the angle of the point (b, a); d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2),
    and 0 at the origin (torch's value there), with no inf formed."""
    name = "atan2"
    forward = staticmethod(lambda ctx, a, b: _xp(a).arctan2(a, b))

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        r2 = a * a + b * b
        origin = constant(r2.data == 0)
        r2 = where(origin, 1.0, r2)
        ga = unbroadcast(where(origin, 0.0, g * b / r2), a.shape) if na else None
        gb = unbroadcast(where(origin, 0.0, -g * a / r2), b.shape) if nb else None
        return ga, gb


def atan2(input, other):
    """atan2(input, other) in (-pi, pi]; integer inputs give float32."""
    a, b = lift_pair(input, other)
    return Atan2.apply(to_float(a), to_float(b))


arctan2 = atan2


def _integer_divisor_check(op, a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu" and bool((b.data == 0).any()):
        raise RuntimeError(f"{op}: ZeroDivisionError (integer division by zero, shapes {a.shape} and {b.shape})")


def _torch_remainder(a, b):
    """a - b floor(a / b), computed as torch does: fmod, then shift by b where the signs differ."""
    xp = _xp(a)
    if a.dtype.kind != "f":
        return xp.remainder(a, b)
    mod = xp.fmod(a, b)
    return xp.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


class Fmod(_Binary):
    """C's fmod: a - b trunc(a / b), the sign of the dividend a. d/da = 1, d/db = -trunc(a / b)."""
    name = "fmod"
    forward = staticmethod(lambda ctx, a, b: _xp(a).fmod(a, b))

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        q = constant(_xp(a.data).trunc(a.data / b.data))
        return (unbroadcast(g, a.shape) if na else None, unbroadcast(-g * q, b.shape) if nb else None)


class Remainder(_Binary):
    """Python's / torch's ``%``: a - b floor(a / b), the sign of the divisor b.
    d/da = 1, d/db = -floor(a / b)."""
    name = "remainder"
    forward = staticmethod(lambda ctx, a, b: _torch_remainder(a, b))

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        q = constant(_xp(a.data).floor_divide(a.data, b.data))
        return (unbroadcast(g, a.shape) if na else None, unbroadcast(-g * q, b.shape) if nb else None)


def _modulo(cls, a, b):
    a, b = lift_pair(a, b)
    if a.dtype.kind == "b" and b.dtype.kind in "iu":      # torch promotes bool with an integer
        a = Tensor._make(a.data.astype(b.dtype), None)
    elif b.dtype.kind == "b" and a.dtype.kind in "iu":
        b = Tensor._make(b.data.astype(a.dtype), None)
    _no_bool(a, cls.name)
    _no_bool(b, cls.name)
    _integer_divisor_check(cls.name, a, b)
    return cls.apply(a, b)


def fmod(input, other):
    """input - other * trunc(input / other) (sign of input); integers stay integers."""
    return _modulo(Fmod, input, other)


def remainder(input, other):
    """input - other * floor(input / other) (sign of other): the ``%`` operator."""
    return _modulo(Remainder, input, other)


class Copysign(_Binary):
    """|a| with the sign of b (the sign bit: -0.0 counts as negative). d/da = sign(a) sign(b) =
    out / a (0 where a = 0, as torch); d/db = 0."""
    name = "copysign"
    forward = staticmethod(lambda ctx, a, b: _xp(a).copysign(a, b))

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            zero = constant(a.data == 0)
            ga = unbroadcast(where(zero, 0.0, g * ctx.output() / where(zero, 1.0, a)), a.shape)
        if nb:
            gb = constant(g.xp.zeros(b.shape, g.dtype))
        return ga, gb


def copysign(input, other):
    """|input| with the sign of other; integer inputs give float32."""
    a, b = lift_pair(input, other)
    return Copysign.apply(to_float(a), to_float(b))


class Logaddexp(_Binary):
    """log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|), never overflowing (and a where a = b = +-inf).
    d/da = sigmoid(a - b), d/db = sigmoid(b - a)."""
    name = "logaddexp"

    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a)
        with np.errstate(invalid="ignore"):
            out = xp.maximum(a, b) + xp.log1p(xp.exp(-xp.abs(a - b)))
        return xp.where(xp.isinf(a) & (a == b), a, out)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * sigmoid(a - b), a.shape) if na else None,
                unbroadcast(g * sigmoid(b - a), b.shape) if nb else None)


def logaddexp(input, other):
    """log(e^input + e^other), floating tensors only (as torch)."""
    a, b = lift_pair(input, other)
    for t in (a, b):
        if t.dtype.kind != "f":
            raise TypeError(f"logaddexp: needs floating tensors, got {a.dtype} and {b.dtype}")
    return Logaddexp.apply(a, b)


class Lerp(Function):
    """out = a + w (b - a), computed as torch does (b - (b - a)(1 - w) where |w| >= 0.5, which is
    exact at w = 1). d/da = 1 - w, d/db = w, d/dw = b - a."""
    name = "lerp"

    @staticmethod
    def forward(ctx, a, b, w):
        xp = _xp(a)
        return xp.where(xp.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))

    @staticmethod
    def vjp(ctx, g):
        a, b, w = ctx.inputs
        na, nb, nw = ctx.needs_input_grad
        return (unbroadcast(g * (1 - w), a.shape) if na else None,
                unbroadcast(g * w, b.shape) if nb else None,
                unbroadcast(g * (b - a), w.shape) if nw else None)


def lerp(input, end, weight):
    """input + weight * (end - input); ``weight`` a number or a tensor; floating tensors only."""
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"lerp: input must be a floating tensor, got "
                        f"{input.dtype if isinstance(input, Tensor) else type(input).__name__}")
    end = lift(end, input)
    weight = lift(float(weight) if isinstance(weight, (int, float)) else weight, input)
    for name, t in (("end", end), ("weight", weight)):
        if t.dtype != input.dtype:
            raise TypeError(f"lerp: {name} has dtype {t.dtype}, input has {input.dtype}")
    broadcast_shape("lerp", input.shape, end.shape, weight.shape)
    return Lerp.apply(input, end, weight)


# ---- logical and bitwise (bool results / same integer dtype, no graph) ------------------------------

def _logical(fn):
    def op(a, b):
        a, b = lift_pair(a, b)
        return constant(fn(a.xp, a.data, b.data))
    return op


logical_and = _logical(lambda xp, a, b: xp.logical_and(a, b))
logical_or = _logical(lambda xp, a, b: xp.logical_or(a, b))
logical_xor = _logical(lambda xp, a, b: xp.logical_xor(a, b))


def bitwise_not(x):
    """``~x``: logical not of a bool tensor, two's-complement not of an integer one."""
    if x.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not: needs a bool or integer tensor, got {x.dtype} (shape {x.shape})")
    return constant(~x.data)
