"""prod, any, all and the scans (cumsum cumprod cummax cummin logcumsumexp) against torch:
values, dtypes, gradients and grad of grad (float64), float32 values and gradients (tolerance in
tests/torch_parity.py OPS), on Hypothesis-drawn shapes with 0-d tensors, empty axes, zeros and ties; each
new VJP through check_vjp; both CPU backends."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan.testing import check_vjp
from torch_parity import BACKENDS, compare_with, OPS, torch
compare = compare_with(OPS)

shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)
nonempty = st.lists(st.integers(1, 4), max_size=3).map(tuple)
# small integers as floats: exact zeros (prod's hard case) and ties (cummax's) are common
gritty = st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0])


def _array(data, shape, elements=None):
    if elements is None:   # |x| >= 0.1: torch's own cumprod double backward divides by x
        elements = st.floats(0.1, 2).flatmap(lambda v: st.sampled_from([v, -v]))
    return np.array(data.draw(st.lists(elements, min_size=int(np.prod(shape)),
                                       max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)


def _dim(data, shape):
    return data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))


SCANS = {
    "cumsum": (lambda x, d: tg.cumsum(x, d), lambda x, d: torch.cumsum(x, d)),
    "cumprod": (lambda x, d: tg.cumprod(x, d), lambda x, d: torch.cumprod(x, d)),
    "cummax": (lambda x, d: tg.cummax(x, d), lambda x, d: tuple(torch.cummax(x, d))),
    "cummin": (lambda x, d: x.cummin(d), lambda x, d: tuple(torch.cummin(x, d))),
    "logcumsumexp": (lambda x, d: x.logcumsumexp(d), lambda x, d: torch.logcumsumexp(x, d)),
    "prod_dim": (lambda x, d: tg.prod(x, d), lambda x, d: torch.prod(x, d)),
    "prod_keepdim": (lambda x, d: x.prod(d, keepdim=True), lambda x, d: x.prod(d, keepdim=True)),
    "prod_all": (lambda x, d: tg.prod(x), lambda x, d: torch.prod(x)),
}


@pytest.mark.parametrize("name", sorted(SCANS))
@settings(max_examples=15)
@given(data=st.data())
def test_scan_matches_torch_float64(name, data):
    shape = data.draw(shapes)
    x = _array(data, shape, data.draw(st.sampled_from([None, gritty])))
    d = _dim(data, shape)
    ours, theirs = SCANS[name]
    compare(lambda t: ours(t, d), lambda t: theirs(t, d), [x], backend=data.draw(st.sampled_from(BACKENDS)))


@pytest.mark.parametrize("name", sorted(SCANS))
@settings(max_examples=8)
@given(data=st.data())
def test_scan_matches_torch_float32(name, data):
    shape = data.draw(nonempty)
    x = _array(data, shape)
    d = _dim(data, shape)
    ours, theirs = SCANS[name]
    compare(lambda t: ours(t, d), lambda t: theirs(t, d), [x], dtype=np.float32,
            backend=data.draw(st.sampled_from(BACKENDS)))


@pytest.mark.parametrize("name", ["cumprod", "prod_dim", "prod_all"])
@pytest.mark.parametrize("zeros", [(1,), (1, 3), (0, 2, 3)])
def test_products_with_zeros_match_torch(name, zeros):
    """One zero: only it gets a gradient (the product of the others); two or more: none."""
    x = np.array([[1.5, -2.0, 0.7, 3.0], [0.5, 1.25, -0.8, 2.0]])
    x[:, list(zeros)] = 0.0
    ours, theirs = SCANS[name]
    compare(lambda t: ours(t, 1), lambda t: theirs(t, 1), [x])


@pytest.mark.parametrize("name", ["cumprod", "prod_dim", "prod_all", "cumsum", "logcumsumexp"])
@settings(max_examples=10)
@given(data=st.data())
def test_scan_check_vjp(name, data):
    """Central differences: exact enough for these polynomials / smooth maps, zeros included."""
    shape = data.draw(nonempty)
    x = _array(data, shape, data.draw(st.sampled_from([None, gritty])))
    d = _dim(data, shape)
    check_vjp(lambda t: SCANS[name][0](t, d), x)


@settings(max_examples=10)
@given(data=st.data())
def test_products_second_derivative_with_zeros(data):
    """grad of grad at exact zeros against central differences of the gradient itself
    (the VJP is exact polynomial arithmetic, so its own VJP is checked, not only torch's)."""
    shape = data.draw(nonempty)
    x = _array(data, shape, gritty)
    d = _dim(data, shape)
    u = np.random.default_rng(1).standard_normal(tg.cumprod(tg.tensor(x), d).shape)
    for fn in (lambda t: tg.cumprod(t, d), lambda t: tg.prod(t, d)):
        cot = u if fn(tg.tensor(x)).shape == u.shape else u.sum(d)

        def vjp(t, fn=fn, cot=cot):
            t = t if t.requires_grad else t.detach().requires_grad_()   # the shifted evaluations
            (g,) = tg.grad(fn(t), [t], grad_outputs=tg.tensor(cot), create_graph=True)
            return g
        check_vjp(vjp, x)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_check_vjp(op):
    x = np.random.default_rng(4).permutation(24).reshape(2, 3, 4) * 0.25   # distinct: no ties
    for d in (0, 1, -1):
        check_vjp(lambda t: getattr(tg, op)(t, d).values * 1.0, x)
    assert tg.cumsum(input=tg.ones(3), dim=0).numpy().tolist() == [1.0, 2.0, 3.0]


def test_linear_scan_check_vjp():
    from tinygan.ops.scan import linear_scan
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 5))
    for reverse in (False, True):
        check_vjp(lambda p, q: linear_scan(p, q, 1, reverse=reverse), a, b)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_scans_accumulate_in_int64(op, dtype):
    x = np.array([[1, 0, 3], [2, 5, 1]]).astype(dtype)
    compare(lambda t: getattr(tg, op)(t, 1), lambda t: getattr(torch, op)(t, 1), [x])
    compare(lambda t: getattr(tg, op)(t, 0, dtype=tg.float64),
            lambda t: getattr(torch, op)(t, 0, dtype=torch.float64), [x])


