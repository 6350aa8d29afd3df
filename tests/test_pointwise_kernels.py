"""The kernels around the convolutions, of every registered backend against the spec
(tinygan.backends.reference): LeakyReLU forward / backward, dropout's
masked scale and its mask (NumPy's PCG64 words, Generator.keep_mask), a conv's bias add and
per-channel sums, Adam, matmul; and the ops built on them (first and second derivatives).

Tolerances: LeakyReLU, the masked scale and the bias add are one operation per element in the
spec's order, so every backend must match the spec bit for bit (channel_sum: see its test). Adam's update is several operations per
element, and a compiler may contract ``a * b + c`` into one fused multiply-add (one rounding
instead of two): after 5 steps a parameter may differ by a few units in the last place of the
update, hence rtol 1e-6 (float32, ~8 ulp) / 1e-14 (float64) on p, m and v.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan import ops
from tinygan.nn import functional as F
from tinygan.backends import reference as SPEC
from tinygan.testing import check_vjp

from test_backends import NAMES, SETTINGS, backend

DTYPES = [np.float32, np.float64]
shapes = st.lists(st.integers(0, 9), min_size=0, max_size=4).map(tuple)


def _x(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x.reshape(-1)[:: 7] = 0.0                      # exact zeros: the x > 0 boundary
        x.reshape(-1)[1:: 11] = -0.0
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, **SETTINGS)
@given(shape=shapes, slope=st.sampled_from([0.0, 0.01, 0.2, 0.3, 1.0, -0.5]), seed=st.integers(0, 99))
def test_leaky_relu_kernels_match_spec_exactly(name, dtype, shape, slope, seed):
    be = backend(name)
    x, g = _x(shape, dtype, seed), _x(shape, dtype, seed + 1)
    for got, want in ((be("leaky_relu_fwd", x, slope), SPEC.leaky_relu_fwd(x, slope)),
                      (be("leaky_relu_bwd", x, g, slope), SPEC.leaky_relu_bwd(x, g, slope))):
        assert got.dtype == dtype and got.shape == shape
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, **SETTINGS)
@given(shape=shapes, p=st.sampled_from([0.1, 0.3, 0.5, 0.9]), seed=st.integers(0, 99))
def test_masked_scale_matches_spec_exactly(name, dtype, shape, p, seed):
    be = backend(name)
    x = _x(shape, dtype, seed)
    keep = tg.Generator(seed).keep_mask(shape, p)
    got = be("masked_scale", x, keep, 1.0 / (1.0 - p))
    want = SPEC.masked_scale(x, keep, 1.0 / (1.0 - p))
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [1, 37, 70_001, 300_003])   # serial and parallel passes, odd tails
def test_large_and_odd_sizes(name, dtype, size):
    be = backend(name)
    x, g = _x((size,), dtype, 1), _x((size,), dtype, 2)
    keep = x > 0.3
    np.testing.assert_array_equal(be("leaky_relu_fwd", x, 0.3), SPEC.leaky_relu_fwd(x, 0.3))
    np.testing.assert_array_equal(be("leaky_relu_bwd", x, g, 0.3), SPEC.leaky_relu_bwd(x, g, 0.3))
    np.testing.assert_array_equal(be("masked_scale", x, keep, 1.5), SPEC.masked_scale(x, keep, 1.5))


def _adam_state(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(shape).astype(dtype)
    m = (0.1 * rng.standard_normal(shape)).astype(dtype)
    v = (0.01 * rng.random(shape)).astype(dtype)
    return p, m, v


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(3,), (12544, 100), (64, 1, 5, 5), (0, 4)])
def test_adam_update_matches_spec(name, dtype, shape):
    be = backend(name)
    if be.device != "cpu":
        pytest.skip("in-place update of host arrays: the GPU path is the spec's CuPy code")
    ours, ref = _adam_state(shape, dtype, 0), _adam_state(shape, dtype, 0)
    rng = np.random.default_rng(1)
    b1, b2, lr, eps = 0.5, 0.999, 2e-4, 1e-8
    for t in range(1, 6):
        g = rng.standard_normal(shape).astype(dtype)
        args = (b1, b2, lr / (1 - b1 ** t), (1 - b2 ** t) ** 0.5, eps)
        assert be("adam_update", *ours[:1], g, *ours[1:], *args) is None
        SPEC.adam_update(ref[0], g, ref[1], ref[2], *args)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    for got, want in zip(ours, ref):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3)
    if np.prod(shape):
        assert not np.array_equal(ours[0], _adam_state(shape, dtype, 0)[0])   # it did update


@pytest.mark.parametrize("name", NAMES)
def test_adam_strided_gradient_and_foreign_arrays(name):
    """A transposed gradient (a Linear weight's) and a non-contiguous parameter still update the
    caller's arrays in place; a float16 parameter takes the spec's path."""
    be = backend(name)
    if be.device != "cpu":
        pytest.skip("host arrays only")
    fn = tg.backends.get("adam_update", "cpu", backend=name)
    args = (0.9, 0.999, 1e-3, 0.5, 1e-8)
    g = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32).T      # strided (4, 5)
    for make in (lambda: np.ones((4, 5), np.float32), lambda: np.ones((5, 4), np.float32).T,
                 lambda: np.ones((4, 5), np.float16)):
        p, m, v = make(), make() * 0, make() * 0
        rp, rm, rv = p.copy(), m.copy(), v.copy()
        fn(p, g.astype(p.dtype), m, v, *args)
        SPEC.adam_update(rp, g.astype(p.dtype), rm, rv, *args)
        np.testing.assert_allclose(p, rp, rtol=1e-6)
        np.testing.assert_allclose(m, rm, rtol=1e-6)
        assert not np.array_equal(p, np.ones_like(p))


def test_leaky_relu_second_derivative():
    """grad of (leaky_relu(x) * c).sum() in x is c * mask, linear in c: its VJP in c (through
    LeakyReluGrad) passes the central-difference check; x's second derivative is zero."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((4, 5)) + 0.1, requires_grad=True)

    def grad_in_x(c):
        (gx,) = tg.grad((ops.leaky_relu(x, 0.2) * c).sum(), [x], create_graph=True)
        return gx

    check_vjp(grad_in_x, rng.standard_normal((4, 5)))
    c = tg.tensor(rng.standard_normal((4, 5)))
    (gx,) = tg.grad((ops.leaky_relu(x, 0.2) * c).sum(), [x], create_graph=True)
    assert not gx.requires_grad      # the mask's derivative in x is 0: nothing leads back to x


def test_dropout_second_derivative():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((6, 7)), requires_grad=True)
    gen = tg.Generator(5)
    state = gen.get_state()

    def grad_in_x(c):
        gen.set_state(state)
        (gx,) = tg.grad((ops.dropout(x, 0.4, generator=gen) * c).sum(), [x], create_graph=True)
        return gx

    check_vjp(grad_in_x, rng.standard_normal((6, 7)))


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.999, 1.0])
def test_keep_mask(p):
    g = tg.Generator(11)
    mask = g.keep_mask((101, 33), p)
    assert mask.dtype == np.bool_ and mask.shape == (101, 33)
    n = mask.size
    kept = mask.sum()
    sd = (n * p * (1 - p)) ** 0.5
    assert abs(kept - n * (1 - p)) <= 5 * sd
    if p == 0.0:
        assert mask.all()
    if p == 1.0:
        assert not mask.any()
    np.testing.assert_array_equal(tg.Generator(11).keep_mask((101, 33), p), mask)   # same seed, same mask
    assert tg.Generator(11).keep_mask((0, 3), p).shape == (0, 3)
    with pytest.raises(ValueError, match="keep_mask"):
        g.keep_mask((2,), 1.5)


