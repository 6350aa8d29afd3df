"""Elementwise ops with numpy broadcasting. Each VJP reduces the cotangent back to its
operand's shape (:func:`unbroadcast`) and is written with Tensor ops, so it differentiates again.

Notation: ``out = f(a, b)``, ``g`` = cotangent of ``out``.
"""
from __future__ import annotations


from .. import backends
from ..autograd import Function
from ..devices import device_of, xp_of
from ..tensor import Tensor
from ._util import Diagonal, broadcast_shape, constant, lift, lift_pair, to_float
from .movement import unbroadcast


_xp = xp_of


class _Binary(Function):
    """Checks broadcasting up front so the error names the op and both shapes."""

    @classmethod
    def apply(cls, a, b):
        a, b = lift_pair(a, b)
        if a.shape != b.shape:
            broadcast_shape(cls.op_name(), a.shape, b.shape)
        return super().apply(a, b)


class Add(_Binary):
    name = "add"
    forward = staticmethod(lambda ctx, a, b: a + b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, a.shape) if na else None, unbroadcast(g, b.shape) if nb else None)


class Sub(_Binary):
    name = "sub"
    forward = staticmethod(lambda ctx, a, b: a - b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g, a.shape) if na else None, unbroadcast(-g, b.shape) if nb else None)