def test_prod_dtypes_match_torch():
    for x in (np.array([True, True]), np.array([3, -2], dtype=np.int32), np.array([2.0, 3.0])):
        compare(lambda t: tg.prod(t), lambda t: torch.prod(t), [x])
    compare(lambda t: tg.prod(t, 0, dtype=tg.float64), lambda t: torch.prod(t, 0, dtype=torch.float64),
            [np.array([2, 3])])


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_ties_and_nan_follow_torch(op):
    x = np.array([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, -1.0])
    v, i = getattr(tg, op)(tg.tensor(x), 0)
    tv, ti = getattr(torch, op)(torch.tensor(x), 0)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    for x in (np.array([True, False, True, True]), np.array([3, 1, 1, 2, 1], dtype=np.int64)):
        res = getattr(tg, op)(tg.tensor(x), 0)
        ref = getattr(torch, op)(torch.tensor(x), 0)
        np.testing.assert_array_equal(res.values.numpy(), ref.values.numpy())
        np.testing.assert_array_equal(res.indices.numpy(), ref.indices.numpy())


def test_logcumsumexp_large_values():
    x = np.array([[800.0, -900.0, 790.0, -np.inf], [0.0, 1e-3, -700.0, 700.0]])
    compare(lambda t: tg.logcumsumexp(t, 1), lambda t: torch.logcumsumexp(t, 1), [x], gradgrad=False)


@pytest.mark.parametrize("op", ["any", "all"])
@settings(max_examples=15)
@given(data=st.data())
def test_any_all_match_torch(op, data):
    shape = data.draw(shapes)
    x = _array(data, shape, st.sampled_from([0.0, 1.0, -0.5]))
    dtype = data.draw(st.sampled_from(["float64", "float32", "int64", "bool", "uint8"]))
    x = x.astype(dtype) if dtype != "uint8" else np.abs(x).astype(dtype)
    dims = [None, _dim(data, shape)]
    if len(shape) >= 2:
        dims.append((0, -1))
    for d in dims:
        for keep in (False, True):
            if d is None:
                ours, ref = getattr(tg, op)(tg.tensor(x)), getattr(torch, op)(torch.tensor(x))
            else:
                ours = getattr(tg.tensor(x), op)(d, keepdim=keep)
                ref = getattr(torch.tensor(x), op)(d, keepdim=keep)
            assert str(ours.dtype) == str(ref.dtype).replace("torch.", "")
            np.testing.assert_array_equal(ours.numpy(), ref.numpy())


def test_scan_errors_name_the_op():
    x = tg.randn(2, 3)
    with pytest.raises(TypeError, match="cumsum"):
        tg.cumsum(x, None)
    with pytest.raises(ValueError, match="cumprod"):
        tg.cumprod(x, 2)
    with pytest.raises(TypeError, match="logcumsumexp"):
        tg.logcumsumexp(tg.tensor([1, 2]), 0)
    with pytest.raises(TypeError, match="prod"):
        tg.prod(x, (0, 1))
    with pytest.raises(ValueError, match="any"):
        tg.any(x, 3)
