"""tinygan.nn.utils.spectral_norm: sigma against NumPy's SVD, the layer against
torch.nn.utils.spectral_norm step for step (u, v, outputs, gradients), its VJP, and its state."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import tinygan as tg
from tinygan import nn
from tinygan.nn.spectral_norm import SpectralNorm
from tinygan.testing import check_vjp


def test_sigma_converges_to_the_largest_singular_value():
    """One power-iteration step per training forward: after many forwards u^T W v is sigma_max."""
    lin = nn.Linear(7, 5, dtype=np.float64)
    nn.utils.spectral_norm(lin)
    x = tg.tensor(np.ones((2, 7)))
    for _ in range(200):
        lin(x)
    W = lin.weight_orig.numpy()
    sigma = lin.weight_u.numpy() @ W @ lin.weight_v.numpy()
    np.testing.assert_allclose(sigma, np.linalg.svd(W, compute_uv=False)[0], rtol=1e-10)
    np.testing.assert_allclose(np.linalg.svd(lin.weight.numpy(), compute_uv=False)[0], 1.0, rtol=1e-10)


def _torch_twin(layer, make):
    t = make()
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.weight_orig.numpy()))
        t.bias.copy_(torch.tensor(layer.bias.numpy()))
    torch.nn.utils.spectral_norm(t)
    with torch.no_grad():           # the same initial singular-vector estimates
        t.weight_u.copy_(torch.tensor(layer.weight_u.numpy()))
        t.weight_v.copy_(torch.tensor(layer.weight_v.numpy()))
    return t


@pytest.mark.parametrize("kind", ["linear", "conv", "conv_transpose"])
def test_matches_torch_step_for_step(kind):
    make = {"linear": (lambda m: m.Linear(6, 4), (3, 6)),
            "conv": (lambda m: m.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
            "conv_transpose": (lambda m: m.ConvTranspose2d(3, 2, 4, stride=2, padding=1), (2, 3, 4, 4))}
    build, shape = make[kind]
    layer = nn.utils.spectral_norm(build(nn), generator=tg.Generator().manual_seed(1))
    twin = _torch_twin(layer, lambda: build(torch.nn))
    assert sorted(layer.state_dict()) == sorted(twin.state_dict())
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for step in range(3):                               # training: u, v move once per forward
        y = layer(tg.tensor(x, requires_grad=True))
        ty = twin(torch.tensor(x))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.weight_u.numpy(), twin.weight_u.numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer.weight_v.numpy(), twin.weight_v.numpy(), rtol=1e-4, atol=1e-6)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    np.testing.assert_allclose(layer.weight_orig.grad.numpy(), twin.weight_orig.grad.numpy(),
                               rtol=1e-3, atol=1e-5)
    layer.eval(), twin.eval()                           # eval: the stored u, v, unchanged
    u = layer.weight_u.numpy().copy()
    np.testing.assert_allclose(layer(tg.tensor(x)).numpy(), twin(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.weight_u.numpy(), u)


def test_vjp_holds_u_and_v_constant():
    """d(W / u^T W v) in float64 against central differences (u, v fixed, as in training)."""
    rng = np.random.default_rng(3)
    u, v = tg.tensor(rng.standard_normal(4)), tg.tensor(rng.standard_normal(6))
    fn = SpectralNorm()
    check_vjp(lambda W: fn.compute_weight(SimpleNamespace(weight_orig=W, weight_u=u, weight_v=v), False),
              tg.tensor(rng.standard_normal((4, 6))))


def test_state_dict_carries_u_and_remove_restores_a_parameter():
    a = nn.utils.spectral_norm(nn.Linear(5, 3))
    x = tg.tensor(np.random.default_rng(1).standard_normal((2, 5)).astype(np.float32))
    for _ in range(4):
        a(x)
    b = nn.utils.spectral_norm(nn.Linear(5, 3))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(a)
    expected = a(x).numpy()
    nn.utils.remove_spectral_norm(a)
    assert sorted(a.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(a(x).numpy(), expected, rtol=1e-6)


def test_forward_pre_hook_can_replace_the_input_and_be_removed():
    layer = nn.Identity()
    handle = layer.register_forward_pre_hook(lambda module, args: args[0] * 2)
    assert layer(tg.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    handle.remove()
    assert layer(tg.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