def test_dropout_same_mask_on_every_backend():
    x = tg.randn(64, 128, 7, 7, generator=tg.Generator(0))
    outs = {}
    for name, info in tg.backends.available().items():
        if info["device"] == "cpu" and info["available"]:
            with tg.set_backend(name):
                outs[name] = ops.dropout(x, 0.3, generator=tg.Generator(2)).numpy()
    for name, y in outs.items():
        np.testing.assert_array_equal(y, outs["numpy"], err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, **SETTINGS)
@given(shape=st.lists(st.integers(1, 9), min_size=2, max_size=4).map(tuple), seed=st.integers(0, 99))
def test_bias_add_and_channel_sum_match_spec(name, dtype, shape, seed):
    """bias_add is one addition per element: bit for bit. channel_sum may accumulate in float64
    (the C++ and Numba kernels do): it must be at least as close to the exact sum as the spec's
    float32 pairwise sum is, within float32 rounding of the result (4 ulp of sum |g|)."""
    be = backend(name)
    x = _x(shape, dtype, seed)
    b = np.random.default_rng(seed).standard_normal(shape[1]).astype(dtype)
    got = be("bias_add", x, b)
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, SPEC.bias_add(x, b))
    sums = be("channel_sum", x)
    assert sums.dtype == dtype and sums.shape == (shape[1],)
    exact = SPEC.channel_sum(x.astype(np.float64))
    scale = SPEC.channel_sum(np.abs(x).astype(np.float64))
    bound = 4 * np.finfo(dtype).eps * scale
    assert np.all(np.abs(sums - exact) <= bound)
    assert np.all(np.abs(SPEC.channel_sum(x) - exact) <= bound)


