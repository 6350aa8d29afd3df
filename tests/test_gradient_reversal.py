"""Gradient reversal (tinygan.nn.GradientReversal): identity forward, VJP -lambda * identity,
differentiable again; PyTorch's usual custom-Function recipe as the oracle."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan as tg
from tinygan import nn
from tinygan.testing import arrays, check_vjp

LAMBDAS = [1.0, 0.37, 0.0, -2.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_is_the_identity(dtype):
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), dtype=dtype, requires_grad=True)
    y = nn.gradient_reversal(x, 0.5)
    assert y.dtype == x.dtype and y.shape == x.shape and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), x.numpy())


@pytest.mark.parametrize("lam", LAMBDAS)
def test_vjp_is_minus_lambda_times_the_cotangent(lam):
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    u = rng.standard_normal((2, 5))
    (g,) = tg.grad(nn.gradient_reversal(x, lam), [x], grad_outputs=tg.tensor(u))
    np.testing.assert_array_equal(g.numpy(), -lam * u)


def _as_its_vjp_claims(t, lam):
    """R(t) - (1 + lam) stop_grad(t): forward -lam * t, gradient only through R. Central
    differences of this forward are what R's VJP says its derivative is: -lam times the identity."""
    return nn.gradient_reversal(t, lam) - (1.0 + lam) * t.detach()


@settings(max_examples=15, deadline=None)
@given(data=st.data(), lam=st.sampled_from(LAMBDAS))
def test_check_vjp(data, lam):
    shape = data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple))
    x = data.draw(arrays(shape))
    check_vjp(lambda t: _as_its_vjp_claims(t, lam), x)
    # inside a nonlinear function too: the chain rule carries the reversal's -lam
    check_vjp(lambda t: _as_its_vjp_claims(t.tanh(), lam) * t, x)
    # lambda = -1 makes the layer a plain identity, whose VJP central differences see directly
    check_vjp(lambda t: nn.gradient_reversal(t.tanh(), -1.0) * t, x)


@pytest.mark.parametrize("lam", [1.0, 0.37, -2.0])
def test_grad_of_grad(lam):
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal(6), requires_grad=True)
    # g = d/dx sum R(x)^3 = -lam 3 R(x)^2 (R(x) = x, still on the graph);
    # d/dx sum g = -lam 6 R(x) * (-lam): the reversal acts again on the second pass
    (g,) = tg.grad((nn.gradient_reversal(x, lam) ** 3).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), -lam * 3 * x.numpy() ** 2, rtol=1e-14)
    (gg,) = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), lam * lam * 6 * x.numpy(), rtol=1e-14)
    # the VJP is linear in the cotangent u, u -> -lam u: its own VJP, against central differences
    x0 = rng.standard_normal(6)

    def vjp_of(u):
        xt = tg.tensor(x0, requires_grad=True)
        return tg.grad(nn.gradient_reversal(xt, lam), [xt], grad_outputs=u, create_graph=True)[0]
    check_vjp(vjp_of, rng.standard_normal(6))
    # and the gradient of a gradient through the claimed map (forward -lam t, as above)
    def grad_of(t):
        t = t if t.requires_grad else tg.tensor(t.numpy(), requires_grad=True)  # shifted copies
        return tg.grad((_as_its_vjp_claims(t, lam) ** 3).sum(), [t], create_graph=True)[0]
    check_vjp(grad_of, x0)


def test_module_schedule_and_state():
    layer = nn.GradientReversal()
    assert layer.lambda_ == 1.0 and "lambda_=1" in repr(layer)
    assert list(layer.state_dict()) == [] and list(layer.parameters()) == []
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    layer.lambda_ = 0.25                      # what a schedule does between steps
    (layer(x) * tg.tensor([3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-0.75, -1.0])


def test_matches_torch_custom_function_in_a_small_network():
    torch = pytest.importorskip("torch")

    class TorchGRL(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, lam):
            ctx.lam = lam
            return x.view_as(x)

        @staticmethod
        def backward(ctx, g):
            return -ctx.lam * g, None

    rng = np.random.default_rng(3)
    x, w1, w2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((5, 1))
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (x, w1, w2)]
        gs = [tg.tensor(a.astype(dtype), requires_grad=True) for a in (x, w1, w2)]
        (TorchGRL.apply(torch.tanh(ts[0] @ ts[1]), 0.6) @ ts[2]).square().sum().backward()
        (nn.gradient_reversal((gs[0] @ gs[1]).tanh(), 0.6) @ gs[2]).square().sum().backward()
        for t, g in zip(ts, gs):
            assert g.grad.dtype == dtype
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def test_bad_input_is_a_one_line_error():
    x = tg.zeros(2, 3)
    with pytest.raises(TypeError, match="gradient_reversal: lambda_ must be a real number, got str"):
        nn.gradient_reversal(x, "1")
    with pytest.raises(ValueError, match="lambda_ must be finite, got inf"):
        nn.GradientReversal(float("inf"))
    with pytest.raises(TypeError, match=r"gradient_reversal: expected a floating tensor, got dtype int64 \(shape \(2,\)\)"):
        nn.gradient_reversal(tg.tensor([1, 2]))
    with pytest.raises(TypeError, match="gradient_reversal: expected a Tensor, got ndarray"):
        nn.gradient_reversal(np.zeros(3))