class Mul(_Binary):
    name = "mul"
    forward = staticmethod(lambda ctx, a, b: a * b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        return (unbroadcast(g * b, a.shape) if na else None, unbroadcast(g * a, b.shape) if nb else None)


class Div(_Binary):
    name = "div"
    forward = staticmethod(lambda ctx, a, b: a / b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        ga = unbroadcast(g / b, a.shape) if na else None
        gb = unbroadcast(-g * ctx.output() / b, b.shape) if nb else None
        return ga, gb


class Pow(_Binary):
    """out = a ** b; d/da = b a^(b-1), d/db = out log a (only computed when b requires grad).

    As torch: d/da is 0 where b == 0 (not 0 * a^-1 = NaN at a = 0), and d/db is 0 where a == 0 and
    b >= 0 (not 0 * log 0). The masked entries use a harmless stand-in (b -> 1, a -> 1) inside
    the formula, so no inf or NaN is formed there, and grad of grad stays finite too."""
    name = "pow"
    forward = staticmethod(lambda ctx, a, b: a ** b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            b0 = constant(b.data == 0)
            safe_b = where(b0, 1.0, b)
            ga = unbroadcast(where(b0, 0.0, g * safe_b * a ** (safe_b - 1)), a.shape)
        if nb:
            flat = constant((a.data == 0) & (b.data >= 0))
            safe_a = where(flat, 1.0, a)
            gb = unbroadcast(where(flat, 0.0, g * ctx.output() * log(safe_a)), b.shape)
        return ga, gb


class Maximum(_Binary):
    """Ties split the gradient equally between the operands (as torch does)."""
    name = "maximum"

    @staticmethod
    def forward(ctx, a, b):
        return _xp(a).maximum(a, b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        wa = (a.data > b.data) + 0.5 * (a.data == b.data)
        wa = constant(wa.astype(g.dtype))
        return (unbroadcast(g * wa, a.shape) if na else None,
                unbroadcast(g * (1 - wa), b.shape) if nb else None)


def maximum(a, b):
    return Maximum.apply(a, b)


class Minimum(Maximum):
    """Its own comparison (not -max(-a, -b), which breaks on bool and on the smallest integer);
    ties split the gradient equally, as for maximum."""
    name = "minimum"

    @staticmethod
    def forward(ctx, a, b):
        return _xp(a).minimum(a, b)

    @staticmethod
    def vjp(ctx, g):
        a, b = ctx.inputs
        na, nb = ctx.needs_input_grad
        wa = (a.data < b.data) + 0.5 * (a.data == b.data)
        wa = constant(wa.astype(g.dtype))
        return (unbroadcast(g * wa, a.shape) if na else None,
                unbroadcast(g * (1 - wa), b.shape) if nb else None)


def minimum(a, b):
    return Minimum.apply(a, b)


class Where(Function):
    """out = cond ? a : b (cond is constant); g flows to a where cond holds, to b elsewhere."""
    name = "where"

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        return _xp(a).where(cond, a, b)

    @staticmethod
    def vjp(ctx, g):
        _, a, b = ctx.inputs
        _, na, nb = ctx.needs_input_grad
        zero = lift(0.0, g)
        cond = constant(ctx.cond)
        return (None, unbroadcast(where(cond, g, zero), a.shape) if na else None,
                unbroadcast(where(cond, zero, g), b.shape) if nb else None)


def where(cond, a, b):
    """Elementwise ``a if cond else b`` (differentiable in a and b)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        a, b = lift_pair(a, b)
    else:
        raise TypeError("where: a or b must be a Tensor")
    cond = cond.data if isinstance(cond, Tensor) else a.xp.asarray(cond)
    if cond.dtype != bool:
        cond = cond.astype(bool)
    broadcast_shape("where", cond.shape, a.shape, b.shape)
    return Where.apply(constant(cond), a, b)


class _Unary(Function):
    """Unary op: subclasses define ``forward(ctx, a)`` and ``local_grad(ctx) -> Tensor``,
    the derivative f'(a) as a Tensor expression; the VJP is g * f'(a)."""

    @staticmethod
    def vjp(ctx, g):
        return (g * ctx.fn.local_grad(ctx),)


def _unary(name, forward, local_grad, doc, floating=True):
    """The Function class and its op. ``floating``: integer and bool inputs are cast to float32
    first (torch: ``exp`` of an int64 tensor is float32)."""
    cls = type(name.title().replace("_", ""), (_Unary,), {
        "name": name, "forward": staticmethod(forward), "local_grad": staticmethod(local_grad),
        "__doc__": doc})

    def op(x):
        return cls.apply(to_float(x) if floating else x)
    op.__name__ = name
    op.__doc__ = doc
    return cls, op


def _stable_sigmoid(x):
    xp = _xp(x)
    e = xp.exp(-xp.abs(x))           # in (0, 1]: never overflows
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    xp = _xp(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


Exp, exp = _unary("exp", lambda ctx, a: _xp(a).exp(a), lambda ctx: ctx.output(), "e^x.")
Log, log = _unary("log", lambda ctx, a: _xp(a).log(a), lambda ctx: 1 / ctx.inputs[0], "natural log.")
Sqrt, sqrt = _unary("sqrt", lambda ctx, a: _xp(a).sqrt(a), lambda ctx: 0.5 / ctx.output(), "square root.")
Sigmoid, sigmoid = _unary("sigmoid", lambda ctx, a: _stable_sigmoid(a),
                          lambda ctx: ctx.output() * (1 - ctx.output()),
                          "1 / (1 + e^-x), stable for large |x|.")
Tanh, tanh = _unary("tanh", lambda ctx, a: _xp(a).tanh(a), lambda ctx: 1 - ctx.output() ** 2, "tanh.")
Softplus, softplus = _unary("softplus", lambda ctx, a: _softplus(a),
                            lambda ctx: sigmoid(ctx.inputs[0]),
                            "log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|): no overflow.")
LogSigmoid, log_sigmoid = _unary("log_sigmoid", lambda ctx, a: -_softplus(-a),
                                 lambda ctx: sigmoid(-ctx.inputs[0]),
                                 "log sigmoid(x) = -softplus(-x), finite for any x.")
# Piecewise-linear ops: their local gradient is a constant mask (second derivative 0).
Abs, _abs = _unary("abs", lambda ctx, a: _xp(a).abs(a),
                   lambda ctx: constant(_xp(ctx.inputs[0].data).sign(ctx.inputs[0].data)), "|x|.",
                   floating=False)
Relu, _relu = _unary("relu", lambda ctx, a: _xp(a).maximum(a, 0),
                     lambda ctx: constant((ctx.inputs[0].data > 0).astype(ctx.out_data.dtype)),
                     "max(x, 0).", floating=False)


def relu(x):
    """max(x, 0); integer tensors stay integer (as in PyTorch), bool tensors are refused."""
    if getattr(getattr(x, "dtype", None), "kind", None) == "b":
        raise RuntimeError(f"relu: Boolean inputs not supported for relu (shape {tuple(x.shape)})")
    return _relu(x)


def abs(x):  # noqa: A001 -- torch's name
    """|x|, same dtype (torch has no abs of bool)."""
    _no_bool(x, "abs")
    return _abs(x)


def _no_bool(x, op):
    if isinstance(x, Tensor) and x.dtype.kind == "b":
        raise TypeError(f"{op}: not supported on a bool tensor (shape {x.shape}); "
                        "use logical_not() / ~ for masks")


class LeakyRelu(Function):
    """y = x if x > 0 else slope x; kernels ``leaky_relu_fwd`` / ``leaky_relu_bwd`` (one fused pass
    each). The VJP is the diagonal map g -> g * (1 or slope), itself an op: :class:`LeakyReluGrad`."""
    name = "leaky_relu"

    @staticmethod
    def forward(ctx, a, negative_slope):
        ctx.slope = negative_slope
        return backends.get("leaky_relu_fwd", device_of(a))(a, negative_slope)

    @staticmethod
    def vjp(ctx, g):
        return LeakyReluGrad.apply(g, ctx.inputs[0].data, ctx.slope), None


class LeakyReluGrad(Diagonal):
    """dx = g * (1 if x > 0 else slope) for a fixed x: linear in g and diagonal, so its VJP is
    itself (the mask does not depend on g; its derivative in x is 0 almost everywhere)."""
    name = "leaky_relu_backward"

    @staticmethod
    def kernel(g, x, slope):
        return backends.get("leaky_relu_bwd", device_of(g))(x, g, slope)


def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x. Floating-point tensors only, as in PyTorch."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind not in "fc":
        raise NotImplementedError(f"leaky_relu: not implemented for {dtype} tensors (shape "
                                  f"{tuple(x.shape)}); convert to float first")
    return LeakyRelu.apply(x, float(negative_slope))


class Clip(Function):
    """Gradient passes where lo <= x <= hi (inclusive, as torch.clamp)."""
    name = "clip"

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.bounds = (lo, hi)
        return _xp(a).clip(a, lo, hi)

    @staticmethod
    def vjp(ctx, g):
        a = ctx.inputs[0].data
        lo, hi = ctx.bounds
        mask = _xp(a).ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        return g * constant(mask.astype(a.dtype)), None, None


def clip(x, min=None, max=None):  # noqa: A002 -- torch's names
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, float) or isinstance(max, float):   # torch: an int tensor clamped to 0.5 is float32
        x = to_float(x)
    return Clip.apply(x, min, max)


clamp = clip


def add(a, b):
    return Add.apply(a, b)


def sub(a, b):
    return Sub.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)


def div(a, b, *, rounding_mode=None):
    """a / b. True division gives float32 for two integer operands (torch's default float);
    ``rounding_mode="trunc"`` / ``"floor"`` round the quotient toward zero / down (integer
    operands stay integer; a zero integer divisor raises), with zero gradient."""
    a, b = lift_pair(a, b)
    if rounding_mode is None:
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            a, b = to_float(a), to_float(b)
        return Div.apply(a, b)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        a = Tensor._make(a.data.astype(_xp(a.data).int64), None)
    if a.dtype.kind in "iu" and b.dtype.kind in "biu" and bool((b.data == 0).any()):
        raise RuntimeError(f"div: ZeroDivisionError (integer division by zero, shapes {a.shape} "
                           f"and {b.shape}, rounding_mode={rounding_mode!r})")
    if a.shape != b.shape:
        broadcast_shape("div", a.shape, b.shape)
    return (DivFloor if rounding_mode == "floor" else DivTrunc).apply(a, b)


def floor_divide(a, b):
    """torch.floor_divide, the ``//`` operator: div(a, b, rounding_mode="floor")."""
    return div(a, b, rounding_mode="floor")


class _Step(Function):
    """A piecewise-constant function of its inputs (floor, sign, rounded division...): its
    derivative is 0 almost everywhere, and its VJP gives zeros (as torch does), not an error."""

    @staticmethod
    def vjp(ctx, g):
        return tuple(constant(g.xp.zeros(x.shape, g.dtype)) if need else None
                     for x, need in zip(ctx.inputs, ctx.needs_input_grad))


def _trunc_div(a, b):
    xp = _xp(a)
    if a.dtype.kind == "f":
        return xp.trunc(a / b)
    q = xp.floor_divide(a, b)          # integers: floor, then step toward zero where inexact
    return q + ((xp.remainder(a, b) != 0) & ((a < 0) != (b < 0))).astype(q.dtype)


DivFloor = type("DivFloor", (_Step,), {"name": "div_floor", "__doc__": "floor(a / b), Python's //.",
                                       "forward": staticmethod(lambda ctx, a, b: _xp(a).floor_divide(a, b))})
DivTrunc = type("DivTrunc", (_Step,), {"name": "div_trunc", "__doc__": "a / b rounded toward zero.",
                                       "forward": staticmethod(lambda ctx, a, b: _trunc_div(a, b))})
Sign = type("Sign", (_Step,), {"name": "sign", "__doc__": "-1, 0 or 1 (bool stays bool).",
                               "forward": staticmethod(lambda ctx, a: _xp(a).sign(a) if a.dtype.kind != "b" else a.copy())})


def pow(a, b):  # noqa: A001 -- torch's name
    return Pow.apply(a, b)


def neg(x):
    _no_bool(x, "neg")
    return Mul.apply(x, -1)


def square(x):
    return Mul.apply(x, x)


def sign(x):
    """Sign of x; its gradient is zero (torch's too)."""
    return Sign.apply(x)


def _compare(fn):
    def op(a, b):
        a, b = lift_pair(a, b)
        return constant(fn(a.data, b.data))
    return op


lt = _compare(lambda a, b: a < b)
le = _compare(lambda a, b: a <= b)
gt = _compare(lambda a, b: a > b)
ge = _compare(lambda a, b: a >= b)
eq = _compare(lambda a, b: a == b)
ne = _compare(lambda a, b: a != b)


def logical_not(x):
    """True where x is 0 / False (bool result, any input dtype)."""
    return constant(x.xp.logical_not(x.data))
