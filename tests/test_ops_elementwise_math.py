"""tinygan.ops.elementwise_math against torch: values, dtypes, gradients and grads of grads on
Hypothesis-drawn shapes (0-d and empty ones included), float64 and float32 (tolerances in
tests/torch_parity.py ELEMENTWISE), on the numpy and cpp backends; special values (0, -0, +-inf, NaN, domain
ends); integer and bool inputs; check_vjp for every VJP."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from tinygan import ops
from tinygan.testing import check_vjp

try:
    from torch_parity import BACKENDS, compare_with, dtype_name, ELEMENTWISE
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, compare_with, dtype_name, ELEMENTWISE

compare = compare_with(ELEMENTWISE)

torch = pytest.importorskip("torch")

# name: (tinygan op, torch op, (lo, hi) of the inputs' values)
UNARY = {
    "sin": (ops.sin, torch.sin, (-4, 4)), "cos": (ops.cos, torch.cos, (-4, 4)),
    "tan": (ops.tan, torch.tan, (-1.4, 1.4)), "asin": (ops.asin, torch.asin, (-0.95, 0.95)),
    "acos": (ops.acos, torch.acos, (-0.95, 0.95)), "atan": (ops.atan, torch.atan, (-5, 5)),
    "sinh": (ops.sinh, torch.sinh, (-3, 3)), "cosh": (ops.cosh, torch.cosh, (-3, 3)),
    "asinh": (ops.asinh, torch.asinh, (-5, 5)), "acosh": (ops.acosh, torch.acosh, (1.05, 5)),
    "atanh": (ops.atanh, torch.atanh, (-0.95, 0.95)),
    "floor": (ops.floor, torch.floor, (-4, 4)), "ceil": (ops.ceil, torch.ceil, (-4, 4)),
    "round": (ops.round, torch.round, (-4, 4)), "trunc": (ops.trunc, torch.trunc, (-4, 4)),
    "round_decimals": (lambda x: ops.round(x, decimals=2), lambda x: torch.round(x, decimals=2), (-4, 4)),
    "round_neg_decimals": (lambda x: ops.round(x, decimals=-1), lambda x: torch.round(x, decimals=-1), (-40, 40)),
    "erf": (ops.erf, torch.erf, (-4, 4)), "erfc": (ops.erfc, torch.erfc, (-4, 4)),
    "log2": (ops.log2, torch.log2, (0.05, 5)), "log10": (ops.log10, torch.log10, (0.05, 5)),
    "exp2": (ops.exp2, torch.exp2, (-5, 5)), "rsqrt": (ops.rsqrt, torch.rsqrt, (0.05, 5)),
    "method_sin": (lambda x: x.sin(), lambda x: x.sin(), (-4, 4)),
    "method_floor": (lambda x: x.floor(), lambda x: x.floor(), (-4, 4)),
}
BINARY = {
    "atan2": (ops.atan2, torch.atan2, (-3, 3), (-3, 3)),
    "fmod": (ops.fmod, torch.fmod, (-5, 5), (0.3, 3)),
    "fmod_negative_divisor": (ops.fmod, torch.fmod, (-5, 5), (-3, -0.3)),
    "remainder": (ops.remainder, torch.remainder, (-5, 5), (0.3, 3)),
    "remainder_negative_divisor": (ops.remainder, torch.remainder, (-5, 5), (-3, -0.3)),
    "mod_operator": (lambda a, b: a % b, lambda a, b: a % b, (-5, 5), (-3, -0.3)),
    "copysign": (ops.copysign, torch.copysign, (-3, 3), (-3, 3)),
    "logaddexp": (ops.logaddexp, torch.logaddexp, (-30, 30), (-30, 30)),
    "lerp_scalar_weight": (lambda a, b: ops.lerp(a, b, 0.7), lambda a, b: torch.lerp(a, b, 0.7), (-3, 3), (-3, 3)),
    "method_atan2": (lambda a, b: a.atan2(b), lambda a, b: a.atan2(b), (-3, 3), (-3, 3)),
}
DTYPES = [np.float64, np.float32]
SINGULAR = ("atan2", "method_atan2", "copysign")   # second derivative: NaN in torch at 0, 0 here


def _values(draw, shape, lo, hi, dtype):
    el = st.floats(lo, hi, allow_nan=False)
    return draw(hnp.arrays(np.float64, shape, elements=el)).astype(dtype)


def _shapes(n):
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3, min_side=0,
                                             max_side=3).map(lambda r: r.input_shapes)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=12)
@given(data=st.data())
def test_unary_matches_torch(name, backend, data):
    ours, theirs, (lo, hi) = UNARY[name]
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    x = _values(data.draw, shape, lo, hi, dtype)
    with tg.set_backend(backend):
        compare(ours, theirs, [x])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=12)
@given(data=st.data())
def test_binary_matches_torch(name, backend, data):
    ours, theirs, ra, rb = BINARY[name]
    dtype = data.draw(st.sampled_from(DTYPES))
    sa, sb = data.draw(_shapes(2))
    a, b = _values(data.draw, sa, *ra, dtype), _values(data.draw, sb, *rb, dtype)
    if name in SINGULAR:   # near 0 torch's second derivative is the rounding noise of 1/a - 1/a,
        a = np.where(np.abs(a) < 1e-3, 0, a).astype(dtype)   # and a^2 + b^2 underflows to 0
        b = np.where(np.abs(b) < 1e-3, 0, b).astype(dtype)
    with tg.set_backend(backend):
        compare(ours, theirs, [a, b], finite_where_torch_nan=name in SINGULAR)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15)
@given(data=st.data())
def test_lerp_tensor_weight_matches_torch(backend, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    sa, sb, sw = data.draw(_shapes(3))
    a, b = _values(data.draw, sa, -3, 3, dtype), _values(data.draw, sb, -3, 3, dtype)
    w = _values(data.draw, sw, -0.5, 1.5, dtype)        # both of torch's branches (|w| < 0.5 or not)
    with tg.set_backend(backend):
        compare(ops.lerp, torch.lerp, [a, b, w])


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-8, -1e-8, 30.0, -30.0, 1e30,
                    -1e30, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_special_values(name, dtype):
    """0, -0, halves (round: to even), huge, +-inf, NaN, outside the domain: same values (and the
    same sign of zero) as torch."""
    ours, theirs, _ = UNARY[name]
    x = SPECIAL.astype(dtype)
    with np.errstate(all="ignore"):
        out = ours(tg.tensor(x)).numpy()
    ref = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=0)
    np.testing.assert_array_equal(np.signbit(out[out == 0]), np.signbit(ref[out == 0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_special_values(name, dtype):
    ours, theirs, _, _ = BINARY[name]
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    a, b = a.astype(dtype), b.astype(dtype)
    with np.errstate(all="ignore"):
        out = ours(tg.tensor(a), tg.tensor(b)).numpy()
    ref = theirs(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=0)
    if not name.startswith("lerp"):   # lerp's 0 * inf-style sign of zero is not specified
        np.testing.assert_array_equal(np.signbit(out[out == 0]), np.signbit(ref[out == 0]))


def _same_as_torch(ours, theirs, *arrays):
    """Either both raise, or both give the same dtype and values."""
    try:
        ref = theirs(*[torch.tensor(a) for a in arrays])
    except (RuntimeError, TypeError, ValueError):
        with pytest.raises((RuntimeError, TypeError, ValueError)):
            ours(*[tg.tensor(a) for a in arrays])
        return
    out = ours(*[tg.tensor(a) for a in arrays])
    assert out.dtype.name == dtype_name(ref), (out.dtype, ref.dtype)
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref.numpy().astype(np.float64),
                               rtol=1e-6, atol=1e-7)


INTS = np.array([0, 1, -1, 2, -7, 5], dtype=np.int64)
BOOLS = np.array([True, False, True, True, False, False])
EXTREMES = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1], dtype=np.int64)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("values", [INTS, BOOLS, EXTREMES, INTS.astype(np.int32), INTS.astype(np.uint8)],
                         ids=["int64", "bool", "int64-extremes", "int32", "uint8"])
def test_unary_integer_and_bool_inputs(name, values):
    """torch's dtypes: floating functions of integers give float32; rounding keeps integers and
    rejects bool."""
    ours, theirs, _ = UNARY[name]
    with np.errstate(all="ignore"):
        _same_as_torch(ours, theirs, values)


@pytest.mark.parametrize("name", ["atan2", "fmod", "remainder", "mod_operator", "copysign", "logaddexp"])
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("bool", "bool"), ("int64", "float32"),
                                    ("int32", "int64"), ("bool", "int64")])
def test_binary_integer_and_bool_inputs(name, dtypes):
    ours, theirs, _, _ = BINARY[name]
    a = np.array([7, -7, 3, 0, 5, -9]).astype(dtypes[0])
    b = np.array([2, 3, -2, 4, -5, 2]).astype(dtypes[1])
    _same_as_torch(ours, theirs, a, b)


@pytest.mark.parametrize("op", [ops.fmod, ops.remainder, lambda a, b: a % b, ops.floor_divide,
                                lambda a, b: ops.div(a, b, rounding_mode="trunc")])
def test_integer_zero_divisor_raises_like_torch(op):
    a, b = tg.tensor([5, 6]), tg.tensor([1, 0])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(a, b)


def test_predicates_match_torch():
    for values in (SPECIAL, SPECIAL.astype(np.float32), INTS, BOOLS, EXTREMES):
        for name in ("isnan", "isinf", "isfinite"):
            out = getattr(ops, name)(tg.tensor(values))
            ref = getattr(torch, name)(torch.tensor(values))
            assert out.dtype == np.bool_
            np.testing.assert_array_equal(out.numpy(), ref.numpy())
            np.testing.assert_array_equal(getattr(tg.tensor(values), name)().numpy(), ref.numpy())


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float32"), ("int64", "int64"),
                                    ("int32", "int64"), ("int64", "float32")])
def test_div_rounding_modes_match_torch(mode, dtypes):
    a = np.array([7, -7, 7.5, -7.5, 0, 9, -1e10, 3]).astype(dtypes[0])
    b = np.array([2, 2, -2, -2, 3, -4, 3, 1]).astype(dtypes[1])
    _same_as_torch(lambda x, y: ops.div(x, y, rounding_mode=mode),
                   lambda x, y: torch.div(x, y, rounding_mode=mode), a, b)
    if mode == "floor":
        _same_as_torch(lambda x, y: x // y, lambda x, y: x // y, a, b)


def test_floor_division_gradient_is_zero_like_torch():
    a = np.array([7.5, -7.5, 3.2])
    compare(lambda x, y: ops.div(x, y, rounding_mode="floor"),
            lambda x, y: torch.div(x, y, rounding_mode="floor"), [a, np.array([2.0, -2.0, 0.5])],
            gradgrad=False)


# ---- check_vjp (float64 central differences) for every VJP --------------------------------------
def _away_from_steps(x, period=0.5, margin=0.05):
    """Move values off the multiples of ``period`` (where rounding and fmod jump)."""
    frac = np.abs(x / period - np.round(x / period))
    return np.where(frac < margin / period, x + 0.2 * period, x)


VJP_UNARY = dict(UNARY)


@pytest.mark.parametrize("name", sorted(VJP_UNARY))
@settings(max_examples=10)
@given(data=st.data())
def test_unary_check_vjp(name, data):
    ours, _, (lo, hi) = VJP_UNARY[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    x = _values(data.draw, shape, lo, hi, np.float64)
    if "round" in name or name in ("floor", "ceil", "trunc", "method_floor"):
        x = _away_from_steps(x, 0.005 if name == "round_decimals" else 5.0 if name == "round_neg_decimals" else 0.5,
                             0.001 if name == "round_decimals" else 0.05)
    check_vjp(ours, x)


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=10)
@given(data=st.data())
def test_binary_check_vjp(name, data):
    ours, _, ra, rb = BINARY[name]
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                          max_side=3).map(lambda r: r.input_shapes))
    a, b = _values(data.draw, sa, *ra, np.float64), _values(data.draw, sb, *rb, np.float64)
    if name in ("copysign",):                       # off the kinks at a = 0 and the jump at b = 0
        a = np.where(np.abs(a) < 0.05, 0.5, a)
        b = np.where(np.abs(b) < 0.05, 0.5, b)
    if "atan2" in name:                             # off the origin and the branch cut (a = 0, b < 0)
        a = np.where(np.abs(a) < 0.05, 0.5, a)
    if "fmod" in name or "remainder" in name or "mod" in name:
        q = a / b                                    # off the jumps where a / b is an integer
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.3 * b, a)
    check_vjp(ours, a, b)


@settings(max_examples=10)
@given(data=st.data())
def test_lerp_check_vjp(data):
    sa, sb, sw = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                              max_side=3).map(lambda r: r.input_shapes))
    a, b = _values(data.draw, sa, -3, 3, np.float64), _values(data.draw, sb, -3, 3, np.float64)
    w = _values(data.draw, sw, -0.4, 1.4, np.float64)
    w = np.where(np.abs(np.abs(w) - 0.5) < 0.01, 0.3, w)   # torch's branch switch: values agree, fine
    check_vjp(ops.lerp, a, b, w)


def test_atan2_and_copysign_at_zero():
    """atan2 at (0, 0) and copysign at a = 0: torch's gradients are 0, and so are ours; torch's
    second derivative there is NaN, ours finite (the masked entries never form 0 / 0)."""
    compare(ops.atan2, torch.atan2, [np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -2.0])],
            finite_where_torch_nan=True)
    compare(ops.copysign, torch.copysign, [np.array([0.0, -0.0, 2.0]), np.array([-1.0, 1.0, -0.0])],
            finite_where_torch_nan=True)


def test_aliases_and_module_level_names():
    assert tg.arcsin is ops.asin and tg.arctan2 is ops.atan2 and tg.fix is ops.trunc
    x = tg.tensor([0.25, -0.75])
    np.testing.assert_allclose(x.arcsin().numpy(), np.arcsin(x.numpy()))
    assert math.isclose(float(tg.erf(tg.tensor(0.5))), math.erf(0.5), rel_tol=1e-6)
