"""gather / scatter / scatter_add, roll / repeat / repeat_interleave, tril / triu / diag / diagonal
/ eye against torch on Hypothesis-drawn shapes (0-d tensors and empty axes where torch allows them):
values, dtypes, gradients, grad of grad (float64; float32 tolerance in tests/torch_parity.py OPS),
check_vjp for each new VJP, both CPU backends, and torch's shape errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan.testing import check_vjp
from torch_parity import BACKENDS, compare_with, OPS, torch
compare = compare_with(OPS)

shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)
backends = st.sampled_from(BACKENDS)


def _x(data, shape):
    return np.random.default_rng(data.draw(st.integers(0, 2**16))).standard_normal(shape)


@st.composite
def gather_case(draw, unique=False, min_dims=1):
    """(input shape, dim, index array, src shape) following torch's rules; ``unique``: no index
    repeats along dim (scatter's result is then defined)."""
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=min_dims, max_size=3)))
    nd = max(len(shape), 1)
    dim = draw(st.integers(-nd, nd - 1))
    ax = dim % nd
    full = shape or (1,)
    n = full[ax]
    ishape = [draw(st.integers(0, m)) for m in full]
    ishape[ax] = draw(st.integers(0, n if unique else 4)) if n else 0
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if unique:
        keys = rng.random(tuple(ishape[:ax]) + (n,) + tuple(ishape[ax + 1:]))
        index = np.argsort(keys, axis=ax)[tuple(slice(0, k) for k in ishape)]
    else:
        index = rng.integers(0, max(n, 1), size=tuple(ishape))
    if not shape:
        index = index.reshape(()) if index.size == 1 and draw(st.booleans()) else index
    # torch's own backward fails for a src larger than index (it returns a gradient of index's
    # shape), so torch comparisons use src of index's shape; test_scatter_src_larger_than_index
    # covers the larger src against torch's values and check_vjp.
    return shape, dim, index.astype(np.int64), index.shape


@settings(max_examples=30)
@given(data=st.data(), case=gather_case())
def test_gather_matches_torch(data, case):
    shape, dim, index, _ = case
    for dtype in (np.float64, np.float32):
        compare(lambda x, i: tg.gather(x, dim, i), lambda x, i: torch.gather(x, dim, i),
                [_x(data, shape), index], dtype=dtype, backend=data.draw(backends))


@settings(max_examples=30)
@given(data=st.data(), case=gather_case())
def test_scatter_add_matches_torch(data, case):
    shape, dim, index, src = case
    compare(lambda x, i, s: tg.scatter_add(x, dim, i, s), lambda x, i, s: torch.scatter_add(x, dim, i, s),
            [_x(data, shape), index, _x(data, src)], backend=data.draw(backends))
    compare(lambda x, i, s: x.scatter_add(dim, i, s), lambda x, i, s: x.scatter_add(dim, i, s),
            [_x(data, shape), index, _x(data, src)], dtype=np.float32, backend=data.draw(backends))


@settings(max_examples=30)
@given(data=st.data(), case=gather_case(unique=True))
def test_scatter_matches_torch(data, case):
    shape, dim, index, src = case
    compare(lambda x, i, s: tg.scatter(x, dim, i, s), lambda x, i, s: torch.scatter(x, dim, i, s),
            [_x(data, shape), index, _x(data, src)], backend=data.draw(backends))
    compare(lambda x, i: x.scatter(dim, i, 2.5), lambda x, i: x.scatter(dim, i, 2.5),
            [_x(data, shape), index], backend=data.draw(backends))
    compare(lambda x, i, s: x.scatter(dim, i, s), lambda x, i, s: x.scatter(dim, i, s),
            [_x(data, shape), index, _x(data, src)], dtype=np.float32, backend=data.draw(backends))


@settings(max_examples=15)
@given(data=st.data(), case=gather_case(unique=True))
def test_indexing_check_vjp(data, case):
    shape, dim, index, src = case
    x, s = _x(data, shape), _x(data, src)
    check_vjp(lambda t: tg.gather(t, dim, tg.tensor(index)), x)
    check_vjp(lambda t, u: tg.scatter_add(t, dim, tg.tensor(index), u), x, s)
    check_vjp(lambda t, u: tg.scatter(t, dim, tg.tensor(index), u), x, s)


def test_scatter_src_larger_than_index():
    x, src = np.zeros((3, 4)), np.arange(20.0).reshape(4, 5)
    index = np.array([[0, 2, 1], [2, 0, 0]])     # no repeats down a column: scatter is defined
    for op in ("scatter", "scatter_add"):
        ours = getattr(tg, op)(tg.tensor(x), 0, tg.tensor(index), tg.tensor(src))
        ref = getattr(torch, op)(torch.tensor(x), 0, torch.tensor(index), torch.tensor(src))
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
        check_vjp(lambda a, s, op=op: getattr(tg, op)(a, 0, tg.tensor(index), s), x, src)


