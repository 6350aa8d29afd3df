"""Pooling against PyTorch: max_pool1d/2d (indices, dilation, ceil_mode, ties, NaN, -inf),
max_unpool1d/2d, avg_pool2d (ceil_mode, count_include_pad, divisor_override), adaptive_avg_pool.

Values, gradients and grads of grads in float64 (1e-10) and float32 (1e-5, tests/torch_parity.py NN);
check_vjp for max pooling (the one nonlinear op here); dottest for every linear operator."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.nn.functional as F
from tinygan import linops
from tinygan.linops.im2col import sliding_windows
from tinygan.linops.pool import window_sums
from tinygan.testing import check_vjp, dottest

try:
    from torch_parity import compare_with, NN, same_error, torch
except ImportError:  # pragma: no cover
    from tests.torch_parity import compare_with, NN, same_error, torch

compare = compare_with(NN)

TF = torch.nn.functional
SETTINGS = settings(max_examples=25, deadline=None)
DTYPES = st.sampled_from([np.float64, np.float32])


@st.composite
def pool_cases(draw, dilation=True, spatial=2):
    """(shape, kernel, stride, padding, dilation, ceil_mode); some configs torch rejects."""
    k = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
    s = tuple(draw(st.integers(1, 3)) for _ in range(spatial))
    d = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in range(spatial))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    size = tuple(draw(st.integers(1, 6)) for _ in range(spatial))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size
    return shape, k, s, p, d, draw(st.booleans())


def _values(rng, shape, dtype, special):
    """Small integers (many ties); with ``special`` some NaN / -inf / inf entries."""
    x = rng.integers(-2, 3, shape).astype(dtype)
    if special:
        flat = x.reshape(-1)
        for v in (np.nan, -np.inf, np.inf):
            flat[rng.integers(flat.size)] = v
    return x


@SETTINGS
@given(case=pool_cases(), special=st.booleans(), seed=st.integers(0, 2**31))
def test_max_pool2d_values_and_indices(case, special, seed):
    shape, k, s, p, d, ceil = case
    x = _values(np.random.default_rng(seed), shape, np.float64, special)
    ours, theirs = same_error(lambda: F.max_pool2d(tg.tensor(x), k, s, p, d, ceil, True),
                              lambda: TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil, True))
    if theirs is not None:
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
        assert ours[1].dtype == np.int64


@SETTINGS
@given(case=pool_cases(), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_max_pool2d_gradients(case, dtype, seed):
    shape, k, s, p, d, ceil = case
    x = _values(np.random.default_rng(seed), shape, dtype, False)
    try:
        TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil)
    except RuntimeError:
        return
    compare(lambda a: F.max_pool2d(a, k, s, p, d, ceil), lambda a: TF.max_pool2d(a, k, s, p, d, ceil),
            [x], dtype, seed)
    x = np.random.default_rng(seed).standard_normal(shape)   # distinct values: differentiable
    check_vjp(lambda a: F.max_pool2d(a, k, s, p, d, ceil), x, rng=seed + 1)


@SETTINGS
@given(case=pool_cases(spatial=1), seed=st.integers(0, 2**31))
def test_max_pool1d_and_unbatched(case, seed):
    shape, k, s, p, d, ceil = case
    x = _values(np.random.default_rng(seed), shape, np.float64, False)
    try:
        TF.max_pool1d(torch.tensor(x), k, s, p, d, ceil)
    except RuntimeError:
        return
    compare(lambda a: F.max_pool1d(a, k, s, p, d, ceil), lambda a: TF.max_pool1d(a, k, s, p, d, ceil),
            [x], np.float64, seed)
    v, i = F.max_pool1d(tg.tensor(x[0]), k, s, p, d, ceil, return_indices=True)
    tv, ti = TF.max_pool1d(torch.tensor(x[0]), k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())


@SETTINGS
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 4), st.integers(1, 4)),
       k=st.integers(1, 3), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_max_unpool2d_round_trip(shape, k, dtype, seed):
    """kernel == stride: unique indices, so torch's gradient is the true one and both agree."""
    rng = np.random.default_rng(seed)
    big = shape[:2] + tuple(n * k + int(rng.integers(0, k)) for n in shape[2:])
    x = rng.standard_normal(big).astype(dtype)
    _, idx = TF.max_pool2d(torch.tensor(x), k, return_indices=True)
    y = rng.standard_normal(idx.shape).astype(dtype)
    out_size = big[2:]
    compare(lambda a: F.max_unpool2d(a, tg.tensor(idx.numpy()), k, output_size=out_size),
            lambda a: TF.max_unpool2d(a, idx, k, output_size=out_size), [y], dtype, seed)
    op = linops.PlaneGather(big, idx.numpy())
    dottest(op, dtype=dtype, rng=seed)
    dottest(op.T, dtype=dtype, rng=seed)


