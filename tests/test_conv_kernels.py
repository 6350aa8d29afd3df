"""Tests for the spec's conv kernels (tinygan.backends.reference) and tinygan.linops.shapes.

(a) kernels == the direct-loop reference (tests/conv_reference.py, which shares nothing with
    them) on Hypothesis-drawn configs; the numpy backend's two internal layouts too;
(b) dot tests: <fwd(x, w), dy> == <x, dgrad(dy, w)> == <w, wgrad(x, dy)>;
(c) kernels == torch conv2d / conv_transpose2d values and autograd gradients;
(d) shapes.py: every rejected config raises ValueError naming op and shapes; sizes == torch's.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tinygan.backends import numpy as NP
from tinygan.backends import reference as K
from tinygan.linops import shapes

try:
    from conv_reference import conv2d_dgrad_ref, conv2d_ref, conv2d_wgrad_ref
except ImportError:  # tests/ is a package or not on sys.path (pytest --import-mode=importlib)
    from tests.conv_reference import conv2d_dgrad_ref, conv2d_ref, conv2d_wgrad_ref

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])

# The DCGAN-on-MNIST convs (x shape, conv weight shape, stride, padding), at a small batch. The
# generator's transpose convs are the adjoints of convs of these same shapes.
DCGAN = [
    ((4, 1, 28, 28), (64, 1, 5, 5), 2, 2),
    ((4, 64, 14, 14), (128, 64, 5, 5), 2, 2),
    ((4, 128, 7, 7), (256, 128, 5, 5), 1, 2),
]


def _pairs(lo, hi):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


@st.composite
def conv_configs(draw, n_range=(1, 3), hw_range=(1, 9)):
    """A conv config that shapes.py accepts (rejected draws are filtered out)."""
    g = draw(st.integers(1, 3))
    n, h, w = draw(st.integers(*n_range)), draw(st.integers(*hw_range)), draw(st.integers(*hw_range))
    c, o = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    k, s, p, d = draw(_pairs(1, 4)), draw(_pairs(1, 3)), draw(_pairs(0, 3)), draw(_pairs(1, 3))
    x_shape, w_shape = (n, c, h, w), (o, c // g) + k
    try:
        y_shape = shapes.conv_output_shape(x_shape, w_shape, s, p, d, g)
    except ValueError:
        assume(False)
    return dict(x_shape=x_shape, w_shape=w_shape, y_shape=y_shape, stride=s, padding=p, dilation=d, groups=g)


def _args(cfg):
    return cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"]


def _data(cfg, dtype, seed):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(cfg[k]).astype(dtype) for k in ("x_shape", "w_shape", "y_shape"))


def _check_array(a, shape, dtype):
    assert a.shape == tuple(shape) and a.dtype == dtype and a.flags.c_contiguous


# --- (a) against the loop reference ------------------------------------------------------------

@settings(max_examples=100, **SETTINGS)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_kernels_match_loop_reference(cfg, seed):
    x, w, dy = _data(cfg, np.float64, seed)
    args = _args(cfg)
    y = K.conv2d_fwd(x, w, *args)
    dx = K.conv2d_dgrad(dy, w, x.shape, *args)
    dw = K.conv2d_wgrad(x, dy, w.shape, *args)
    for got, shape in ((y, cfg["y_shape"]), (dx, x.shape), (dw, w.shape)):
        _check_array(got, shape, np.float64)
    np.testing.assert_allclose(y, conv2d_ref(x, w, *args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, conv2d_dgrad_ref(dy, w, x.shape, *args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, conv2d_wgrad_ref(x, dy, w.shape, *args), rtol=1e-12, atol=1e-12)


@settings(max_examples=50, **SETTINGS)
@given(cfg=conv_configs(n_range=(4, 12), hw_range=(1, 5)), seed=st.integers(0, 2**16))
def test_numpy_backend_layouts_match_loop_reference(cfg, seed):
    """The numpy backend against the loop on small output planes with a larger batch, which take
    its other internal layout (batch innermost, chosen when N > Ho*Wo)."""
    event("batch-last" if NP._batch_last(cfg["x_shape"][0], *cfg["y_shape"][2:]) else "batch-outer")
    x, w, dy = _data(cfg, np.float64, seed)
    args = _args(cfg)
    np.testing.assert_allclose(NP.conv2d_fwd(x, w, *args), conv2d_ref(x, w, *args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(NP.conv2d_dgrad(dy, w, x.shape, *args), conv2d_dgrad_ref(dy, w, x.shape, *args),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(NP.conv2d_wgrad(x, dy, w.shape, *args), conv2d_wgrad_ref(x, dy, w.shape, *args),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=30, **SETTINGS)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_float32_stays_float32(cfg, seed):
    x, w, dy = _data(cfg, np.float32, seed)
    args = _args(cfg)
    outs = (K.conv2d_fwd(x, w, *args), K.conv2d_dgrad(dy, w, x.shape, *args),
            K.conv2d_wgrad(x, dy, w.shape, *args))
    refs = (conv2d_ref(*(a.astype(np.float64) for a in (x, w)), *args),
            conv2d_dgrad_ref(dy.astype(np.float64), w.astype(np.float64), x.shape, *args),
            conv2d_wgrad_ref(x.astype(np.float64), dy.astype(np.float64), w.shape, *args))
    for got, ref in zip(outs, refs):
        _check_array(got, ref.shape, np.float32)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))


def test_untouched_trailing_rows_get_zero_gradient():
    # H + 2p - d(k-1) - 1 = 8 is not divisible by s = 3: the last input row/col is never read.
    x_shape, w_shape, args = (1, 1, 9, 9), (1, 1, 1, 1), ((3, 3), (0, 0), (1, 1), 1)
    dy = np.ones((1, 1, 3, 3))
    dx = K.conv2d_dgrad(dy, np.ones(w_shape), x_shape, *args)
    expected = np.zeros(x_shape)
    expected[..., ::3, ::3] = 1
    np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(K.conv2d_fwd(np.arange(81.0).reshape(x_shape), np.ones(w_shape), *args),
                                  np.arange(81.0).reshape(x_shape)[..., :7:3, :7:3])


def test_non_contiguous_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 9, 8)).transpose(0, 1, 3, 2)[:, ::2]  # (3, 2, 8, 9), strided
    w = rng.standard_normal((2, 3, 3, 4)).transpose(1, 0, 2, 3)          # (3, 2, 3, 4)
    args = ((2, 1), (1, 2), (1, 2), 1)
    np.testing.assert_allclose(K.conv2d_fwd(x, w, *args), conv2d_ref(x, w, *args), rtol=1e-12, atol=1e-12)


# --- (b) dot tests -----------------------------------------------------------------------------

def _dot_test(x, w, args, seed):
    """<fwd(x, w), dy> vs <x, dgrad(dy, w)> vs <w, wgrad(x, dy)>, inner products in float64.

    dy = y + small noise makes <y, dy> ~ |y|^2, far from 0, so a relative error is meaningful.
    (If no window touches the input, y = 0: then dy is pure noise and all three must be 0.)
    """
    y = K.conv2d_fwd(x, w, *args)
    noise = np.random.default_rng(seed).standard_normal(y.shape)
    scale = np.sqrt(np.mean(y.astype(np.float64) ** 2))
    dy = (y + 0.1 * (scale if scale > 0 else 1.0) * noise).astype(x.dtype)
    dx = K.conv2d_dgrad(dy, w, x.shape, *args)
    dw = K.conv2d_wgrad(x, dy, w.shape, *args)
    f64 = lambda a, b: float(np.vdot(a.astype(np.float64), b.astype(np.float64)))  # noqa: E731
    return f64(y, dy), f64(x, dx), f64(w, dw)


def _rel(a, b):
    return abs(a - b) / max(abs(a), abs(b)) if (a or b) else 0.0


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@settings(max_examples=100, **SETTINGS)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_dot_test(dtype, tol, cfg, seed):
    x, w, _ = _data(cfg, dtype, seed)
    a, b, c = _dot_test(x, w, _args(cfg), seed)
    assert _rel(a, b) <= tol and _rel(a, c) <= tol, (a, b, c)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("x_shape,w_shape,s,p", DCGAN)
def test_dot_test_dcgan_shapes(dtype, tol, x_shape, w_shape, s, p):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    a, b, c = _dot_test(x, w, ((s, s), (p, p), (1, 1), 1), 2)
    assert a > 0 and _rel(a, b) <= tol and _rel(a, c) <= tol, (a, b, c)


# --- (c) against torch -------------------------------------------------------------------------

@settings(max_examples=80, **SETTINGS)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(cfg, seed):
    torch = pytest.importorskip("torch")
    x, w, dy = _data(cfg, np.float64, seed)
    args = _args(cfg)
    s, p, d, g = args
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=s, padding=p, dilation=d, groups=g)
    dxt, dwt = torch.autograd.grad(yt, (xt, wt), torch.tensor(dy))
    tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K.conv2d_fwd(x, w, *args), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(K.conv2d_dgrad(dy, w, x.shape, *args), dxt.numpy(), **tol)
    np.testing.assert_allclose(K.conv2d_wgrad(x, dy, w.shape, *args), dwt.numpy(), **tol)


@st.composite
def transpose_configs(draw):
    """A conv_transpose2d config (weight (C_in, C_out/g, kH, kW)) that shapes.py accepts."""
    g = draw(st.integers(1, 3))
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    k, s, p, d = draw(_pairs(1, 4)), draw(_pairs(1, 3)), draw(_pairs(0, 3)), draw(_pairs(1, 3))
    op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
    x_shape, w_shape = (n, c_in, h, w), (c_in, c_out // g) + k
    try:
        out_shape = shapes.conv_transpose_output_shape(x_shape, w_shape, s, p, op, d, g)
    except ValueError:
        assume(False)
    return dict(x_shape=x_shape, w_shape=w_shape, out_shape=out_shape, stride=s, padding=p,
                output_padding=op, dilation=d, groups=g)


@settings(max_examples=80, **SETTINGS)
@given(cfg=transpose_configs(), seed=st.integers(0, 2**16))
def test_conv_transpose2d_matches_torch(cfg, seed):
    """conv_transpose2d forward = conv2d_dgrad; input grad = conv2d_fwd (cropped to the input's
    size: output_padding >= stride, legal when < dilation, gives extra trailing rows); weight
    grad = conv2d_wgrad with x and dy swapped."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(cfg["x_shape"]), rng.standard_normal(cfg["w_shape"])
    dy = rng.standard_normal(cfg["out_shape"])
    s, p, d, g = cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"]
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=cfg["output_padding"],
                                              groups=g, dilation=d)
    dxt, dwt = torch.autograd.grad(yt, (xt, wt), torch.tensor(dy))
    tol = dict(rtol=1e-10, atol=1e-10)
    y = K.conv2d_dgrad(x, w, cfg["out_shape"], s, p, d, g)
    dx = K.conv2d_fwd(dy, w, s, p, d, g)[:, :, :x.shape[2], :x.shape[3]]
    dw = K.conv2d_wgrad(dy, x, w.shape, s, p, d, g)
    np.testing.assert_allclose(y, yt.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, dxt.numpy(), **tol)
    np.testing.assert_allclose(dw, dwt.numpy(), **tol)


