"""The claim tinygan is built on: the gradient backprop computes through a convolution *is* the
adjoint of the convolution's linear operator, and that adjoint is the transpose of its matrix.

On random configurations (stride, padding, dilation, groups, output_padding; float64):

    tinygan.grad(F.conv2d(x, w), x, g)  ==  linops.Conv(w, x.shape).T(g)          ==  A.to_dense().T @ g
    tinygan.grad(F.conv2d(x, w), w, g)  ==  linops.ConvWeightMap(x, w.shape).T(g) ==  B.to_dense().T @ g

and the same for conv_transpose2d (ConvTranspose, ConvTransposeWeightMap) and the 1-D ops. Then
the second derivatives: the x-gradient differentiated in w, and the w-gradient in x, are again
adjoints of conv operators (what WGAN-GP's gradient penalty differentiates).
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.nn.functional as F
from tinygan import linops
from tinygan.linops import shapes

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
TOL = dict(rtol=1e-11, atol=1e-11)


def _pairs(lo, hi):
    return st.tuples(st.integers(lo, hi), st.integers(lo, hi))


@st.composite
def configs(draw, transpose=False):
    """Shapes and hyper-parameters PyTorch accepts; for a transpose conv any output_padding below
    max(stride, dilation), so the output may be past the last window's reach."""
    g = draw(st.integers(1, 2))
    c_in, c_out = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    k, s, p, d = draw(_pairs(1, 3)), draw(_pairs(1, 3)), draw(_pairs(0, 2)), draw(_pairs(1, 2))
    x_shape = (n, c_in, h, w)
    if transpose:
        op = tuple(draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2))
        w_shape = (c_in, c_out // g) + k
        try:
            shapes.conv_transpose_output_shape(x_shape, w_shape, s, p, op, d, g)
        except ValueError:
            assume(False)
        return dict(x_shape=x_shape, w_shape=w_shape, stride=s, padding=p, output_padding=op,
                    dilation=d, groups=g)
    w_shape = (c_out, c_in // g) + k
    try:
        shapes.conv_output_shape(x_shape, w_shape, s, p, d, g)
    except ValueError:
        assume(False)
    return dict(x_shape=x_shape, w_shape=w_shape, stride=s, padding=p, dilation=d, groups=g)


def _three_ways(fn, inputs, wrt, g, operator):
    """grad of fn(*inputs) w.r.t. inputs[wrt] with cotangent g; operator.T(g); dense^T g."""
    leaves = [tg.tensor(a, requires_grad=True) for a in inputs]
    (grad,) = tg.grad(fn(*leaves), [leaves[wrt]], grad_outputs=tg.tensor(g))
    adjoint = operator.T(g)
    dense = (operator.to_dense().T @ g.ravel()).reshape(operator.in_shape)
    np.testing.assert_allclose(grad.numpy(), adjoint, **TOL)
    np.testing.assert_allclose(adjoint, dense, **TOL)


def _hyper(cfg, *names):
    return {k: cfg[k] for k in names}


@SETTINGS
@given(cfg=configs(), seed=st.integers(0, 2**16))
def test_conv2d_gradients_are_the_adjoints(cfg, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(cfg["x_shape"]), rng.standard_normal(cfg["w_shape"])
    hyper = _hyper(cfg, "stride", "padding", "dilation", "groups")
    fn = lambda a, b: F.conv2d(a, b, None, **hyper)   # noqa: E731
    A = linops.Conv(w, x.shape, **hyper)
    g = rng.standard_normal(A.out_shape)
    _three_ways(fn, (x, w), 0, g, A)
    _three_ways(fn, (x, w), 1, g, linops.ConvWeightMap(x, w.shape, **hyper))
    assert isinstance(A.T, linops.ConvTranspose)


@SETTINGS
@given(cfg=configs(transpose=True), seed=st.integers(0, 2**16))
def test_conv_transpose2d_gradients_are_the_adjoints(cfg, seed):
    rng = np.random.default_rng(seed)
    y, w = rng.standard_normal(cfg["x_shape"]), rng.standard_normal(cfg["w_shape"])
    hyper = _hyper(cfg, "stride", "padding", "output_padding", "dilation", "groups")
    fn = lambda a, b: F.conv_transpose2d(a, b, None, **hyper)   # noqa: E731
    B = linops.ConvTranspose(w, y.shape, **hyper)
    g = rng.standard_normal(B.out_shape)
    _three_ways(fn, (y, w), 0, g, B)
    _three_ways(fn, (y, w), 1, g, linops.ConvTransposeWeightMap(y, w.shape, **hyper))
    # the transpose conv's adjoint is the conv with the same weight, cropped where output_padding
    # reaches past the last window
    assert isinstance(B.T, linops.Conv)
    np.testing.assert_allclose(B.T(g), F.conv2d(tg.tensor(g), tg.tensor(w), None, cfg["stride"],
                                                cfg["padding"], cfg["dilation"], cfg["groups"]
                                                ).numpy()[:, :, :y.shape[2], :y.shape[3]], **TOL)


@SETTINGS
@given(cfg=configs(), seed=st.integers(0, 2**16))
def test_second_derivatives_are_adjoints_too(cfg, seed):
    """d/dw <grad_x <conv(x, w), g>, v> = ConvWeightMap(v).T g   (grad_x = Conv(w).T g)
       d/dx <grad_w <conv(x, w), g>, u> = Conv(u).T g            (grad_w = ConvWeightMap(x).T g)"""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(cfg["x_shape"]), rng.standard_normal(cfg["w_shape"])
    hyper = _hyper(cfg, "stride", "padding", "dilation", "groups")
    xt, wt = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, None, **hyper)
    g = rng.standard_normal(y.shape)
    v, u = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    gx, gw = tg.grad(y, [xt, wt], grad_outputs=tg.tensor(g), create_graph=True)
    (gxw,) = tg.grad(gx, [wt], grad_outputs=tg.tensor(v))
    (gwx,) = tg.grad(gw, [xt], grad_outputs=tg.tensor(u))
    np.testing.assert_allclose(gxw.numpy(), linops.ConvWeightMap(v, w.shape, **hyper).T(g), **TOL)
    np.testing.assert_allclose(gwx.numpy(), linops.Conv(u, x.shape, **hyper).T(g), **TOL)


def test_one_d_gradients_are_the_adjoints():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3))
    hyper = dict(stride=2, padding=1, dilation=2, groups=2)
    fn = lambda a, b: F.conv1d(a, b, None, **hyper)   # noqa: E731
    A = linops.Conv(w, x.shape, **hyper)
    g = rng.standard_normal(A.out_shape)
    _three_ways(fn, (x, w), 0, g, A)
    _three_ways(fn, (x, w), 1, g, linops.ConvWeightMap(x, w.shape, **hyper))
    wt = rng.standard_normal((4, 3, 3))
    hyper_t = dict(stride=2, padding=1, output_padding=1, dilation=2, groups=2)
    fn_t = lambda a, b: F.conv_transpose1d(a, b, None, **hyper_t)   # noqa: E731
    B = linops.ConvTranspose(wt, x.shape, **hyper_t)
    g = rng.standard_normal(B.out_shape)
    _three_ways(fn_t, (x, wt), 0, g, B)
    _three_ways(fn_t, (x, wt), 1, g, linops.ConvTransposeWeightMap(x, wt.shape, **hyper_t))