def test_max_unpool_duplicates_last_write_wins():
    """Overlapping windows repeat an index: the value is written once (torch's value)."""
    x = np.array([[[[1.0, 5.0, 2.0, 0.0, 3.0]]]])
    v, i = TF.max_pool2d(torch.tensor(x), (1, 3), (1, 1), return_indices=True)
    ours = F.max_unpool2d(tg.tensor(v.numpy()), tg.tensor(i.numpy()), (1, 3), (1, 1))
    theirs = TF.max_unpool2d(v, i, (1, 3), (1, 1))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # its gradient is the adjoint of the scatter actually done (one copy per target)
    y = tg.tensor(v.numpy(), requires_grad=True)
    (g,) = tg.grad(F.max_unpool2d(y, tg.tensor(i.numpy()), (1, 3), (1, 1)).sum(), [y])
    np.testing.assert_array_equal(g.numpy(), [[[[0.0, 1.0, 1.0]]]])   # indices (1, 1, 4)


def test_max_unpool1d_and_errors():
    x = np.random.default_rng(0).standard_normal((2, 3, 8))
    v, i = TF.max_pool1d(torch.tensor(x), 2, return_indices=True)
    compare(lambda a: F.max_unpool1d(a, tg.tensor(i.numpy()), 2),
            lambda a: TF.max_unpool1d(a, i, 2), [v.numpy()])
    vi, ii = tg.tensor(v.numpy()), tg.tensor(i.numpy())
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool1d(vi, ii, 2, output_size=(11,))
    with pytest.raises(TypeError, match="int64"):
        F.max_unpool1d(vi, tg.tensor(i.numpy().astype(np.int32)), 2)
    bad = i.numpy().copy()
    bad[0, 0, 0] = 99
    with pytest.raises(RuntimeError, match="invalid max index: 99"):
        F.max_unpool1d(vi, tg.tensor(bad), 2)


@SETTINGS
@given(case=pool_cases(dilation=False), include_pad=st.booleans(),
       divisor=st.sampled_from([None, 1, 3]), dtype=DTYPES, seed=st.integers(0, 2**31))
def test_avg_pool2d_ceil_mode(case, include_pad, divisor, dtype, seed):
    shape, k, s, p, _, ceil = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    args = (k, s, p, ceil, include_pad, divisor)
    ours, theirs = same_error(lambda: F.avg_pool2d(tg.tensor(x), *args),
                              lambda: TF.avg_pool2d(torch.tensor(x), *args))
    if theirs is None:
        return
    compare(lambda a: F.avg_pool2d(a, *args), lambda a: TF.avg_pool2d(a, *args), [x], dtype, seed)
    op = linops.AvgPool(shape, k, s, p, include_pad, ceil_mode=ceil, divisor_override=divisor)
    dottest(op, dtype=dtype, rng=seed)


@SETTINGS
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 7), st.integers(1, 7)),
       out=st.tuples(st.one_of(st.none(), st.integers(1, 8)), st.integers(1, 8)), dtype=DTYPES,
       seed=st.integers(0, 2**31))
