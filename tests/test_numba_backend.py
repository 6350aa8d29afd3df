"""Numba-specific tests of tinygan.backends.numba_cpu (the generic backend suite is test_backends.py).

* unavailable reporting when numba cannot be imported (no numba needed);
* compile_all();
* both algorithms of each conv kernel (forced with numba_conv.FORCE_PATH) against
  the reference backend, in float64 and float32, incl. groups, dilation, cropped dy, non-contiguous inputs;
* batch norm in float64 and float32, (N, C), (N, C, L), (N, C, H, W).

Numba compiles once per session (and caches on disk), so the first test pays a few seconds.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tinygan.backends import reference as R
from tinygan.linops import shapes


def test_unavailable_without_numba():
    """Without numba the module imports, says why, and the registry skips it."""
    code = (
        "import sys, warnings; sys.modules['numba'] = None\n"
        "warnings.simplefilter('ignore')\n"
        "from tinygan.backends import numba_cpu as m\n"
        "assert m.AVAILABLE is False and 'numba' in m.UNAVAILABLE_REASON, m.UNAVAILABLE_REASON\n"
        "from tinygan import backends\n"
        "info = backends.available()['numba']\n"
        "assert info['available'] is False and 'numba' in info['reason'], info\n"
        "assert backends.current('cpu') != 'numba'\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TINYGAN_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


numba = pytest.importorskip("numba")
from tinygan.backends import numba_conv as NC  # noqa: E402
from tinygan.backends import numba_cpu as NB  # noqa: E402

PATHS = ("large", "small")


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    NB.compile_all()


@pytest.fixture
def force_path(request):
    NC.FORCE_PATH = request.param
    yield request.param
    NC.FORCE_PATH = None


def test_compile_all_and_registry():
    from tinygan import backends
    secs = NB.compile_all()  # everything is compiled already: fast, but still a float
    assert isinstance(secs, float) and secs >= 0
    assert NB.AVAILABLE and NB.UNAVAILABLE_REASON is None
    assert backends.get("conv2d_fwd", backend="numba") is NB.conv2d_fwd
    assert backends.get("batchnorm_bwd", backend="numba") is NB.batchnorm_bwd


# (x_shape, w_shape, stride, padding, dilation, groups, dy crop)
CONFIGS = [
    ((2, 6, 9, 8), (4, 3, 3, 2), (2, 1), (1, 2), (1, 2), 2, (0, 0)),
    ((3, 4, 7, 7), (6, 4, 5, 5), (2, 2), (2, 2), (1, 1), 1, (0, 0)),
    ((1, 3, 11, 10), (3, 1, 3, 3), (3, 2), (3, 0), (2, 3), 3, (0, 0)),
    ((2, 5, 11, 9), (7, 5, 4, 3), (1, 3), (0, 1), (3, 1), 1, (0, 0)),
    # dy smaller than the natural output (transpose conv with output_padding >= stride)
    ((2, 4, 9, 9), (5, 4, 3, 3), (1, 1), (1, 1), (2, 2), 1, (1, 2)),
    ((1, 2, 10, 10), (2, 1, 3, 3), (2, 2), (0, 0), (3, 3), 2, (1, 1)),
    # a DCGAN layer at batch 2 (the default picks the "large" algorithms)
    ((2, 64, 14, 14), (128, 64, 5, 5), (2, 2), (2, 2), (1, 1), 1, (0, 0)),
]


def _run_config(cfg, dtype, tol):
    x_shape, w_shape, s, p, d, g, crop = cfg
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    y_shape = shapes.conv_output_shape(x_shape, w_shape, s, p, d, g)
    dy = rng.standard_normal(y_shape[:2] + (y_shape[2] - crop[0], y_shape[3] - crop[1])).astype(dtype)
    args = (s, p, d, g)
    pairs = [(NB.conv2d_dgrad(dy, w, x_shape, *args), R.conv2d_dgrad(dy, w, x_shape, *args)),
             (NB.conv2d_wgrad(x, dy, w_shape, *args), R.conv2d_wgrad(x, dy, w_shape, *args))]
    if crop == (0, 0):
        pairs.append((NB.conv2d_fwd(x, w, *args), R.conv2d_fwd(x, w, *args)))
    for got, want in pairs:
        assert got.dtype == dtype and got.shape == want.shape and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("force_path", PATHS + (None,), indirect=True)
@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_float64(force_path, cfg):
    _run_config(cfg, np.float64, 1e-11)


@pytest.mark.parametrize("force_path", PATHS, indirect=True)
@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_float32(force_path, cfg):
    _run_config(cfg, np.float32, 1e-5)


@st.composite
def conv_configs(draw):
    g = draw(st.integers(1, 3))
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c, o = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    pair = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731
    k, s, p, d = draw(pair(1, 4)), draw(pair(1, 3)), draw(pair(0, 3)), draw(pair(1, 3))
    try:
        y = shapes.conv_output_shape((n, c, h, w), (o, c // g) + k, s, p, d, g)
    except ValueError:
        assume(False)
    crop = (draw(st.integers(0, min(2, y[2] - 1))), draw(st.integers(0, min(2, y[3] - 1))))
    return (n, c, h, w), (o, c // g) + k, s, p, d, g, crop


@pytest.mark.parametrize("force_path", PATHS, indirect=True)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=conv_configs())
def test_conv_hypothesis(force_path, cfg):  # the fixture only sets a module flag: safe to share
    _run_config(cfg, np.float64, 1e-11)


def test_non_contiguous_and_no_aliasing():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 9, 8)).transpose(0, 1, 3, 2)[:, ::2]  # (3, 2, 8, 9), strided
    w = rng.standard_normal((2, 3, 3, 4)).transpose(1, 0, 2, 3)          # (3, 2, 3, 4)
    args = ((2, 1), (1, 2), (1, 2), 1)
    y = NB.conv2d_fwd(x, w, *args)
    np.testing.assert_allclose(y, R.conv2d_fwd(x, w, *args), rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape[::-1]).transpose(3, 2, 1, 0)
    np.testing.assert_allclose(NB.conv2d_dgrad(dy, w, x.shape, *args), R.conv2d_dgrad(dy, w, x.shape, *args),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(NB.conv2d_wgrad(x, dy, w.shape, *args), R.conv2d_wgrad(x, dy, w.shape, *args),
                               rtol=1e-12, atol=1e-12)
    y2 = NB.conv2d_fwd(x, w, *args)  # a second call must not overwrite the first result
    assert not np.shares_memory(y, y2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-11), (np.float32, 1e-4)])
@pytest.mark.parametrize("shape", [(5, 3), (64, 300), (4, 3, 7), (3, 5, 4, 6), (2, 2, 1, 1)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm(dtype, tol, shape, training, affine):
    rng = np.random.default_rng(len(shape) + shape[1])
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    wgt = rng.standard_normal(c).astype(dtype) if affine else None
    bias = rng.standard_normal(c).astype(dtype) if affine else None
    rm, rv = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    rm2, rv2 = rm.copy(), rv.copy()
    got = NB.batchnorm_fwd(x, wgt, bias, rm, rv, training, 0.1, 1e-5)
    want = R.batchnorm_fwd(x, wgt, bias, rm2, rv2, training, 0.1, 1e-5)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert got[0].flags.c_contiguous
    np.testing.assert_allclose(rm, rm2, rtol=tol, atol=tol)  # running stats updated in place
    np.testing.assert_allclose(rv, rv2, rtol=tol, atol=tol)
    dy = rng.standard_normal(shape).astype(dtype)
    got = NB.batchnorm_bwd(dy, x, wgt, want[1], want[2], training)
    ref = R.batchnorm_bwd(dy, x, wgt, want[1], want[2], training)
    for a, b in zip(got, ref):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))
    assert got[0].flags.c_contiguous


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        NB.batchnorm_fwd(np.ones((1, 3)), None, None, None, None, True, 0.1, 1e-5)
    with pytest.raises(ValueError, match="eval mode needs running_mean"):
        NB.batchnorm_fwd(np.ones((2, 3)), None, None, None, None, False, 0.1, 1e-5)
    with pytest.raises(ValueError, match="expected an input"):
        NB.batchnorm_fwd(np.ones(3), None, None, None, None, True, 0.1, 1e-5)