def test_scatter_add_repeated_indices_and_integers():
    x = np.zeros((2, 3))
    index = np.array([[0, 1, 2, 2, 0], [1, 1, 1, 1, 1]])
    compare(lambda a, i, s: tg.scatter_add(a, 1, i, s), lambda a, i, s: torch.scatter_add(a, 1, i, s),
            [x, index, np.arange(10.0).reshape(2, 5)])
    xi = np.arange(6).reshape(2, 3)
    compare(lambda a, i, s: tg.scatter_add(a, 1, i, s), lambda a, i, s: torch.scatter_add(a, 1, i, s),
            [xi, index, np.arange(10).reshape(2, 5)])
    compare(lambda a, i: tg.gather(a, 1, i), lambda a, i: torch.gather(a, 1, i), [xi, index])


@pytest.mark.parametrize("call, match, exc", [
    (lambda x: tg.gather(x, 1, tg.tensor([[0, 5]])), "out of bounds", RuntimeError),
    (lambda x: tg.gather(x, 1, tg.tensor([[0, -1]])), "out of bounds", RuntimeError),
    (lambda x: tg.gather(x, 1, tg.tensor([0, 1])), "same number of dimensions", RuntimeError),
    (lambda x: tg.gather(x, 1, tg.tensor([[0], [1], [0]])), "no larger than input", RuntimeError),
    (lambda x: tg.gather(x, 1, tg.tensor(np.array([[0]], dtype=np.int32))), "int64", TypeError),
    (lambda x: tg.scatter(x, 1, tg.tensor([[0, 1]]), tg.ones(2, 3, dtype=tg.float64)), "dtype", RuntimeError),
    (lambda x: tg.scatter(x, 1, tg.tensor([[0, 1]]), tg.ones(1, 1)), "no larger than src", RuntimeError),
    (lambda x: tg.scatter_add(x, 1, tg.tensor([[0, 1, 2, 3]]), tg.ones(1, 4)), "out of bounds", RuntimeError),
    (lambda x: tg.scatter(x, 1, tg.tensor([[0]]), 1.0, reduce="add"), "reduce", NotImplementedError),
])
def test_indexing_errors(call, match, exc):
    with pytest.raises(exc, match=match):
        call(tg.ones(2, 3))


# ---- roll / repeat / repeat_interleave ------------------------------------------------------------
@settings(max_examples=25)
@given(data=st.data(), shape=shapes)
def test_roll_matches_torch(data, shape):
    nd = max(len(shape), 1)
    dims = data.draw(st.lists(st.integers(-nd, nd - 1), max_size=3 if shape else 0,
                              unique_by=lambda d: d % nd))
    shifts = tuple(data.draw(st.integers(-5, 5)) for _ in dims)
    if not dims:
        shifts, dims = data.draw(st.integers(-5, 5)), None
    compare(lambda x: tg.roll(x, shifts, dims), lambda x: torch.roll(x, shifts, dims), [_x(data, shape)],
            backend=data.draw(backends))
    if shape:
        check_vjp(lambda x: x.roll(shifts, dims), _x(data, shape))


@settings(max_examples=25)
@given(data=st.data(), shape=shapes)
def test_repeat_matches_torch(data, shape):
    sizes = tuple(data.draw(st.lists(st.integers(0, 3), min_size=max(len(shape), 1), max_size=len(shape) + 2)))
    for dtype in (np.float64, np.float32):
        compare(lambda x: x.repeat(*sizes), lambda x: x.repeat(*sizes), [_x(data, shape)], dtype=dtype,
                backend=data.draw(backends))
    check_vjp(lambda x: tg.ops.repeat(x, sizes), _x(data, shape))


@settings(max_examples=25)
@given(data=st.data(), shape=shapes)
def test_repeat_interleave_matches_torch(data, shape):
    nd = max(len(shape), 1)
    dim = data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if shape else None
    n = int(np.prod(shape)) if dim is None else (shape or (1,))[dim % nd]
    kind = data.draw(st.sampled_from(["int", "tensor", "one"]))
    if kind == "int":
        reps = data.draw(st.integers(0, 3))
        mk = (lambda r: r, lambda r: r)
    else:
        reps = np.array(data.draw(st.lists(st.integers(0, 3), min_size=1 if kind == "one" else n,
                                           max_size=1 if kind == "one" else n)), dtype=np.int64)
        mk = (tg.tensor, torch.tensor)
    compare(lambda x: tg.repeat_interleave(x, mk[0](reps), dim),
            lambda x: torch.repeat_interleave(x, mk[1](reps), dim), [_x(data, shape)],
            backend=data.draw(backends))
    check_vjp(lambda x: x.repeat_interleave(mk[0](reps), dim), _x(data, shape))