def test_adaptive_avg_pool(shape, out, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    compare(lambda a: F.adaptive_avg_pool2d(a, out), lambda a: TF.adaptive_avg_pool2d(a, out),
            [x], dtype, seed)
    compare(lambda a: F.adaptive_avg_pool1d(a, out[1]), lambda a: TF.adaptive_avg_pool1d(a, out[1]),
            [x[:, :, 0]], dtype, seed)
    size = tuple(n if o is None else o for o, n in zip(out, shape[2:]))
    dottest(linops.AdaptiveAvgPool(shape, size), dtype=dtype, rng=seed)


def test_adaptive_avg_pool_windows_ignore_nonfinite_outside():
    """Only a window's own entries are read: an inf elsewhere does not leak (no 0 * inf)."""
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    x[0, 0, 0, 0] = np.inf
    compare(lambda a: F.adaptive_avg_pool2d(a, (2, 2)), lambda a: TF.adaptive_avg_pool2d(a, (2, 2)),
            [x], gradgrad=False)


def test_errors_match_torch():
    x = np.zeros((1, 2, 4, 5))
    for args in [(2, None, 2), (6,), (3, 1, 0, 0), (2, 0), (3, 1, 2, 2)]:
        same_error(lambda: F.max_pool2d(tg.tensor(x), *args), lambda: TF.max_pool2d(torch.tensor(x), *args))
    for args in [(2, None, 2), (6,), (2, 1, 0, False, True, 0)]:
        same_error(lambda: F.avg_pool2d(tg.tensor(x), *args), lambda: TF.avg_pool2d(torch.tensor(x), *args))
    assert F.adaptive_avg_pool2d(tg.tensor(x), (0, 2)).shape == (1, 2, 0, 2)   # as torch
    same_error(lambda: F.adaptive_avg_pool2d(tg.tensor(x), (-1, 2)),
               lambda: TF.adaptive_avg_pool2d(torch.tensor(x), (-1, 2)))
    with pytest.raises(RuntimeError, match=r"max_pool2d: pad should be"):
        F.max_pool2d(tg.tensor(x), 2, padding=2)
    with pytest.raises(ValueError, match="Expected 3D or 4D"):
        F.max_pool2d(tg.zeros(4, 5), 2)


@pytest.mark.parametrize("backend", ["numpy", "cpp"])
def test_modules_on_backends(backend):
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6))
    pairs = [(tg.nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
             (tg.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
              torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)),
             (tg.nn.AdaptiveAvgPool2d((4, None)), torch.nn.AdaptiveAvgPool2d((4, None))),
             (tg.nn.MaxPool1d(2), torch.nn.MaxPool1d(2)), (tg.nn.AvgPool1d(2), torch.nn.AvgPool1d(2)),
             (tg.nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4))]
    with tg.set_backend(backend):
        for ours, theirs in pairs:
            a = x if "2d" in type(ours).__name__ else x[:, :, 0]
            compare(ours, theirs, [a])
        pool, unpool = tg.nn.MaxPool2d(2, return_indices=True), tg.nn.MaxUnpool2d(2)
        v, i = pool(tg.tensor(x))
        tv, ti = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
        np.testing.assert_array_equal(unpool(v, i, output_size=x.shape).numpy(),
                                      torch.nn.MaxUnpool2d(2)(tv, ti, output_size=x.shape).numpy())


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(3, 9), st.integers(3, 9))
def test_window_sums_is_the_sum_over_the_window_view(k1, k2, s1, s2, h, w):
    """AvgPool's tap-by-tap window sums equal the definition, the strided view summed over its taps."""
    x = np.random.default_rng(h * w).standard_normal((2, 3, h, w))       # h, w >= 3 >= k1, k2
    view = sliding_windows(x, (k1, k2), (s1, s2), (1, 1)).sum(axis=(4, 5))
    np.testing.assert_allclose(window_sums(x, (k1, k2), (s1, s2), view.shape[2:]), view, rtol=1e-12, atol=1e-12)