def test_dcgan_shapes_match_torch_float32():
    """float32 on the DCGAN convs, including batch 64 on the 7x7 layer (batch-last layout)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for x_shape, w_shape, s, p in DCGAN + [((64, 64, 14, 14), (128, 64, 5, 5), 2, 2)]:
        x, w = rng.standard_normal(x_shape, dtype=np.float32), rng.standard_normal(w_shape, dtype=np.float32)
        args = ((s, s), (p, p), (1, 1), 1)
        y = K.conv2d_fwd(x, w, *args)
        ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=s, padding=p).numpy()
        _check_array(y, ref.shape, np.float32)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
        xt, wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
        dy = rng.standard_normal(ref.shape, dtype=np.float32)
        grads = torch.autograd.grad(torch.nn.functional.conv2d(xt, wt, stride=s, padding=p), (xt, wt),
                                    torch.from_numpy(dy))
        for got, want in ((K.conv2d_dgrad(dy, w, x.shape, *args), grads[0].numpy()),
                          (K.conv2d_wgrad(x, dy, w.shape, *args), grads[1].numpy())):
            _check_array(got, want.shape, np.float32)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


# --- (d) shapes.py -----------------------------------------------------------------------------

def _shape_msg(x_shape, w_shape):
    return re.escape(f"(input shape {x_shape}, weight shape {w_shape})")


CONV_REJECTS = [  # (x_shape, w_shape, stride, padding, dilation, groups, message fragment)
    ((1, 3, 3), (1, 1, 1, 1), 1, 0, 1, 1, "input must be 4-D"),
    ((1, 1, 3, 3), (1, 1, 1), 1, 0, 1, 1, "weight must be 4-D"),
    ((1, 3, 5, 5), (2, 2, 1, 1), 1, 0, 1, 1, "input has 3 channels, expected 2"),
    ((1, 4, 5, 5), (3, 2, 1, 1), 1, 0, 1, 2, "3 output channels are not divisible by groups=2"),
    ((1, 4, 5, 5), (4, 2, 1, 1), 1, 0, 1, 0, "groups must be a positive int"),
    ((1, 1, 5, 5), (1, 1, 1, 1), 1, -1, 1, 1, "padding (-1, -1) must be >= 0"),
    ((1, 1, 5, 5), (1, 1, 1, 1), (1, 0), 0, 1, 1, "stride (1, 0) must be >= 1"),
    ((1, 1, 5, 5), (1, 1, 1, 1), 1, 0, 0, 1, "dilation (0, 0) must be >= 1"),
    ((1, 1, 3, 3), (1, 1, 5, 5), 1, 0, 1, 1,
     "kernel (5, 5) with dilation (1, 1) is larger than the padded input (3, 3)"),
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, (3, 1), 1, "with dilation (3, 1) is larger than the padded input (5, 5)"),
    ((1, 1, 5, 5), (1, 1, 0, 3), 1, 0, 1, 1, "kernel size (0, 3) must be positive"),
    ((1, 1, 0, 5), (1, 1, 1, 1), 1, 1, 1, 1, "input spatial size (0, 5) must be positive"),
]


@pytest.mark.parametrize("x_shape,w_shape,s,p,d,g,fragment", CONV_REJECTS)
def test_conv_rejects(x_shape, w_shape, s, p, d, g, fragment):
    with pytest.raises(ValueError, match=r"^conv2d: .*" + re.escape(fragment) + ".*" + _shape_msg(x_shape, w_shape)):
        shapes.conv_output_shape(x_shape, w_shape, s, p, d, g)


def test_exact_message_from_the_issue():
    msg = ("conv2d: kernel (5, 5) with dilation (1, 1) is larger than the padded input (3, 3) "
           "(input shape (1, 1, 3, 3), weight shape (1, 1, 5, 5))")
    with pytest.raises(ValueError) as info:
        shapes.conv_output_shape((1, 1, 3, 3), (1, 1, 5, 5), 1, 0, 1, 1)
    assert str(info.value) == msg


TRANSPOSE_REJECTS = [  # (x_shape, w_shape, stride, padding, output_padding, dilation, groups, fragment)
    ((1, 3, 5, 5), (2, 2, 1, 1), 1, 0, 0, 1, 1, "input has 3 channels, expected 2"),
    ((1, 3, 5, 5), (3, 2, 1, 1), 1, 0, 0, 1, 2, "3 input channels are not divisible by groups=2"),
    ((1, 1, 5, 5), (1, 1, 3, 3), 2, 0, 2, 1, 1, "output_padding (2, 2) must be smaller than either stride (2, 2) or dilation (1, 1)"),
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, (0, 1), 1, 1, "output_padding (0, 1) must be smaller than either stride (1, 1)"),
    ((1, 1, 5, 5), (1, 1, 3, 3), 2, 0, -1, 1, 1, "output_padding (-1, -1) must be >= 0"),
    ((1, 1, 1, 1), (1, 1, 1, 1), 1, 1, 0, 1, 1, "output size (-1, -1) is not positive"),
    ((1, 1, 1, 3), (1, 1, 2, 1), 1, (1, 0), 0, 1, 1, "output size (0, 3) is not positive"),
    ((1, 1, 3, 3), (1, 1, 1, 1), 1, -1, 0, 1, 1, "padding (-1, -1) must be >= 0"),
    ((1, 1, 3, 3), (1, 1, 1, 1), 0, 0, 0, 1, 1, "stride (0, 0) must be >= 1"),
]


@pytest.mark.parametrize("x_shape,w_shape,s,p,op,d,g,fragment", TRANSPOSE_REJECTS)
def test_conv_transpose_rejects(x_shape, w_shape, s, p, op, d, g, fragment):
    with pytest.raises(ValueError, match=r"^conv_transpose2d: .*" + re.escape(fragment) + ".*"
                       + _shape_msg(x_shape, w_shape)):
        shapes.conv_transpose_output_shape(x_shape, w_shape, s, p, op, d, g)


def test_pair():
    assert shapes.pair(3, "stride", "conv2d") == (3, 3)
    assert shapes.pair((2, 1), "stride", "conv2d") == (2, 1)
    assert shapes.pair([np.int64(2), 1], "stride", "conv2d") == (2, 1)
    for bad in (1.5, (1, 2, 3), "2", (1.0, 2), True, None):
        with pytest.raises(ValueError, match=r"^conv2d: stride must be an int or a pair of ints, got "):
            shapes.pair(bad, "stride", "conv2d")


def test_same_padding():
    assert shapes.same_padding((5, 3), (1, 2)) == (2, 2)
    assert shapes.same_padding(3, 1) == (1, 1)
    assert shapes.conv_output_shape((2, 1, 7, 6), (4, 1, 5, 3), 1, "same", (1, 2), 1) == (2, 4, 7, 6)
    with pytest.raises(ValueError, match=r"^conv2d: padding='same' needs an odd effective kernel .* \(2, 3\)"):
        shapes.same_padding((2, 3), 1)
    with pytest.raises(ValueError, match=r"^conv2d: padding='same' needs stride 1"):
        shapes.conv_output_shape((1, 1, 5, 5), (1, 1, 3, 3), 2, "same", 1, 1)


def test_conv_transpose_output_padding():
    # DCGAN: 7x7 -> 14x14 with k5 s2 p2 needs output_padding 1.
    assert shapes.conv_transpose_output_padding((64, 128, 7, 7), (128, 64, 5, 5), (14, 14), 2, 2, 1) == (1, 1)
    assert shapes.conv_transpose_output_padding((1, 1, 7, 7), (1, 1, 5, 5), (1, 1, 13, 14), 2, 2, 1) == (0, 1)
    # Reachable with output_padding < dilation even at stride 1.
    assert shapes.conv_transpose_output_padding((1, 1, 4, 4), (1, 1, 3, 3), (11, 6), 1, 0, (3, 1)) == (1, 0)
    for size in ((12, 14), (15, 14)):
        with pytest.raises(ValueError, match=r"^conv_transpose2d: output size .* is unreachable .* valid sizes are "
                           r"\(13, 13\) to \(14, 14\).*\(input shape \(1, 1, 7, 7\), weight shape \(1, 1, 5, 5\)\)"):
            shapes.conv_transpose_output_padding((1, 1, 7, 7), (1, 1, 5, 5), size, 2, 2, 1)


def _torch_shape(torch, transpose, x_shape, w_shape, s, p, op, d, g):
    f = torch.nn.functional
    x, w = torch.zeros(x_shape), torch.zeros(w_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if transpose:
                return tuple(f.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, dilation=d, groups=g).shape)
            return tuple(f.conv2d(x, w, stride=s, padding=p, dilation=d, groups=g).shape)
        except RuntimeError:
            return None


@settings(max_examples=300, **SETTINGS)
@given(transpose=st.booleans(), g=st.integers(1, 3), n=st.integers(1, 2), hw=_pairs(1, 7), k=_pairs(1, 4),
       s=_pairs(1, 3), p=_pairs(0, 2), d=_pairs(1, 2), op=_pairs(0, 1), m=_pairs(1, 2),
       corrupt=st.sampled_from([None, None, None, "stride", "padding", "dilation", "output_padding", "channels"]),
       axis=st.integers(0, 1))
def test_shapes_accept_and_size_like_torch(transpose, g, n, hw, k, s, p, d, op, m, corrupt, axis):
    """Accepts exactly what torch accepts, with torch's output shape. Draws are mostly valid
    parameters (sizes may still be incompatible); ``corrupt`` breaks one of them on purpose."""
    torch = pytest.importorskip("torch")
    bad = {"stride": 0, "padding": -1, "dilation": 0, "output_padding": -1}.get(corrupt)

    def maybe_corrupt(name, v):
        return v if corrupt != name else (bad, v[1]) if axis == 0 else (v[0], bad)

    s, p, d, op = (maybe_corrupt("stride", s), maybe_corrupt("padding", p), maybe_corrupt("dilation", d),
                   maybe_corrupt("output_padding", op))
    c = g * m[0] + (1 if corrupt == "channels" else 0)
    w_shape = ((g * m[0], m[1]) if transpose else (g * m[1], m[0])) + k
    x_shape = (n, c) + hw
    try:
        if transpose:
            got = shapes.conv_transpose_output_shape(x_shape, w_shape, s, p, op, d, g)
        else:
            got = shapes.conv_output_shape(x_shape, w_shape, s, p, d, g)
    except ValueError as exc:
        got = None
        assert str(exc).endswith(f"(input shape {x_shape}, weight shape {w_shape})")
    if corrupt in ("stride", "padding", "dilation") or (corrupt == "output_padding" and transpose):
        # Always rejected. (torch's 1x1-kernel transpose path ignores dilation and accepts 0.)
        assert got is None
        return
    want = _torch_shape(torch, transpose, x_shape, w_shape, s, p, op, d, g)
    # torch's slow transpose path accepts an output that is 0 in one dimension (its check is
    # "height >= 1 or width >= 1"); shapes.py rejects every non-positive size, like torch's other paths.
    assume(want is None or min(want[2:]) >= 1)
    event("torch rejects" if want is None else "torch accepts")
    assert got == want, f"shapes.py: {got}, torch: {want}"
