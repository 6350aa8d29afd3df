"""The parity fixes of issue 18 against torch: min / minimum on bool and integer extremes,
logical_not / bitwise_not, Pow's gradients at base 0, nll_loss's weighted mean, label smoothing
with ignore_index, 1-D @ 1-D matmul, reductions of 0-d tensors, sign's zero gradient, empty means
and var / std with too few values, and torch's dtype rules for integer and bool inputs.
Values, gradients and grads of grads in float64 (and float32 where stated) via tests/torch_parity.py (preset ELEMENTWISE)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from tinygan import ops

try:
    from torch_parity import BACKENDS, compare_with, dtype_name, ELEMENTWISE
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, compare_with, dtype_name, ELEMENTWISE

compare = compare_with(ELEMENTWISE)

torch = pytest.importorskip("torch")
F = torch.nn.functional
I64 = np.iinfo(np.int64)
INT_ELEMENTS = st.one_of(st.sampled_from([I64.min, I64.max, I64.min + 1, 0, -1, 1]),
                         st.integers(I64.min, I64.max))


def _shape(min_dims=0, min_side=0):
    return hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=min_side, max_side=4)


# ---- min / minimum ------------------------------------------------------------------------------
@settings(max_examples=25)
@given(data=st.data())
def test_min_and_minimum_on_integers_and_bools(data):
    kind = data.draw(st.sampled_from(["int64", "bool", "int32"]))
    shape = data.draw(_shape(min_side=1))
    if kind == "bool":
        a, b = (data.draw(hnp.arrays(bool, shape)) for _ in range(2))
    else:
        el = INT_ELEMENTS if kind == "int64" else st.integers(-2**31, 2**31 - 1)
        a, b = (data.draw(hnp.arrays(kind, shape, elements=el)) for _ in range(2))
    for ours, theirs in ((ops.minimum, torch.minimum), (ops.maximum, torch.maximum)):
        out, ref = ours(tg.tensor(a), tg.tensor(b)), theirs(torch.tensor(a), torch.tensor(b))
        assert out.dtype.name == dtype_name(ref)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())
    for dim in (None, 0, -1):
        out = ops.amin(tg.tensor(a), dim)
        ref = torch.amin(torch.tensor(a)) if dim is None else torch.amin(torch.tensor(a), dim)
        assert out.dtype.name == dtype_name(ref)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15)
@given(data=st.data())
def test_minimum_and_min_gradients_split_ties_like_torch(backend, data):
    shape = data.draw(_shape(min_side=1))
    el = st.sampled_from([-1.0, 0.0, 0.5, 2.0])                 # ties on purpose
    a, b = (data.draw(hnp.arrays(np.float64, shape, elements=el)) for _ in range(2))
    with tg.set_backend(backend):
        compare(ops.minimum, torch.minimum, [a, b])
        compare(lambda x: ops.amin(x, -1), lambda x: torch.amin(x, -1), [a])
        compare(lambda x: x.min(), lambda x: x.amin(), [a.astype(np.float32)])


def test_min_examples_from_the_issue():
    assert ops.min(tg.tensor([False, True])).item() is False
    assert ops.minimum(tg.tensor([I64.min]), tg.tensor([0])).item() == I64.min
    assert ops.min(tg.tensor([I64.min, 5])).item() == I64.min


# ---- logical_not / bitwise_not ------------------------------------------------------------------
@pytest.mark.parametrize("values", [np.array([0, 1, -2, 7]), np.array([0.0, -0.0, 1.5, np.nan, np.inf]),
                                    np.array([True, False]), np.array([0, 3], dtype=np.uint8)])
def test_logical_not_and_invert_like_torch(values):
    out, ref = ops.logical_not(tg.tensor(values)), torch.logical_not(torch.tensor(values))
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(tg.tensor(values).logical_not().numpy(), ref.numpy())
    if values.dtype.kind == "f":
        with pytest.raises(TypeError, match="bitwise_not"):
            ~tg.tensor(values)
    else:
        np.testing.assert_array_equal((~tg.tensor(values)).numpy(), (~torch.tensor(values)).numpy())
    a, b = values, values[::-1].copy()
    for name in ("logical_and", "logical_or", "logical_xor"):
        np.testing.assert_array_equal(getattr(ops, name)(tg.tensor(a), tg.tensor(b)).numpy(),
                                      getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy())


# ---- Pow at base 0 ------------------------------------------------------------------------------
def test_pow_gradients_at_zero_base_match_torch():
    base = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 0.0, -1.0, 0.0, 3.0])
    expo = np.array([0.0, 0.5, 1.0, 2.0, 0.0, -1.0, 0.0, 3.0, 2.5])
    compare(ops.pow, torch.pow, [base, expo], finite_where_torch_nan=True)
    compare(lambda x: x ** 0, lambda x: x ** 0, [base], finite_where_torch_nan=True)
    compare(lambda x: x ** 2, lambda x: x ** 2, [base], finite_where_torch_nan=True)
    compare(lambda y: 0.0 ** y, lambda y: 0.0 ** y, [expo], finite_where_torch_nan=True)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=20)
@given(data=st.data())
def test_pow_matches_torch_on_drawn_shapes(backend, data):
    sa, sb = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                                         max_side=3).map(lambda r: r.input_shapes))
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    a = data.draw(hnp.arrays(np.float64, sa, elements=st.one_of(st.just(0.0), st.floats(0.2, 3)))).astype(dtype)
    b = data.draw(hnp.arrays(np.float64, sb, elements=st.one_of(st.sampled_from([0.0, 1.0, 2.0]),
                                                                st.floats(0.1, 3)))).astype(dtype)
    with tg.set_backend(backend):
        compare(ops.pow, torch.pow, [a, b], finite_where_torch_nan=True)


# ---- losses -------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight", [np.array([1.0, -2.0, 0.5, 0.5]), np.array([1.0, -1.0, 0.0, 2.0]),
                                    np.array([1e-300, 1e-300, 1e-300, 1e-300])],
                         ids=["negative", "sums-to-zero", "tiny"])
@pytest.mark.parametrize("target", [[0, 1, -100], [1, 1, 1], [-100, -100, -100]],
                         ids=["some-ignored", "one-class", "all-ignored"])
def test_nll_loss_weighted_mean_divides_by_the_weight_sum(weight, target):
    x = np.random.default_rng(0).standard_normal((3, 4))
    with np.errstate(all="ignore"):
        compare(lambda l: ops.nll_loss(ops.log_softmax(l, 1), np.array(target), weight=weight),
                lambda l: F.nll_loss(torch.log_softmax(l, 1), torch.tensor(target), weight=torch.tensor(weight)),
                [x], finite_where_torch_nan=True)


@settings(max_examples=20)
@given(data=st.data())
def test_cross_entropy_label_smoothing_with_ignore_index_weight_and_reductions(data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4))
    extra = data.draw(st.lists(st.integers(1, 3), max_size=1).map(tuple))
    x = data.draw(hnp.arrays(np.float64, (n, c) + extra, elements=st.floats(-4, 4)))
    target = data.draw(hnp.arrays(np.int64, (n,) + extra, elements=st.sampled_from(list(range(c)) + [-1])))
    use_weight = data.draw(st.booleans())
    weight = data.draw(hnp.arrays(np.float64, (c,), elements=st.floats(0.1, 2))) if use_weight else None
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    eps = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    compare(lambda l: ops.cross_entropy(l, target, weight=weight, ignore_index=-1, reduction=reduction,
                                        label_smoothing=eps),
            lambda l: F.cross_entropy(l, torch.tensor(target), weight=None if weight is None else torch.tensor(weight),
                                      ignore_index=-1, reduction=reduction, label_smoothing=eps),
            [x], finite_where_torch_nan=True)


def test_cross_entropy_rejects_bad_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        ops.cross_entropy(tg.tensor(np.zeros((2, 3))), np.array([0, 1]), label_smoothing=1.5)


# ---- matmul, 0-d reductions, sign, empty means, var / std ---------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=10)
@given(n=st.integers(0, 5), data=st.data())
def test_vector_dot_vector(backend, n, data):
    a, b = (data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3))) for _ in range(2))
    with tg.set_backend(backend):
        out = compare(ops.matmul, torch.matmul, [a, b])
        assert out.shape == ()
        compare(lambda x, y: x @ y, lambda x, y: x @ y, [a.astype(np.float32), b.astype(np.float32)])


ZERO_D = {
    "sum0": (lambda x: ops.sum(x, 0), lambda x: x.sum(0)),
    "sum-1_keepdim": (lambda x: ops.sum(x, -1, keepdim=True), lambda x: x.sum(-1, keepdim=True)),
    "mean0": (lambda x: ops.mean(x, dim=0), lambda x: x.mean(0)),
    "amax": (lambda x: ops.amax(x, -1), lambda x: x.amax(-1)),
    "amin": (lambda x: ops.amin(x, 0), lambda x: x.amin(0)),
    "softmax": (lambda x: ops.softmax(x, 0), lambda x: torch.softmax(x, 0)),
    "log_softmax": (lambda x: ops.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1)),
    "logsumexp": (lambda x: ops.logsumexp(x, 0), lambda x: torch.logsumexp(x, 0)),
    "sum_tuple": (lambda x: ops.sum(x, (0,)), lambda x: x.sum((0,))),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reductions_of_a_0d_tensor(name, dtype):
    ours, theirs = ZERO_D[name]
    compare(ours, theirs, [np.array(1.7, dtype=dtype)])
    with pytest.raises(ValueError, match="out of range"):
        ours(tg.tensor(np.array(1.0)).sum(0) * 0 + tg.tensor(np.ones((2,)))[0]) if False else ops.sum(
            tg.tensor(1.0), 1)


@settings(max_examples=15)
@given(shape=_shape(), data=st.data())
def test_sign_has_zero_gradient(shape, data):
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-2.0, -0.0, 0.0, 1.5])))
    compare(ops.sign, torch.sign, [x])
    compare(lambda t: t.sign() * t, lambda t: t.sign() * t, [x])


@settings(max_examples=20)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), data=st.data())
def test_mean_over_empty_axes_is_nan(shape, data):
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3)))
    dim = data.draw(st.sampled_from([None, 0, -1]))
    compare(lambda t: ops.mean(t, dim), lambda t: t.mean() if dim is None else t.mean(dim), [x])


def test_mean_over_an_empty_axis_second_derivative_is_that_of_an_empty_sum():
    """d/du <VJP(u), v> = sum over no entries = 0 (torch gives 0 too; 0 * inf would give NaN)."""
    x = tg.tensor(np.zeros((3, 0)), requires_grad=True)
    u = tg.tensor(np.ones(3), requires_grad=True)
    (gx,) = tg.grad(ops.mean(x, 1), [x], grad_outputs=[u], create_graph=True)
    (gu,) = tg.grad((gx * tg.tensor(np.zeros((3, 0)))).sum(), [u], allow_unused=True)
    tx, tu = torch.zeros(3, 0, dtype=torch.float64, requires_grad=True), torch.ones(3, dtype=torch.float64, requires_grad=True)
    (tgx,) = torch.autograd.grad(tx.mean(1), [tx], grad_outputs=[tu], create_graph=True)
    (tgu,) = torch.autograd.grad((tgx * torch.zeros(3, 0)).sum(), [tu], allow_unused=True)
    assert gx.shape == (3, 0) and np.array_equal(gu.numpy(), np.zeros(3))
    assert tgu is None or np.array_equal(tgu.numpy(), np.zeros(3))


@pytest.mark.parametrize("shape,dim,correction", [((1,), None, 1), ((3, 1), 1, 1), ((2,), 0, 2),
                                                  ((0,), 0, 1), ((2, 2), None, 4), ((2,), None, 3),
                                                  ((3, 2), 0, 5)])
@pytest.mark.parametrize("fn", ["var", "std"])
def test_var_std_with_too_few_values_give_nan_or_inf(shape, dim, correction, fn):
    x = np.random.default_rng(1).standard_normal(shape)
    ours = lambda t: getattr(ops, fn)(t, dim, correction=correction)  # noqa: E731
    theirs = lambda t: getattr(torch, fn)(t, dim, correction=correction)  # noqa: E731
    with np.errstate(all="ignore"):
        out, ref = ours(tg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())      # NaN and inf, position by position
    count = np.prod(shape) if dim is None else shape[dim]
    # Gradients: +-inf and NaN as torch's. Not compared where torch's own are inconsistent: with
    # count < correction (finite along a dim, inf for a full reduction) and for a full reduction of
    # count == correction > 1 (+inf everywhere, whatever the sign of x - mean; here 2 (x - mean) * inf).
    if count >= correction and (dim is not None or count == 1):
        with np.errstate(all="ignore"):
            compare(ours, theirs, [x], gradgrad=False)


# ---- torch's dtype rules ------------------------------------------------------------------------
I = np.array([3, -2, 0, 7])
I32 = I.astype(np.int32)
B = np.array([True, False, True, True])
F32 = np.array([0.5, -1.5, 2.0, 3.0], dtype=np.float32)
F64 = F32.astype(np.float64)
TYPE_CASES = {
    "int/int": (lambda a, b: a / b, (I, I32[::-1].copy() + 10)),
    "int/python-int": (lambda a: a / 2, (I,)), "python-int/int": (lambda a: 2 / (a + 10), (I,)),
    "bool/bool": (lambda a, b: a / b, (B, B)),
    "int+python-float": (lambda a: a + 2.5, (I,)), "python-float*bool": (lambda a: 1.5 * a, (B,)),
    "bool*python-int": (lambda a: a * 2, (B,)), "bool+python-bool": (lambda a: a + True, (B,)),
    "int32+python-int": (lambda a: a + 1, (I32,)), "int+float32": (lambda a, b: a + b, (I, F32)),
    "int*float64": (lambda a, b: a * b, (I, F64)), "int32+int64": (lambda a, b: a + b, (I32, I)),
    "bool+int32": (lambda a, b: a + b, (B, I32)),
    "int**2": (lambda a: a ** 2, (I,)), "int**0.5": (lambda a: (a + 2) ** 0.5, (I,)),
    "2**int": (lambda a: 2 ** (a + 2), (I,)), "2.0**int": (lambda a: 2.0 ** a, (I,)),
    "exp(int)": (lambda a: a.exp(), (I,)), "log(int)": (lambda a: (a + 3).log(), (I,)),
    "sqrt(int32)": (lambda a: (a + 3).sqrt(), (I32,)), "sigmoid(bool)": (lambda a: a.sigmoid(), (B,)),
    "tanh(int)": (lambda a: a.tanh(), (I,)), "sin(bool)": (lambda a: a.sin(), (B,)),
    "abs(int)": (lambda a: a.abs(), (I,)), "abs(bool)": (lambda a: a.abs(), (B,)),
    "neg(bool)": (lambda a: -a, (B,)), "neg(int)": (lambda a: -a, (I,)),
    "relu(int)": (lambda a: a.relu(), (I,)), "sign(bool)": (lambda a: a.sign(), (B,)),
    "sign(int)": (lambda a: a.sign(), (I,)),
    "clamp(int, 0.5)": (lambda a: a.clamp(0.5), (I,)), "clamp(int, 1, 3)": (lambda a: a.clamp(1, 3), (I,)),
    "maximum(int, float32)": (lambda a, b: a.maximum(b), (I, F32)),
    "sum(int32)": (lambda a: a.sum(), (I32,)), "sum(bool)": (lambda a: a.sum(), (B,)),
    "sum(uint8)": (lambda a: a.sum(), (I.astype(np.uint8),)),
    "mean(int)": (lambda a: a.mean(), (I,)), "var(int)": (lambda a: a.var(), (I,)),
    "softmax(int)": (lambda a: a.softmax(0), (I,)), "logsumexp(int)": (lambda a: a.logsumexp(0), (I,)),
    "amax(bool)": (lambda a: a.amax(), (B,)), "amin(int)": (lambda a: a.amin(), (I,)),
    "int<float": (lambda a: a < 0.5, (I,)), "matmul(int)": (lambda a, b: a @ b, (I, I)),
}


@pytest.mark.parametrize("name", sorted(TYPE_CASES))
def test_dtypes_follow_torch(name):
    """Same result dtype and values as torch, or an error where torch raises one."""
    fn, arrays = TYPE_CASES[name]
    try:
        ref = fn(*[torch.tensor(a) for a in arrays])
    except (RuntimeError, TypeError):
        with pytest.raises((RuntimeError, TypeError, ValueError)):
            fn(*[tg.tensor(a) for a in arrays])
        return
    with np.errstate(all="ignore"):
        out = fn(*[tg.tensor(a) for a in arrays])
    assert out.dtype.name == dtype_name(ref), (out.dtype, ref.dtype)
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-6)


def test_float64_behaviour_is_unchanged():
    x = tg.tensor(F64, requires_grad=True)
    y = (x * 2 + 1.5) / 3
    assert y.dtype == np.float64 and (x / tg.tensor(I)).dtype == np.float64
    assert x.exp().dtype == np.float64 and (x ** 2).dtype == np.float64
