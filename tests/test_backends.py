"""The generic backend suite: every registered backend, numpy included, against the specification
(tinygan.backends.reference: the convolutions and batch norm as their index equations).

Each test is parametrised over the backends; an unavailable one (no compiler, no numba, no GPU)
is skipped with the reason the registry gives. Arrays go to the backend's device and back
(tinygan.devices.move), so the same tests serve CPU and CUDA backends.

* conv2d_fwd / conv2d_dgrad / conv2d_wgrad on Hypothesis-drawn configs (stride 1-3, padding 0-3,
  dilation 1-3, groups 1-3, kernels 1-4, odd sizes, batch 1 up to 17, channel counts past a
  vector width), float64 and float32; transpose-conv configs give the dy smaller than the conv's
  natural output (output_padding >= stride, legal when < dilation);
* the dot test of each backend's kernels against its own forward, float32;
* batch norm forward / backward, train and eval, with and without affine parameters, running
  statistics updated like the spec's;
* results are fresh arrays: a second call never changes the first call's result; non-contiguous
  inputs give the same results as contiguous ones.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tinygan import backends
from tinygan.backends import reference as REF
from tinygan.devices import move
from tinygan.linops import shapes
from tinygan.testing import dottest

SETTINGS = dict(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
NAMES = sorted(name for name in backends._BACKENDS if name != "reference")
CONV = ("conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad")


class Backend:
    """One backend's kernels, called on host arrays (moved to its device and back)."""

    def __init__(self, name):
        with warnings.catch_warnings():  # available() warns about every backend that cannot load
            warnings.simplefilter("ignore")
            info = backends.available()[name]
        if not info["available"]:
            pytest.skip(f"backend {name!r} unavailable: {info['reason']}")
        self.name, self.device = name, info["device"]

    def __call__(self, kernel, *args):
        fn = backends.get(kernel, self.device, backend=self.name)
        out = fn(*(move(a, self.device) if isinstance(a, np.ndarray) else a for a in args))
        if isinstance(out, tuple):
            return tuple(None if o is None else move(o, "cpu") for o in out)
        return move(out, "cpu")

    def to_device(self, a):
        return None if a is None else move(a, self.device)


_cache: dict[str, Backend] = {}


def backend(name) -> Backend:
    if name not in _cache:
        _cache[name] = Backend(name)
    return _cache[name]


# --- configurations ----------------------------------------------------------------------------

def _pairs(lo, hi):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


