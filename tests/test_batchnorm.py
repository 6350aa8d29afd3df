"""Batch norm: the op, its kernels and the modules against torch (oracle); gradients by check_vjp."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import backends, nn
from tinygan.ops.norm import batch_norm
from tinygan.testing import check_vjp

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(1)
torch.manual_seed(1)

SHAPES = {"1d": (6, 3), "1d_seq": (4, 3, 5), "2d": (4, 3, 5, 6)}


def pair(kind, **kw):
    shape = SHAPES[kind]
    mod = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    tmod = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    m, t = mod(shape[1], **kw).double(), tmod(shape[1], **kw).double()
    if m.affine:
        with tg.no_grad():
            m.weight.copy_(RNG.standard_normal(shape[1]))
            m.bias.copy_(RNG.standard_normal(shape[1]))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, t, shape


def run_both(m, t, x, u):
    X, TX = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(X), t(TX)
    y.backward(tg.tensor(u))
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(X.grad.numpy(), TX.grad.numpy(), rtol=1e-10, atol=1e-12)
    if m.affine:
        np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m.bias.grad.numpy(), t.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    m.zero_grad()
    t.zero_grad()


def assert_same_state(m, t):
    ts = t.state_dict()
    for k, v in m.state_dict().items():
        np.testing.assert_allclose(v, ts[k].numpy(), rtol=1e-13, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("kind", list(SHAPES))
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
def test_train_then_eval_match_torch(kind, momentum):
    m, t, shape = pair(kind, momentum=momentum)
    for _ in range(3):                                    # training: batch statistics, running updates
        x = RNG.standard_normal(shape) * 2 + 0.5
        run_both(m, t, x, RNG.standard_normal(shape))
        assert_same_state(m, t)
    assert int(m.num_batches_tracked.item()) == 3
    m.eval(), t.eval()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    run_both(m, t, RNG.standard_normal(shape), RNG.standard_normal(shape))
    for k, v in m.state_dict().items():                   # eval leaves the running statistics alone
        assert np.array_equal(v, before[k]), k


@pytest.mark.parametrize("kw", [dict(affine=False), dict(track_running_stats=False),
                                dict(affine=False, track_running_stats=False)])
def test_options_match_torch(kw):
    m, t, shape = pair("2d", **kw)
    run_both(m, t, RNG.standard_normal(shape), RNG.standard_normal(shape))
    m.eval(), t.eval()                                    # without running stats eval uses the batch's
    run_both(m, t, RNG.standard_normal(shape), RNG.standard_normal(shape))
    assert_same_state(m, t)


def test_float32_matches_torch():
    m, t = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    x = (RNG.standard_normal((8, 3, 4, 4)) * 3 + 1).astype(np.float32)
    y = m(tg.tensor(x))
    assert y.dtype == np.float32 and m.running_var.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.running_var.numpy(), t.running_var.numpy(), rtol=1e-6)


def test_running_var_is_unbiased_and_normalisation_biased():
    x = RNG.standard_normal((5, 2))
    rm, rv = np.zeros(2), np.ones(2)
    y = batch_norm(tg.tensor(x), rm, rv, training=True, momentum=1.0, eps=0.0).numpy()
    np.testing.assert_allclose(rm, x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(rv, x.var(0, ddof=1), rtol=1e-14)
    np.testing.assert_allclose(y, (x - x.mean(0)) / x.std(0), rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_check_vjp_float64(kind, training):
    shape = SHAPES[kind]
    c = shape[1]
    rm, rv = RNG.standard_normal(c), RNG.uniform(0.5, 2, c)
    x = RNG.standard_normal(shape)
    w, b = RNG.standard_normal(c), RNG.standard_normal(c)
    check_vjp(lambda x, w, b: batch_norm(x, rm.copy(), rv.copy(), w, b, training=training), x, w, b,
              rng=0)
    check_vjp(lambda x: batch_norm(x, rm.copy(), rv.copy(), training=training), x, rng=1)


@pytest.mark.parametrize("training", [True, False])
def test_grad_of_grad_check_vjp(training):
    """The gradient itself, as a function of (x, weight, bias, cotangent u), has a correct VJP."""
    shape = SHAPES["2d"]
    rm, rv = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)

    def gradient(x, w, b, u):
        # finite differences call this with plain tensors: make them differentiable leaves
        x, w = (t if t.requires_grad else t.requires_grad_(True) for t in (x, w))
        y = batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)
        gx, gw = tg.grad(y, [x, w], grad_outputs=u, create_graph=True)
        return tg.cat([gx.reshape(-1), gw])

    args = [tg.tensor(a, requires_grad=True) for a in (RNG.standard_normal(shape), RNG.standard_normal(3),
                                                       RNG.standard_normal(3), RNG.standard_normal(shape))]
    check_vjp(gradient, *args, rng=2)
    # the composed (create_graph) gradient equals the fused first-order one
    x, w, b, u = args
    fused = tg.grad(batch_norm(x, rm.copy(), rv.copy(), w, b, training=training), [x, w], grad_outputs=u)
    np.testing.assert_allclose(gradient(x, w, b, u).numpy(),
                               np.concatenate([fused[0].numpy().ravel(), fused[1].numpy()]), rtol=1e-12,
                               atol=1e-13)


def test_gradient_penalty_matches_torch():
    """WGAN-GP style: d/d(w, x) of ||d out / dx||^2 through a train-mode BatchNorm."""
    x = RNG.standard_normal((4, 3, 3, 3))
    m, t, _ = pair("2d")
    X, TX = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    u = RNG.standard_normal(x.shape)
    (gx,) = tg.grad((m(X) * tg.tensor(u)).sum(), X, create_graph=True)
    (tgx,) = torch.autograd.grad((t(TX) * torch.tensor(u)).sum(), TX, create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(gx.numpy(), tgx.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(X.grad.numpy(), TX.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_first_order_uses_fused_kernel_and_create_graph_does_not(monkeypatch):
    asked = []
    real_get = backends.get

    def spy(kernel, *args, **kwargs):
        asked.append(kernel)
        return real_get(kernel, *args, **kwargs)

    monkeypatch.setattr(backends, "get", spy)
    bn = nn.BatchNorm1d(3).double()
    x = tg.randn(5, 3, dtype="float64", requires_grad=True)
    bn(x).sum().backward()
    assert asked == ["batchnorm_fwd", "batchnorm_bwd"]
    asked.clear()
    tg.grad((bn(x) ** 2).sum(), x, create_graph=True)
    assert asked == ["batchnorm_fwd"]


def test_kernels_are_registered_and_match_their_spec():
    fwd, bwd = backends.get("batchnorm_fwd"), backends.get("batchnorm_bwd")
    x, dy = RNG.standard_normal((6, 2, 3)), RNG.standard_normal((6, 2, 3))
    w, b = RNG.standard_normal(2), RNG.standard_normal(2)
    y, mean, invstd = fwd(x, w, b, None, None, True, 0.1, 1e-5)
    xhat = (x - x.mean((0, 2), keepdims=True)) / np.sqrt(x.var((0, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, xhat * w[:, None] + b[:, None], rtol=1e-12)
    dx, dw, db = bwd(dy, x, w, mean, invstd, True)
    mdy = dy.mean((0, 2), keepdims=True)
    mdyx = (dy * xhat).mean((0, 2), keepdims=True)
    np.testing.assert_allclose(dx, (invstd * w)[:, None] * (dy - mdy - xhat * mdyx), rtol=1e-12)
    np.testing.assert_allclose(dw, (dy * xhat).sum((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(db, dy.sum((0, 2)), rtol=1e-12)


def test_errors():
    bn = nn.BatchNorm2d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(tg.randn(1, 3, 1, 1))
    with pytest.raises(ValueError, match="expected 3 channels"):
        bn(tg.randn(2, 4, 2, 2))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        bn(tg.randn(2, 3))
    with pytest.raises(ValueError, match="eval mode"):
        batch_norm(tg.randn(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match="weight of shape"):
        batch_norm(tg.randn(2, 3), None, None, weight=tg.ones(4), training=True)
    bn.eval()
    assert bn(tg.randn(1, 3, 1, 1)).shape == (1, 3, 1, 1)     # eval needs no batch statistics