@pytest.mark.parametrize("name", NAMES)
def test_channel_sum_large(name):
    be = backend(name)
    g = _x((256, 64, 14, 14), np.float32, 3)
    exact = g.astype(np.float64).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(be("channel_sum", g), exact, rtol=0,
                               atol=4 * np.finfo(np.float32).eps * np.abs(g).astype(np.float64).sum(axis=(0, 2, 3)).max())
    np.testing.assert_array_equal(be("bias_add", g, np.arange(64, dtype=np.float32)),
                                  g + np.arange(64, dtype=np.float32)[None, :, None, None])


def test_conv_bias_first_and_second_derivatives():
    """conv2d(x, w, b): check_vjp in all three; and the bias gradient (ChannelSum of the
    cotangent) differentiated again in the cotangent (its VJP broadcasts back)."""
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    check_vjp(lambda x, w, b: F.conv2d(x, w, b, 2, 1), x, w, b)
    bt = tg.tensor(b, requires_grad=True)

    def bias_grad(c):
        (gb,) = tg.grad((F.conv2d(tg.tensor(x), tg.tensor(w), bt, 1, 1) * c).sum(), [bt], create_graph=True)
        return gb

    check_vjp(bias_grad, rng.standard_normal((2, 4, 5, 5)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 9, 1001, 2 * 65537 + 3, 802_816])
def test_keep_mask_kernel_is_numpys_stream(name, n):
    """Bit for bit NumPy's PCG64 words (threads jump ahead: sizes around the parallel cut-off)."""
    be = backend(name)
    if be.device != "cpu":
        pytest.skip("masks are drawn on the CPU")
    fn = tg.backends.get("keep_mask", "cpu", backend=name)
    bits = np.random.PCG64(2026)
    bits.advance(12345)
    state = bits.state["state"]
    words = bits.random_raw((n + 1) // 2).view(np.uint32)[:n]
    for threshold in (0, 1, 1288490189, 2 ** 32 - 1, 2 ** 32):
        got = fn(state["state"], state["inc"], n, threshold)
        assert got.dtype == np.bool_ and got.shape == (n,)
        np.testing.assert_array_equal(got, words.astype(np.uint64) >= threshold)


def test_keep_mask_advances_the_generator():
    g1, g2 = tg.Generator(3), tg.Generator(3)
    g1.keep_mask((7, 5), 0.3)
    g2.rng.bit_generator.advance(18)                  # ceil(35 / 2) draws
    np.testing.assert_array_equal(g1.uniform((4,)), g2.uniform((4,)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shapes_ab", [((5, 3), (3, 4)), ((7, 1), (1, 6)), ((2, 5, 3), (3, 2)),
                                       ((4, 6), (6, 1)), ((2, 1, 4, 3), (5, 3, 2))])
def test_matmul_kernel(name, shapes_ab):
    """Every backend's ``matmul`` is a @ b, and the CPU backends leave numpy's BLAS thread count as
    they found it. On the CPU it is the spec's own BLAS call (k = 1 as a broadcast product: the
    same single products), so bit for bit; on the GPU cuBLAS, whose summation order differs."""
    be = backend(name)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes_ab)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    got = be("matmul", a, b)
    after = [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    assert before == after
    if be.device == "cpu":
        np.testing.assert_array_equal(got, SPEC.matmul(a, b))
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-5, atol=1e-6)


def test_one_thread_blas_inside_the_context():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from tinygan.backends import _blas
    with _blas.one_thread():
        inside = [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    assert inside and all(n == 1 for n in inside)