@st.composite
def conv_configs(draw):
    """A conv (x_shape, w_shape, y_shape, stride, padding, dilation, groups) shapes.py accepts.
    Mostly small channel counts; sometimes channel counts past one or two vector widths (16, 17,
    33: full vectors plus tails) and batches past a vector width (16, 17)."""
    g = draw(st.integers(1, 3))
    wide = draw(st.booleans())
    if wide:
        g = 1
        c, o = draw(st.sampled_from([1, 3, 16, 17, 33])), draw(st.sampled_from([1, 5, 16, 17, 33]))
    else:
        c, o = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    n = draw(st.sampled_from([1, 1, 2, 3, 16, 17]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    k, s, p, d = draw(_pairs(1, 4)), draw(_pairs(1, 3)), draw(_pairs(0, 3)), draw(_pairs(1, 3))
    x_shape, w_shape = (n, c, h, w), (o, c // g) + k
    try:
        y_shape = shapes.conv_output_shape(x_shape, w_shape, s, p, d, g)
    except ValueError:
        assume(False)
    assume(n * c * h * w <= 20000 and n * o * y_shape[2] * y_shape[3] <= 20000)
    return dict(x_shape=x_shape, w_shape=w_shape, y_shape=y_shape, args=(s, p, d, g))


@st.composite
def transpose_configs(draw):
    """A conv_transpose2d config seen as the adjoint conv: its input is the conv's dy, its output
    the conv's x. With output_padding >= stride (legal when < dilation) dy is smaller than the
    conv's natural output of x: the rows no dy entry reaches must come out zero / be ignored."""
    g = draw(st.integers(1, 3))
    n, h, w = draw(st.sampled_from([1, 2, 17])), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c_in, c_out = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    k, s, p, d = draw(_pairs(1, 4)), draw(_pairs(1, 3)), draw(_pairs(0, 3)), draw(_pairs(1, 3))
    op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
    dy_shape, tw_shape = (n, c_in, h, w), (c_in, c_out // g) + k
    try:
        x_shape = shapes.conv_transpose_output_shape(dy_shape, tw_shape, s, p, op, d, g)
    except ValueError:
        assume(False)
    # the underlying conv: weight (O = c_in, C/G = c_out/g), x = the transpose conv's output
    return dict(x_shape=x_shape, w_shape=tw_shape, y_shape=dy_shape, args=(s, p, d, g))


def _data(cfg, dtype, seed):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(cfg[k]).astype(dtype) for k in ("x_shape", "w_shape", "y_shape"))


def _check(got, ref, bound, dtype, what):
    """float64: 1e-10 relative to the reference. float32: each entry within 1e-5 of the sum of
    |terms| it adds up (bound = the same kernel on |w|, |x| / |dy|, in float64). Summing K float32
    products in any order errs by at most ~K * 2^-24 of that sum, and by ~sqrt(K) * 2^-24 for
    random signs: < 1e-6 for the K (<= ~2000) drawn here, so 1e-5 leaves a 10x margin, while a
    wrong index or a missed tap is an O(1) relative error."""
    assert got.shape == ref.shape and got.dtype == dtype and got.flags.c_contiguous, (what, got.shape, got.dtype)
    if dtype == np.float64:
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10 * max(1.0, float(np.abs(ref).max(initial=0))),
                                   err_msg=what)
    else:
        err = np.abs(got.astype(np.float64) - ref)
        tol = 1e-5 * bound + 1e-30
        assert np.all(err <= tol), f"{what}: max err/bound {float(np.max(err / (bound + 1e-30))):.2e}"


def _compare_all(be, cfg, dtype, seed):
    x, w, dy = _data(cfg, dtype, seed)
    args = cfg["args"]
    x64, w64, dy64 = (a.astype(np.float64) for a in (x, w, dy))
    refs = (REF.conv2d_fwd(x64, w64, *args), REF.conv2d_dgrad(dy64, w64, x.shape, *args),
            REF.conv2d_wgrad(x64, dy64, w.shape, *args))
    ax, aw, ady = np.abs(x64), np.abs(w64), np.abs(dy64)
    bounds = (REF.conv2d_fwd(ax, aw, *args), REF.conv2d_dgrad(ady, aw, x.shape, *args),
              REF.conv2d_wgrad(ax, ady, w.shape, *args))
    # conv2d_fwd of x gives the natural output size; with a cropped dy only dgrad/wgrad apply
    natural = tuple(cfg["y_shape"]) == refs[0].shape
    gots = (be("conv2d_fwd", x, w, *args) if natural else None,
            be("conv2d_dgrad", dy, w, x.shape, *args), be("conv2d_wgrad", x, dy, w.shape, *args))
    for name, got, ref, bound in zip(CONV, gots, refs, bounds):
        if got is not None:
            _check(got, ref, bound, dtype, f"{be.name} {name} {cfg}")


# --- convolutions against the spec --------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, **SETTINGS)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv_kernels_match_spec(name, dtype, cfg, seed):
    _compare_all(backend(name), cfg, dtype, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, **SETTINGS)
@given(cfg=transpose_configs(), seed=st.integers(0, 2**16))
def test_transpose_conv_configs_match_spec(name, dtype, cfg, seed):
    """dgrad (= conv_transpose2d forward) and wgrad with dy possibly smaller than natural."""
    _compare_all(backend(name), cfg, dtype, seed)


DCGAN = [  # x shape at batch 5 (not a multiple of a vector width), conv weight, stride, padding
    ((5, 1, 28, 28), (64, 1, 5, 5), 2, 2),
    ((5, 64, 14, 14), (128, 64, 5, 5), 2, 2),
    ((5, 128, 7, 7), (256, 128, 5, 5), 1, 2),
]


@pytest.mark.parametrize("x_shape,w_shape,s,p", DCGAN)
@pytest.mark.parametrize("name", NAMES)
def test_dcgan_layers_float32(name, x_shape, w_shape, s, p):
    args = ((s, s), (p, p), (1, 1), 1)
    y_shape = shapes.conv_output_shape(x_shape, w_shape, *args)
    _compare_all(backend(name), dict(x_shape=x_shape, w_shape=w_shape, y_shape=y_shape, args=args),
                 np.float32, 7)


class _ConvOp:
    """A backend's conv as a linear operator in x (fwd / dgrad) or in w (fwd / wgrad)."""

    def __init__(self, be, cfg, fixed, wrt):
        self.be, self.cfg, self.fixed, self.wrt = be, cfg, fixed, wrt
        self.in_shape = cfg["x_shape"] if wrt == "x" else cfg["w_shape"]
        self.out_shape = cfg["y_shape"]

    def apply(self, v):
        x, w = (v, self.fixed) if self.wrt == "x" else (self.fixed, v)
        return self.be("conv2d_fwd", x, w, *self.cfg["args"])

    def adjoint(self, y):
        if self.wrt == "x":
            return self.be("conv2d_dgrad", y, self.fixed, self.cfg["x_shape"], *self.cfg["args"])
        return self.be("conv2d_wgrad", self.fixed, y, self.cfg["w_shape"], *self.cfg["args"])

    def __repr__(self):
        return f"{self.be.name} conv wrt {self.wrt} {self.cfg}"


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, **SETTINGS)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_dottest_float32(name, cfg, seed):
    """<fwd(x), y> = <x, dgrad(y)> and <fwd(w), y> = <w, wgrad(y)> in float32, the error measured
    against ||A v|| ||y|| + ||v|| ||A^T y|| with rtol 1e-5 (tinygan.testing.dottest)."""
    be = backend(name)
    x, w, _ = _data(cfg, np.float32, seed)
    dottest(_ConvOp(be, cfg, w, "x"), dtype=np.float32, rng=seed, rtol=1e-5)
    dottest(_ConvOp(be, cfg, x, "w"), dtype=np.float32, rng=seed + 1, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_inputs(name):
    be = backend(name)
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((3, 4, 9, 8)).astype(dtype).transpose(0, 1, 3, 2)[:, ::2]  # (3, 2, 8, 9)
        w = rng.standard_normal((2, 3, 3, 4)).astype(dtype).transpose(1, 0, 2, 3)          # (3, 2, 3, 4)
        args = ((2, 1), (1, 2), (1, 2), 1)
        y = REF.conv2d_fwd(np.ascontiguousarray(x), np.ascontiguousarray(w), *args)
        dy = rng.standard_normal(y.shape).astype(dtype)[:, :, ::-1]
        tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(be("conv2d_fwd", x, w, *args), y, **tol)
        np.testing.assert_allclose(be("conv2d_dgrad", dy, w, x.shape, *args),
                                   REF.conv2d_dgrad(np.ascontiguousarray(dy), np.ascontiguousarray(w), x.shape, *args), **tol)
        np.testing.assert_allclose(be("conv2d_wgrad", x, dy, w.shape, *args),
                                   REF.conv2d_wgrad(np.ascontiguousarray(x), np.ascontiguousarray(dy), w.shape, *args), **tol)


@pytest.mark.parametrize("name", NAMES)
def test_results_are_never_aliased(name):
    """A second call (same shapes, other values) must not change the first call's result."""
    be = backend(name)
    rng = np.random.default_rng(1)
    args = ((2, 2), (2, 2), (1, 1), 1)
    calls = []
    for _ in range(2):
        x = rng.standard_normal((17, 16, 14, 14), dtype=np.float32)
        w = rng.standard_normal((32, 16, 5, 5), dtype=np.float32)
        dy = rng.standard_normal((17, 32, 7, 7), dtype=np.float32)
        g = rng.standard_normal(16, dtype=np.float32)
        calls.append((be("conv2d_fwd", x, w, *args), be("conv2d_dgrad", dy, w, x.shape, *args),
                      be("conv2d_wgrad", x, dy, w.shape, *args),
                      *be("batchnorm_fwd", x, g, g, None, None, True, 0.1, 1e-5),
                      *be("batchnorm_bwd", x, x, g, g, np.abs(g), True)))
    snapshot = [a.copy() for a in calls[0]]
    calls.append(calls[1])  # and a third with the second's inputs, again
    for first, before in zip(calls[0], snapshot):
        np.testing.assert_array_equal(first, before)
    for a, b in zip(calls[0], calls[1]):
        assert not np.shares_memory(a, b)


# --- batch norm -----------------------------------------------------------------------------------

# (80, 64, 14, 15): 4.3 MB of float32, past the C++ backward's streaming-store threshold, rows of
# 210 values (not a multiple of the vector length, rows not 64-byte aligned).
BN_SHAPES = [(6, 3), (5, 1100), (4, 3, 5), (4, 3, 5, 6), (3, 16, 7, 7), (2, 5, 1, 1), (80, 64, 14, 15)]


def _bn_inputs(shape, dtype, affine, seed, mean=0.5):
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + mean).astype(dtype)
    w = rng.standard_normal(c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    rm = rng.standard_normal(c).astype(dtype) * 0.1
    rv = (rng.random(c) + 0.5).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return x, w, b, rm, rv, dy


def _bn_tol(dtype, scale=1.0):
    return dict(rtol=1e-10, atol=1e-10 * scale) if dtype == np.float64 else dict(rtol=1e-5, atol=2e-5 * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_batchnorm_matches_spec(name, shape, affine, training, dtype):
    """Outputs against the spec run in float64 on the same inputs (the float32 spec has its own
    rounding); running statistics against the spec run in the same dtype (same update
    expressions, so equal up to the batch statistics' last bits)."""
    be = backend(name)
    x, w, b, rm, rv, dy = _bn_inputs(shape, dtype, affine, seed=sum(shape))
    f64 = lambda a: None if a is None else a.astype(np.float64)  # noqa: E731
    rm_ref, rv_ref = rm.copy(), rv.copy()
    y_ref, mean_ref, invstd_ref = REF.batchnorm_fwd(f64(x), f64(w), f64(b), f64(rm), f64(rv), training, 0.3, 1e-5)
    REF.batchnorm_fwd(x, w, b, rm_ref, rv_ref, training, 0.3, 1e-5)  # the spec's running update
    rm_dev, rv_dev = be.to_device(rm), be.to_device(rv)
    fn = backends.get("batchnorm_fwd", be.device, backend=be.name)
    y, mean, invstd = (move(a, "cpu") for a in fn(be.to_device(x), be.to_device(w), be.to_device(b),
                                                  rm_dev, rv_dev, training, 0.3, 1e-5))
    assert y.shape == x.shape and y.dtype == dtype and y.flags.c_contiguous
    assert mean.dtype == dtype and invstd.dtype == dtype
    ys = float(np.abs(y_ref).max())
    np.testing.assert_allclose(y, y_ref, **_bn_tol(dtype, ys))
    np.testing.assert_allclose(mean, mean_ref, **_bn_tol(dtype, 3.0))
    np.testing.assert_allclose(invstd, invstd_ref, **_bn_tol(dtype))
    np.testing.assert_allclose(move(rm_dev, "cpu"), rm_ref, **_bn_tol(dtype, 1.0))
    np.testing.assert_allclose(move(rv_dev, "cpu"), rv_ref, **_bn_tol(dtype, 1.0))
    if not training:  # eval: the running statistics are untouched
        np.testing.assert_array_equal(move(rm_dev, "cpu"), rm)

    dx_ref, dw_ref, db_ref = REF.batchnorm_bwd(f64(dy), f64(x), f64(w), mean_ref, invstd_ref, training)
    dx, dw, db = be("batchnorm_bwd", dy, x, w, mean, invstd, training)
    assert dx.shape == x.shape and dx.dtype == dtype and dx.flags.c_contiguous
    m = x.size // x.shape[1]
    # dx is a difference of terms of size |invstd * w * dy| (it vanishes exactly when m = 2)
    dx_scale = float(np.abs(dy).max() * np.abs(invstd_ref * (1.0 if w is None else f64(w))).max())
    np.testing.assert_allclose(dx, dx_ref, **_bn_tol(dtype, dx_scale))
    np.testing.assert_allclose(dw, dw_ref, **_bn_tol(dtype, np.sqrt(m)))
    np.testing.assert_allclose(db, db_ref, **_bn_tol(dtype, np.sqrt(m)))


@pytest.mark.parametrize("name", NAMES)
def test_batchnorm_large_mean_float32(name):
    """|mean| >> std: the variance must not cancel away (accumulated in double or centred)."""
    be = backend(name)
    x, w, b, _, _, _ = _bn_inputs((64, 8, 7, 7), np.float32, True, seed=3, mean=1e3)
    y_ref, mean_ref, invstd_ref = REF.batchnorm_fwd(x.astype(np.float64), w.astype(np.float64),
                                                     b.astype(np.float64), None, None, True, 0.1, 1e-5)
    y, mean, invstd = be("batchnorm_fwd", x, w, b, None, None, True, 0.1, 1e-5)
    np.testing.assert_allclose(invstd, invstd_ref, rtol=1e-4)
    np.testing.assert_allclose(y, y_ref, rtol=1e-3, atol=1e-3 * float(np.abs(y_ref).max()))


@pytest.mark.parametrize("name", NAMES)
def test_batchnorm_errors_like_spec(name):
    be = backend(name)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        be("batchnorm_fwd", np.ones((1, 3), np.float32), None, None, None, None, True, 0.1, 1e-5)
    with pytest.raises(ValueError, match="eval mode needs running_mean and running_var"):
        be("batchnorm_fwd", np.ones((2, 3), np.float32), None, None, None, None, False, 0.1, 1e-5)


# --- the cpp backend's own paths ------------------------------------------------------------------
# Its kernels pick an algorithm per call (csrc/cpu/*.cpp): conv2d_fwd / conv2d_dgrad a per-pixel
# slab GEMM with the batch as vector axis or a per-sample im2col GEMM with the pixels as vector
# axis; conv2d_wgrad two tile shapes and a batch chunk size. The heuristics reach only some of
# them on small shapes, so every path is forced here in turn (tiny chunks: many partial sums).

CPP_PATHS = [
    {"TINYGAN_FWD_PATH": "1", "TINYGAN_DGRAD_PATH": "1", "TINYGAN_WGRAD_VARIANT": "1"},
    {"TINYGAN_FWD_PATH": "2", "TINYGAN_DGRAD_PATH": "2", "TINYGAN_WGRAD_VARIANT": "2"},
    {"TINYGAN_WGRAD_VARIANT": "1", "TINYGAN_WGRAD_CHUNK_KB": "64"},
    {"TINYGAN_WGRAD_VARIANT": "2", "TINYGAN_WGRAD_CHUNK_KB": "64"},
]


@contextlib.contextmanager
def _environ(env):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.parametrize("env", CPP_PATHS, ids=lambda e: "-".join(f"{k[8:]}={v}" for k, v in e.items()))
@settings(max_examples=15, **SETTINGS)
@given(cfg=st.one_of(conv_configs(), transpose_configs()), seed=st.integers(0, 2**16))
def test_cpp_every_path(env, cfg, seed):
    be = backend("cpp")
    with _environ(env):
        _compare_all(be, cfg, np.float32, seed)


def test_cpp_unavailable_without_extension():
    """Without tinygan._C the module imports, says why, and the registry falls back."""
    code = (
        "import sys; sys.modules['tinygan._C'] = None\n"
        "from tinygan.backends import cpp as m\n"
        "assert m.AVAILABLE is False and 'tinygan._C was not built' in m.UNAVAILABLE_REASON, m.UNAVAILABLE_REASON\n"
        "from tinygan import backends\n"
        "info = backends.available()['cpp']\n"
        "assert info['available'] is False and 'tinygan._C' in info['reason'], info\n"
        "assert backends.current('cpu') != 'cpp'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def _same_nonfinite(got, ref, what, dtype):
    """NaN where the spec has NaN, the same infinities, and the finite values close."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{what}: NaN pattern")
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref), err_msg=f"{what}: +Inf pattern")
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref), err_msg=f"{what}: -Inf pattern")
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], **_bn_tol(dtype, max(1.0, float(np.abs(ref[ok]).max(initial=0)))))


@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 3), (3, 5, 2, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_batchnorm_nonfinite_like_spec(name, dtype, shape):
    """A channel holding one +Inf, one holding a NaN, one holding +Inf and -Inf: every backend gives
    the spec's NaN / Inf pattern in y, the saved statistics, the running statistics and the
    backward pass (a clamp like max(0, var) must not turn a NaN variance into 0)."""
    be = backend(name)
    x, w, b, rm, rv, dy = _bn_inputs(shape, dtype, True, seed=7)
    x[(1, 1) + (0,) * (x.ndim - 2)] = np.inf
    x[(0, 2) + (0,) * (x.ndim - 2)] = np.nan
    x[(0, 3) + (0,) * (x.ndim - 2)] = np.inf
    x[(1, 3) + (0,) * (x.ndim - 2)] = -np.inf
    rm_ref, rv_ref = rm.copy(), rv.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        ref = REF.batchnorm_fwd(x, w, b, rm_ref, rv_ref, True, 0.1, 1e-5)
        rm_dev, rv_dev = be.to_device(rm), be.to_device(rv)
        fn = backends.get("batchnorm_fwd", be.device, backend=be.name)
        got = [move(a, "cpu") for a in fn(be.to_device(x), be.to_device(w), be.to_device(b),
                                          rm_dev, rv_dev, True, 0.1, 1e-5)]
        for what, g, r in zip(("y", "save_mean", "save_invstd"), got, ref):
            _same_nonfinite(g, r, what, dtype)
        _same_nonfinite(move(rm_dev, "cpu"), rm_ref, "running_mean", dtype)
        _same_nonfinite(move(rv_dev, "cpu"), rv_ref, "running_var", dtype)
        assert np.isnan(rv_ref[[1, 2, 3]]).all() and np.isfinite(rv_ref[[0, 4]]).all()
        bwd_ref = REF.batchnorm_bwd(dy, x, w, ref[1], ref[2], True)
        bwd = be("batchnorm_bwd", dy, x, w, got[1], got[2], True)
        for what, g, r in zip(("dx", "dweight", "dbias"), bwd, bwd_ref):
            _same_nonfinite(g, r, what, dtype)


def test_batchnorm_spec_nonfinite_matches_torch():
    """The spec itself against PyTorch: a +Inf in a channel makes its outputs and running
    variance NaN (and its running mean +Inf), other channels are untouched."""
    torch = pytest.importorskip("torch")
    x, w, b, rm, rv, _ = _bn_inputs((4, 3, 5), np.float64, True, seed=1)
    x[1, 1, 2] = np.inf
    with np.errstate(invalid="ignore"):
        y, _, _ = REF.batchnorm_fwd(x, w, b, rm, rv, True, 0.1, 1e-5)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    trm.copy_(torch.from_numpy(_bn_inputs((4, 3, 5), np.float64, True, seed=1)[3]))
    trv.copy_(torch.from_numpy(_bn_inputs((4, 3, 5), np.float64, True, seed=1)[4]))
    ty = torch.nn.functional.batch_norm(torch.from_numpy(x), trm, trv, torch.from_numpy(w),
                                        torch.from_numpy(b), True, 0.1, 1e-5).numpy()
    _same_nonfinite(y, ty, "y", np.float64)
    _same_nonfinite(rm, trm.numpy(), "running_mean", np.float64)
    _same_nonfinite(rv, trv.numpy(), "running_var", np.float64)


# --- the reference backend itself ------------------------------------------------------------------

def test_reference_defines_every_registry_kernel_with_its_equation():
    for kernel in backends.KERNELS:
        fn = getattr(REF, kernel)
        assert callable(fn) and fn.__module__ == REF.__name__, kernel
        first = fn.__doc__.splitlines()[0]
        assert "=" in first or "<-" in first, f"{kernel}: the docstring opens with its equation"


def test_reference_is_selectable_and_never_a_default():
    with backends.set_backend("reference"):
        assert backends.current("cpu") == "reference"
        assert backends.get("conv2d_fwd", "cpu") is REF.conv2d_fwd
    assert backends.current("cpu") != "reference"
    code = "from tinygan import backends; print(backends.current('cpu'), backends.get('matmul').__module__)"
    env = dict(os.environ, TINYGAN_BACKEND="reference")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.split() == ["reference", "tinygan.backends.reference"], out.stderr
