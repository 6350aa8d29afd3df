"""The engine: topological backward, accumulation, no_grad, grad(), grad of grad, custom Functions."""
import numpy as np
import pytest

import tinygan as tg
from tinygan import ops
from tinygan.testing import check_vjp


def test_long_chain_does_not_recurse():
    x = tg.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_gradients_accumulate_and_zero():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_shared_subexpression_diamond():
    x = tg.tensor(np.array([0.3, -0.7]), requires_grad=True)
    a = x.exp()
    y = (a * a + a).sum()
    y.backward()
    e = np.exp(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * e * e + e)


def test_backward_twice_accumulates_again():
    x = tg.tensor([1.0, -2.0], requires_grad=True)
    y = (x ** 2).sum()
    y.backward()
    y.backward()   # the graph is kept (documented): same gradient added again
    np.testing.assert_allclose(x.grad.numpy(), [4.0, -8.0])


def test_add_does_not_alias_grads():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.data *= 5
    assert b.grad.item() == 1.0


def test_no_grad_records_nothing():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad
    with tg.no_grad():
        with tg.enable_grad():
            assert (x * 2).requires_grad

    @tg.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_backward_errors_are_clear():
    x = tg.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs; got an output of shape \(3, 4\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.randn(3).sum().backward()
    with pytest.raises(ValueError, match=r"gradient of shape \(2,\) for an output of shape \(3, 4\)"):
        (x * 2).backward(np.ones(2))


def test_grad_matches_backward_and_leaves_grad_alone():
    x = tg.tensor(np.array([0.5, -1.5]), requires_grad=True)
    w = tg.tensor(np.array([2.0, 3.0]), requires_grad=True)
    y = (x * w).tanh().sum()
    gx, gw = tg.grad(y, [x, w])
    assert x.grad is None and w.grad is None
    y.backward()
    np.testing.assert_allclose(gx.numpy(), x.grad.numpy())
    np.testing.assert_allclose(gw.numpy(), w.grad.numpy())


def test_grad_wrt_intermediate_and_unused():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    z = tg.tensor(np.array([1.0]), requires_grad=True)
    y = (h ** 2).sum()
    gh, gz = tg.grad(y, [h, z], allow_unused=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    assert gz is None
    with pytest.raises(RuntimeError, match="was not used"):
        tg.grad(y, [z])


def test_grad_with_grad_outputs_and_multiple_outputs():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = tg.grad([x * 2, x ** 2], [x], grad_outputs=[np.array([1.0, 1.0]), np.array([1.0, 0.0])])
    np.testing.assert_allclose(g.numpy(), [2 + 2, 2])


def test_grad_of_grad_scalar():
    x = tg.tensor(np.array(0.7), requires_grad=True)
    (g,) = tg.grad(x ** 3, [x], create_graph=True)
    (gg,) = tg.grad(g, [x], create_graph=True)
    (ggg,) = tg.grad(gg, [x])
    assert g.item() == pytest.approx(3 * 0.49)
    assert gg.item() == pytest.approx(6 * 0.7)
    assert ggg.item() == pytest.approx(6.0)


def test_backward_create_graph_gives_differentiable_grads():
    x = tg.tensor(np.array([0.3, -0.4]), requires_grad=True)
    x.tanh().sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = tg.grad(x.grad.sum(), [x])
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(gg.numpy(), -2 * t * (1 - t ** 2))


def _mlp_params(rng):
    return [rng.standard_normal((3, 8)) * 0.7, rng.standard_normal(8) * 0.1,
            rng.standard_normal((8, 1)) * 0.7, rng.standard_normal(1) * 0.1]


def _discriminator(x, w1, b1, w2, b2):
    return (ops.leaky_relu(x @ w1 + b1, 0.2).tanh() @ w2 + b2).sum()


def _gradient_penalty(x, *params):
    """(||grad_x D(x)|| - 1)^2 summed over a batch (WGAN-GP's penalty)."""
    x = x if x.requires_grad else x.detach().requires_grad_()
    (gx,) = tg.grad(_discriminator(x, *params), [x], create_graph=True)
    norms = ((gx * gx).sum(1) + 1e-12).sqrt()
    return ((norms - 1) ** 2).sum()


def test_gradient_penalty_second_order_matches_finite_differences():
    """d/dθ (||∇_x D(x)|| - 1)^2 by grad-of-grad equals central differences of the penalty."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((5, 3)))
    params = _mlp_params(rng)
    check_vjp(lambda *p: _gradient_penalty(x, *p), *params, rtol=1e-6)
    # and the same through backward(): gradients land in .grad of the parameters
    ps = [tg.tensor(p, requires_grad=True) for p in params]
    _gradient_penalty(x, *ps).backward()
    eps = 1e-6
    for k, p in enumerate(params):
        direction = rng.standard_normal(p.shape)
        plus = [tg.tensor(q + eps * direction if i == k else q) for i, q in enumerate(params)]
        minus = [tg.tensor(q - eps * direction if i == k else q) for i, q in enumerate(params)]
        numeric = (_gradient_penalty(x, *plus).item() - _gradient_penalty(x, *minus).item()) / (2 * eps)
        # b2 shifts D by a constant: it does not reach grad_x D, so it gets no gradient (None)
        auto = 0.0 if ps[k].grad is None else np.vdot(ps[k].grad.numpy(), direction)
        assert auto == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    assert ps[3].grad is None and ps[0].grad is not None


def test_custom_function_gradient_reversal():
    class GradReverse(tg.Function):
        forward = staticmethod(lambda ctx, x: x)
        vjp = staticmethod(lambda ctx, g: (-g,))

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (GradReverse.apply(x) * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-3.0, -3.0])


def test_mismatched_dtype_and_shapes_name_the_op():
    a = tg.zeros(3, 4)
    with pytest.raises(TypeError, match=r"add: dtypes differ \(\(3, 4\) float32 on cpu, \(3, 4\) float64"):
        a + tg.zeros(3, 4, dtype="float64")
    with pytest.raises(ValueError, match=r"mul: shapes \(3, 4\) and \(5,\) cannot be broadcast"):
        a * tg.zeros(5)
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) do not align"):
        a @ tg.zeros(5, 2)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(3, 4\)"):
        a.reshape(5, 2)
    with pytest.raises(ValueError, match=r"concatenate: shapes"):
        tg.cat([a, tg.zeros(3, 5)], 0)