def test_repeat_interleave_counts_only_and_errors():
    counts = np.array([2, 0, 3])
    np.testing.assert_array_equal(tg.repeat_interleave(tg.tensor(counts)).numpy(),
                                  torch.repeat_interleave(torch.tensor(counts)).numpy())
    x = tg.ones(2, 3)
    with pytest.raises(RuntimeError, match="negative"):
        tg.repeat_interleave(x, -1)
    with pytest.raises(RuntimeError, match="same size"):
        tg.repeat_interleave(x, tg.tensor([1, 2]), dim=1)
    with pytest.raises(TypeError, match="integer"):
        tg.repeat_interleave(x, tg.tensor([1.0, 2.0, 1.0]), dim=1)
    with pytest.raises(RuntimeError, match="output_size"):
        tg.repeat_interleave(x, 2, dim=1, output_size=5)
    with pytest.raises(RuntimeError, match="smaller"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="align"):
        tg.roll(x, (1, 2))


# ---- tril / triu / diag / diagonal / eye ----------------------------------------------------------
@settings(max_examples=25)
@given(data=st.data(), shape=st.lists(st.integers(0, 4), min_size=2, max_size=4).map(tuple))
def test_triangles_and_diagonal_match_torch(data, shape):
    k = data.draw(st.integers(-4, 4))
    nd = len(shape)
    d1 = data.draw(st.integers(-nd, nd - 1))
    d2 = data.draw(st.integers(-nd, nd - 1).filter(lambda d: d % nd != d1 % nd))
    x = _x(data, shape)
    b = data.draw(backends)
    compare(lambda t: tg.tril(t, k), lambda t: torch.tril(t, k), [x], backend=b)
    compare(lambda t: t.triu(k), lambda t: t.triu(k), [x], dtype=np.float32, backend=b)
    compare(lambda t: tg.diagonal(t, k, d1, d2), lambda t: torch.diagonal(t, k, d1, d2), [x], backend=b)
    compare(lambda t: t.diagonal(offset=k, dim1=d1, dim2=d2),
            lambda t: t.diagonal(offset=k, dim1=d1, dim2=d2), [x], dtype=np.float32, backend=b)
    check_vjp(lambda t: tg.diagonal(t, k, d1, d2) * 1.5, x)
    check_vjp(lambda t: tg.triu(t, k), x)


@settings(max_examples=25)
@given(data=st.data(), shape=st.lists(st.integers(0, 4), min_size=1, max_size=2).map(tuple))
def test_diag_matches_torch(data, shape):
    k = data.draw(st.integers(-3, 3))
    for dtype in (np.float64, np.float32):
        compare(lambda t: tg.diag(t, k), lambda t: torch.diag(t, k), [_x(data, shape)], dtype=dtype,
                backend=data.draw(backends))
    check_vjp(lambda t: t.diag(k), _x(data, shape))


def test_integer_and_bool_inputs_keep_their_dtype():
    xi = np.arange(12).reshape(3, 4)
    for ours, theirs in [(lambda t: tg.tril(t, 1), lambda t: torch.tril(t, 1)),
                         (lambda t: tg.diagonal(t, 1), lambda t: torch.diagonal(t, 1)),
                         (lambda t: tg.roll(t, 2, 1), lambda t: torch.roll(t, 2, 1)),
                         (lambda t: t.repeat(2, 1), lambda t: t.repeat(2, 1)),
                         (lambda t: tg.repeat_interleave(t, 2, 0), lambda t: torch.repeat_interleave(t, 2, 0))]:
        compare(ours, theirs, [xi])
        compare(ours, theirs, [xi % 2 == 0])


@pytest.mark.parametrize("n, m", [(3, None), (2, 4), (4, 2), (0, None), (0, 3)])
def test_eye_matches_torch(n, m):
    for dtype, tdtype in [(None, None), (tg.float64, torch.float64), (tg.int64, torch.int64),
                          (tg.bool_, torch.bool)]:
        ours = tg.eye(n, m, dtype=dtype) if m is not None else tg.eye(n, dtype=dtype)
        ref = torch.eye(n, m, dtype=tdtype) if m is not None else torch.eye(n, dtype=tdtype)
        assert str(ours.dtype) == str(ref.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert tg.eye(2, requires_grad=True).requires_grad


def test_diagonal_errors():
    with pytest.raises(RuntimeError, match="at least 2"):
        tg.tril(tg.ones(3))
    with pytest.raises(RuntimeError, match="1D or 2D"):
        tg.diag(tg.ones(2, 2, 2))
    with pytest.raises(RuntimeError, match="identical"):
        tg.diagonal(tg.ones(2, 3), 0, 1, -1)
    with pytest.raises(RuntimeError, match="greater or equal"):
        tg.eye(-1)
