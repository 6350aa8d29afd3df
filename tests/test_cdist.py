"""cdist (torch.cdist): values, gradients and grads of grads against PyTorch for every p; the
p = 1 kernels (cdist_l1, cdist_l1_vjp) of every CPU backend against the spec; torch's errors.

Tolerances: the kernels sum |x1 - x2| over m and g * sign over j in another order than the
spec's NumPy reductions, so they agree to rounding (rtol 1e-5 float32, 1e-12 float64), not bits.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan import backends
from tinygan.backends import reference as SPEC
from tinygan.nn.minibatch import minibatch_features
from tinygan.testing import check_vjp

from test_backends import NAMES, SETTINGS, backend

torch = pytest.importorskip("torch")

PS = [0.0, 1.0, 1.5, 2.0, 3.0, math.inf]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _pair(shape1, shape2, dtype, seed, ties=True):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape1).astype(dtype), rng.standard_normal(shape2).astype(dtype)
    if ties and a.size and b.size:              # equal entries: the sign(0) = 0 boundary
        a[..., 0, 0] = b[..., 0, 0] if a.ndim == b.ndim else a[..., 0, 0]
    return a, b


# --- the kernels of every CPU backend against the spec ---------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20, **SETTINGS)
@given(B=st.integers(1, 4), P=st.integers(0, 9), R=st.integers(0, 9), M=st.integers(1, 6), seed=st.integers(0, 99))
def test_cdist_l1_kernels_match_spec(name, dtype, B, P, R, M, seed):
    if backends._BACKENDS[name][0] != "cpu":
        pytest.skip("cdist_l1 is a CPU kernel; on a GPU cdist runs its composite definition")
    be = backend(name)
    x1, x2 = _pair((B, P, M), (B, R, M), dtype, seed)
    g = np.random.default_rng(seed + 1).standard_normal((B, P, R)).astype(dtype)
    d = be("cdist_l1", x1, x2)
    assert d.dtype == dtype and d.shape == (B, P, R)
    np.testing.assert_allclose(d, SPEC.cdist_l1(x1, x2), **TOL[dtype])
    dx1, dx2 = be("cdist_l1_vjp", x1, x2, g)
    r1, r2 = SPEC.cdist_l1_vjp(x1, x2, g)
    assert dx1.dtype == dx2.dtype == dtype and dx1.shape == x1.shape and dx2.shape == x2.shape
    np.testing.assert_allclose(dx1, r1, **TOL[dtype])
    np.testing.assert_allclose(dx2, r2, **TOL[dtype])


@pytest.mark.parametrize("name", [n for n in NAMES if backends._BACKENDS[n][0] == "cpu"])
def test_cdist_l1_kernels_at_minibatch_discrimination_size(name):
    be = backend(name)          # the default D's size: 100 kernels, batch 64, 5 dims
    x1, _ = _pair((100, 64, 5), (100, 64, 5), np.float32, 3, ties=False)
    g = np.random.default_rng(4).standard_normal((100, 64, 64)).astype(np.float32)
    np.testing.assert_allclose(be("cdist_l1", x1, x1), SPEC.cdist_l1(x1, x1), rtol=1e-5, atol=1e-5)
    for got, want in zip(be("cdist_l1_vjp", x1, x1, g), SPEC.cdist_l1_vjp(x1, x1, g)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-4)


def test_the_spec_states_the_definition():
    x1, x2 = _pair((2, 3, 4), (2, 5, 4), np.float64, 0)
    d = SPEC.cdist_l1(x1, x2)
    for b, i, j in [(0, 0, 0), (1, 2, 4), (0, 1, 3)]:
        assert d[b, i, j] == pytest.approx(sum(abs(x1[b, i, m] - x2[b, j, m]) for m in range(4)))


# --- the op against PyTorch ----------------------------------------------------------------------

@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("shapes", [((5, 3), (4, 3)), ((2, 5, 3), (2, 4, 3)), ((2, 1, 3, 4), (5, 6, 4)),
                                    ((1, 1), (3, 1)), ((0, 3), (2, 3))])
def test_cdist_values_and_gradients_match_torch(p, shapes):
    a, b = _pair(*shapes, np.float64, 7)
    x1, x2 = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    d, td = tg.cdist(x1, x2, p=p), torch.cdist(t1, t2, p=p)
    assert d.shape == tuple(td.shape)
    np.testing.assert_allclose(d.numpy(), td.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(1).standard_normal(d.shape)
    (d * tg.tensor(w)).sum().backward()
    (td * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cdist_float32_stays_float32():
    a, b = _pair((64, 5), (64, 5), np.float32, 2)
    d = tg.cdist(tg.tensor(a), tg.tensor(b), p=1)
    assert d.dtype == tg.float32
    np.testing.assert_allclose(d.numpy(), torch.cdist(torch.tensor(a), torch.tensor(b), p=1).numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_cdist_vjp_against_finite_differences(p):
    a, b = _pair((2, 4, 3), (2, 5, 3), np.float64, 11, ties=False)
    check_vjp(lambda x, y: tg.cdist(x, y, p=p), tg.tensor(a), tg.tensor(b))


def test_cdist_grad_of_grad_matches_torch():
    """A gradient penalty through minibatch-discrimination-like features: || d/dx sum(w exp(-cdist)) ||^2.
    torch.cdist has no double backward ("the derivative for '_cdist_backward' is not
    implemented"): the torch side is the definition, |x1 - x2| summed."""
    a, b = _pair((3, 6, 4), (3, 5, 4), np.float64, 5, ties=False)
    w = np.random.default_rng(9).standard_normal((3, 6, 5))

    def penalty(lib, x1, x2):
        d = tg.cdist(x1, x2, p=1) if lib is tg else (x1[:, :, None] - x2[:, None]).abs().sum(-1)
        (gx,) = (tg.grad if lib is tg else torch.autograd.grad)(((-d).exp() * lib.tensor(w)).sum(), (x1,),
                                                                create_graph=True)
        return (gx * gx).sum() + (gx * x2[:, :1]).sum()     # also depends on x2 through the graph

    x1, x2 = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    penalty(tg, x1, x2).backward()
    penalty(torch, t1, t2).backward()
    np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: tg.cdist(tg.zeros(3), tg.zeros(2, 3)), "cdist only supports at least 2D tensors, X1 got: 1D"),
    (lambda: tg.cdist(tg.zeros(2, 4), tg.zeros(2, 3)), "X1 and X2 must have the same number of columns. X1: 4 X2: 3"),
    (lambda: tg.cdist(tg.zeros(2, 3), tg.zeros(2, 3), p=-1), "cdist only supports non-negative p values"),
    (lambda: tg.cdist(tg.zeros(2, 3, dtype=tg.int64), tg.zeros(2, 3, dtype=tg.int64)), "floating-point dtypes"),
    (lambda: tg.cdist(tg.zeros(2, 3), tg.zeros(2, 3, dtype=tg.float64)), "same dtype"),
    (lambda: tg.cdist(tg.zeros(2, 1, 3), tg.zeros(3, 1, 3)), "do not broadcast"),
])
def test_cdist_refuses_what_torch_refuses(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_cdist_compute_mode_is_checked():
    with pytest.raises(ValueError, match="x is not a valid value for compute_mode"):
        tg.cdist(tg.zeros(2, 3), tg.zeros(2, 3), compute_mode="x")
    x = tg.randn(4, 3, dtype=tg.float64)
    d = tg.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    np.testing.assert_allclose(d.numpy(), torch.cdist(torch.tensor(x.numpy()), torch.tensor(x.numpy())).numpy(),
                               atol=1e-12)


def test_minibatch_features_equal_their_composite_definition():
    """The layer's closeness through cdist's kernel equals the formula written out (float64)."""
    rng = np.random.default_rng(0)
    x, T = rng.standard_normal((7, 6)), rng.standard_normal((6, 4, 3)) / 3
    out = minibatch_features(tg.tensor(x), tg.tensor(T)).numpy()
    M = (x @ T.reshape(6, 12)).reshape(7, 4, 3)
    o = np.exp(-np.abs(M[:, None] - M[None]).sum(3)).sum(1)
    np.testing.assert_allclose(out, np.concatenate([x, o], 1), rtol=1e-12, atol=1e-12)
