"""Differentiable convolutions (tinygan.nn.functional): VJPs through the adjoint, grad of grad,
agreement with torch.nn.functional, and PyTorch's rejected configs."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygan as tg
import tinygan.nn.functional as F
from tinygan.testing import check_vjp


@st.composite
def conv_configs(draw, transpose=False):
    groups = draw(st.integers(1, 2))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    n = draw(st.integers(1, 2))
    if transpose:
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1
               for i, s, p, d, k, op in zip((h, w), stride, padding, dilation, (kh, kw), output_padding)]
        if min(out) < 1:
            padding = (0, 0)
        return dict(n=n, c_in=c_in, c_out=c_out, k=(kh, kw), h=h, w=w, stride=stride, padding=padding,
                    dilation=dilation, groups=groups, output_padding=output_padding)
    # a valid forward conv: kernel fits in the padded input
    h = max(h, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
    w = max(w, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
    return dict(n=n, c_in=c_in, c_out=c_out, k=(kh, kw), h=max(h, 1), w=max(w, 1), stride=stride,
                padding=padding, dilation=dilation, groups=groups)


def _conv_inputs(cfg, rng, transpose=False):
    x = rng.standard_normal((cfg["n"], cfg["c_in"], cfg["h"], cfg["w"]))
    if transpose:
        wt = rng.standard_normal((cfg["c_in"], cfg["c_out"] // cfg["groups"]) + cfg["k"])
    else:
        wt = rng.standard_normal((cfg["c_out"], cfg["c_in"] // cfg["groups"]) + cfg["k"])
    return x, wt, rng.standard_normal(cfg["c_out"])


def _conv(cfg):
    return lambda x, w, b: F.conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])


def _convt(cfg):
    return lambda x, w, b: F.conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"],
                                              cfg["groups"], cfg["dilation"])


@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv2d_vjp(cfg, seed):
    x, w, b = _conv_inputs(cfg, np.random.default_rng(seed))
    check_vjp(_conv(cfg), x, w, b)


@given(cfg=conv_configs(transpose=True), seed=st.integers(0, 2**16))
def test_conv_transpose2d_vjp(cfg, seed):
    x, w, b = _conv_inputs(cfg, np.random.default_rng(seed), transpose=True)
    check_vjp(_convt(cfg), x, w, b)


@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv2d_grad_of_grad(cfg, seed):
    """The input-gradient of conv is itself differentiable in (x, w): the map
    (x, w) -> <grad_x sum(conv(x, w) * c), v> checked against central differences."""
    rng = np.random.default_rng(seed)
    x, w, _ = _conv_inputs(cfg, rng)
    y_shape = _conv(cfg)(tg.tensor(x), tg.tensor(w), None).shape
    c = tg.tensor(rng.standard_normal(y_shape))
    v = tg.tensor(rng.standard_normal(x.shape))

    def grad_x_dot_v(xt, wt):
        # the finite-difference calls pass plain tensors: make them differentiable leaves
        xt = xt if xt.requires_grad else xt.detach().requires_grad_()
        wt = wt if wt.requires_grad else wt.detach().requires_grad_()
        y = _conv(cfg)(xt, wt, None)
        gx, gw = tg.grad((y * c).sum() + (y * y).sum(), [xt, wt], create_graph=True)
        return (gx * v).sum() + (gw * gw).sum()

    check_vjp(grad_x_dot_v, x, w)


@pytest.mark.parametrize("transpose", [False, True])
def test_grad_of_grad_transpose_matches_torch(transpose):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    cfg = dict(n=2, c_in=4, c_out=2, k=(3, 3), h=5, w=6, stride=(2, 1), padding=(1, 0), dilation=(1, 2),
               groups=2, output_padding=(1, 0))
    x, w, b = _conv_inputs(cfg, rng, transpose)
    fn = _convt(cfg) if transpose else _conv(cfg)
    tfn = (lambda a, k, c: torch.nn.functional.conv_transpose2d(a, k, c, (2, 1), (1, 0), (1, 0), 2, (1, 2))) \
        if transpose else (lambda a, k, c: torch.nn.functional.conv2d(a, k, c, (2, 1), (1, 0), (1, 2), 2))
    xs = [tg.tensor(v, requires_grad=True) for v in (x, w, b)]
    ts = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    gx = tg.grad(fn(*xs).tanh().sum(), xs[:2], create_graph=True)
    tgx = torch.autograd.grad(tfn(*ts).tanh().sum(), ts[:2], create_graph=True)
    pen = sum(((g ** 2).sum() for g in gx), tg.tensor(0.0, dtype="float64"))
    tpen = sum((g ** 2).sum() for g in tgx)
    second = tg.grad(pen, xs, allow_unused=True)
    tsecond = torch.autograd.grad(tpen, ts, allow_unused=True)
    for a, e in zip(second, tsecond):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-10, atol=1e-10)


@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(cfg, seed):
    torch = pytest.importorskip("torch")
    x, w, b = _conv_inputs(cfg, np.random.default_rng(seed))
    _compare(torch, _conv(cfg), lambda a, k, c: torch.nn.functional.conv2d(
        a, k, c, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"]), (x, w, b), seed)


@given(cfg=conv_configs(transpose=True), seed=st.integers(0, 2**16))
def test_conv_transpose2d_matches_torch(cfg, seed):
    torch = pytest.importorskip("torch")
    x, w, b = _conv_inputs(cfg, np.random.default_rng(seed), transpose=True)
    _compare(torch, _convt(cfg), lambda a, k, c: torch.nn.functional.conv_transpose2d(
        a, k, c, cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["groups"], cfg["dilation"]),
        (x, w, b), seed)


def _compare(torch, ours, theirs, inputs, seed):
    xs = [tg.tensor(v, requires_grad=True) for v in inputs]
    ts = [torch.tensor(v, requires_grad=True) for v in inputs]
    out, ref = ours(*xs), theirs(*ts)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    cot = np.random.default_rng(seed + 1).standard_normal(ref.shape)
    for g, e in zip(tg.grad(out, xs, grad_outputs=cot),
                    torch.autograd.grad(ref, ts, grad_outputs=torch.tensor(cot))):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10, atol=1e-10)


def test_conv1d_and_transpose1d_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    _compare(torch, lambda a, k, c: F.conv1d(a, k, c, 2, 1, 2, 2),
             lambda a, k, c: torch.nn.functional.conv1d(a, k, c, 2, 1, 2, 2), (x, w, b), 0)
    _compare(torch, lambda a, k, c: F.conv1d(a, k, c, 1, "same", 1, 2),
             lambda a, k, c: torch.nn.functional.conv1d(a, k, c, 1, "same", 1, 2), (x, w, b), 0)
    wt = rng.standard_normal((4, 3, 3))
    _compare(torch, lambda a, k, c: F.conv_transpose1d(a, k, c, 2, 1, 1, 2, 1),
             lambda a, k, c: torch.nn.functional.conv_transpose1d(a, k, c, 2, 1, 1, 2, 1),
             (x, wt, rng.standard_normal(6)), 0)


def test_same_padding_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((1, 2, 7, 8)), rng.standard_normal((3, 2, 5, 3)), rng.standard_normal(3)
    _compare(torch, lambda a, k, c: F.conv2d(a, k, c, 1, "same", (1, 2)),
             lambda a, k, c: torch.nn.functional.conv2d(a, k, c, 1, "same", (1, 2)), (x, w, b), 1)


def test_pool_upsample_pad_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6))
    cases = [
        (lambda a: F.avg_pool2d(a, 3, 2, 1), lambda a: tf.avg_pool2d(a, 3, 2, 1)),
        (lambda a: F.avg_pool2d(a, (2, 3), count_include_pad=False, padding=1),
         lambda a: tf.avg_pool2d(a, (2, 3), count_include_pad=False, padding=1)),
        (lambda a: F.upsample_nearest2d(a, 2), lambda a: tf.interpolate(a, scale_factor=2, mode="nearest")),
        (lambda a: F.interpolate(a, size=(14, 18)), lambda a: tf.interpolate(a, size=(14, 18), mode="nearest")),
        (lambda a: F.pad(a, (1, 2, 0, 3)), lambda a: tf.pad(a, (1, 2, 0, 3))),
        (lambda a: F.pad(a, (1, 1), value=2.5), lambda a: tf.pad(a, (1, 1), value=2.5)),
    ]
    for ours, theirs in cases:
        _compare(torch, ours, theirs, (x,), 3)
        check_vjp(ours, x)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(tg.zeros(1, 1, 3, 3), tg.zeros(1, 1, 5, 5)), r"conv2d: .*\(1, 1, 3, 3\).*\(1, 1, 5, 5\)"),
    (lambda: F.conv2d(tg.zeros(1, 3, 8, 8), tg.zeros(4, 2, 3, 3), groups=2), r"conv2d: .*\(1, 3, 8, 8\)"),
    (lambda: F.conv2d(tg.zeros(1, 4, 8, 8), tg.zeros(3, 2, 3, 3), groups=2), r"conv2d: .*\(3, 2, 3, 3\)"),
    (lambda: F.conv2d(tg.zeros(1, 1, 8, 8), tg.zeros(1, 1, 3, 3), padding=-1), r"conv2d: .*padding"),
    (lambda: F.conv_transpose2d(tg.zeros(1, 1, 4, 4), tg.zeros(1, 1, 3, 3), stride=2, output_padding=2),
     r"conv_transpose2d: .*output_padding"),
    (lambda: F.conv2d(tg.zeros(1, 1, 8, 8), tg.zeros(1, 1, 4, 4), padding="same"), r"conv2d: .*same"),
])
def test_rejected_configs_raise_value_error_naming_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float32_conv_stays_float32():
    x = tg.randn(2, 3, 9, 9, requires_grad=True)
    w = tg.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)
    assert y.dtype == np.float32
    F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=0).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_linear_operator_on_tensors_backprops_through_its_adjoint():
    """A(x) for a Tensor is differentiable; its VJP is A^T, and grad of grad works."""
    from tinygan import linops
    rng = np.random.default_rng(5)
    w = rng.standard_normal((2, 3, 3, 3))
    A = linops.Conv(w, (2, 3, 6, 5), stride=2, padding=1)
    check_vjp(lambda x: A(x), rng.standard_normal(A.in_shape))
    check_vjp(lambda x: (A.T @ A)(x).tanh(), rng.standard_normal(A.in_shape))
    x = tg.tensor(rng.standard_normal(A.in_shape), requires_grad=True)
    u = rng.standard_normal(A.out_shape)
    (g,) = tg.grad(A(x), [x], grad_outputs=u)
    np.testing.assert_allclose(g.numpy(), A.adjoint(u), rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected input of shape \(2,3,6,5\)"):
        A(tg.zeros(1, 3, 6, 5, dtype="float64"))


@pytest.mark.parametrize("name", ["numpy", "numba", "cpp"])
def test_cpu_kernels_are_deterministic(name):
    """Same inputs, bit-identical outputs: exact resume of a training run depends on it
    (a split-K reduction must not depend on which thread finished first)."""
    from tinygan import backends
    if not backends.available()[name]["available"]:
        pytest.skip(f"backend {name!r} unavailable: {backends.available()[name]['reason']}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64, 14, 14), dtype=np.float32)
    w = rng.standard_normal((128, 64, 5, 5), dtype=np.float32)
    dy = rng.standard_normal((64, 128, 7, 7), dtype=np.float32)
    p = ((2, 2), (2, 2), (1, 1), 1)
    calls = [("conv2d_fwd", (x, w) + p), ("conv2d_dgrad", (dy, w, x.shape) + p),
             ("conv2d_wgrad", (x, dy, w.shape) + p)]
    for kernel, args in calls:
        fn = backends.get(kernel, backend=name)
        first = fn(*args).copy()
        for _ in range(5):
            assert np.array_equal(fn(*args), first), kernel
