"""Tensor construction, dtypes, indexing, printing, reproducibility, import hygiene."""
import subprocess
import sys

import numpy as np
import pytest

import tinygan as tg


def test_constructors_and_dtypes():
    assert tg.tensor([1.0, 2.0]).dtype == np.float32          # Python floats -> float32
    assert tg.tensor([1, 2]).dtype == np.int64
    assert tg.tensor(np.zeros(2)).dtype == np.float64          # arrays keep their dtype
    assert tg.tensor([1.0], dtype="float64").dtype == np.float64
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).numpy().sum() == 0
    assert tg.ones(4).numpy().sum() == 4
    assert tg.full((2, 2), 7.0).numpy().tolist() == [[7, 7], [7, 7]]
    assert tg.arange(4).tolist() == [0, 1, 2, 3] and tg.arange(0, 1, 0.5).dtype == np.float32
    x = tg.randn(3, 2, dtype="float64")
    assert tg.zeros_like(x).dtype == np.float64 and tg.ones_like(x).shape == (3, 2)
    assert 0 <= tg.rand(100).numpy().min() and tg.rand(100).numpy().max() < 1
    assert (tg.tensor([1, 2]) + 1.5).dtype == np.float32       # torch's promotion


def test_tensor_copies_but_Tensor_wraps():
    a = np.zeros(3, dtype=np.float32)
    t = tg.tensor(a)
    t.data[0] = 1
    assert a[0] == 0
    w = tg.Tensor(a)
    w.data[0] = 1
    assert a[0] == 1


def test_properties_and_conversion():
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.device == "cpu" and x.size() == (2, 3)
    assert x.size(1) == 3 and x.numel() == 6 and len(x) == 2
    assert x.T.shape == (3, 2) and x.T.numpy()[2, 1] == 5
    assert x[1, 2].item() == 5.0 and float(x.sum()) == 15.0
    assert isinstance(x.numpy(), np.ndarray)
    with pytest.raises(ValueError, match=r"only one-element tensors.*\(2, 3\)"):
        x.item()
    d = x.detach()
    assert d.data is x.data and not d.requires_grad
    with pytest.raises(TypeError, match="only floating tensors"):
        tg.tensor([1, 2]).requires_grad_()


def test_indexing_basic_advanced_boolean():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = tg.tensor(a)
    np.testing.assert_array_equal(x[1, :, ::2].numpy(), a[1, :, ::2])
    np.testing.assert_array_equal(x[..., [0, 0, 3]].numpy(), a[..., [0, 0, 3]])
    np.testing.assert_array_equal(x[a > 10].numpy(), a[a > 10])
    np.testing.assert_array_equal(x[tg.tensor([1, 0])].numpy(), a[[1, 0]])
    with pytest.raises(IndexError, match=r"getitem: .* shape \(2, 3, 4\)"):
        x[5]


def test_repr_is_readable():
    r = repr(tg.tensor([[1.0, 2.0]], requires_grad=True))
    assert r.startswith("tensor([[1., 2.]]") and "requires_grad=True" in r
    assert "dtype=float64" in repr(tg.tensor(np.ones(2)))
    assert "grad_fn=mul" in repr(tg.tensor([1.0], requires_grad=True) * 2)


def test_inplace_guards():
    p = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        p.fill_(1.0)
    with tg.no_grad():
        p.fill_(2.0)
        p[0] = 5.0
    assert p.numpy().tolist() == [5.0, 2.0, 2.0]


def test_same_seed_same_numbers():
    tg.manual_seed(123)
    a = tg.randn(5).numpy()
    tg.manual_seed(123)
    b = tg.randn(5).numpy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = tg.Generator(7), tg.Generator(7)
    np.testing.assert_array_equal(tg.rand(4, generator=g1).numpy(), tg.rand(4, generator=g2).numpy())
    state = g1.get_state()
    first = tg.randn(3, generator=g1).numpy()
    g1.set_state(state)
    np.testing.assert_array_equal(tg.randn(3, generator=g1).numpy(), first)
    import json
    json.dumps(state)  # JSON-safe, for checkpoints without pickle
    m1 = tg.ops.dropout(tg.ones(100), 0.5, generator=tg.Generator(1)).numpy()
    m2 = tg.ops.dropout(tg.ones(100), 0.5, generator=tg.Generator(1)).numpy()
    np.testing.assert_array_equal(m1, m2)
    assert set(np.unique(m1)) <= {0.0, 2.0} and 20 < (m1 > 0).sum() < 80


def test_dtype_conversion_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.numpy().tolist() == [3.0, 3.0]


def test_bce_with_logits_is_finite_and_its_gradient_is_sigmoid_minus_target():
    logits = tg.tensor(np.array([-1e4, -30.0, -1.0, 0.0, 2.0, 40.0, 1e4]), requires_grad=True)
    y = np.array([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.0])
    loss = tg.ops.binary_cross_entropy_with_logits(logits, y, reduction="sum")
    assert np.isfinite(loss.item())
    loss.backward()
    assert np.all(np.isfinite(logits.grad.numpy()))
    sig = 1 / (1 + np.exp(-np.clip(logits.numpy(), -700, 700)))
    np.testing.assert_allclose(logits.grad.numpy(), sig - y, rtol=1e-12, atol=1e-300)
    per = tg.ops.binary_cross_entropy_with_logits(logits, y, reduction="none").numpy()
    assert per[0] == pytest.approx(1e4) and per[-1] == pytest.approx(1e4)
    f32 = tg.tensor([-1e4, 1e4], requires_grad=True)
    l32 = tg.ops.binary_cross_entropy_with_logits(f32, [1.0, 0.0])
    l32.backward()
    assert np.isfinite(l32.item()) and np.all(np.isfinite(f32.grad.numpy()))


def test_import_is_lazy():
    """`import tinygan` must not pull in the heavy optional packages."""
    code = ("import sys, tinygan; heavy = [m for m in ('torch', 'numba', 'cupy', 'triton', "
            "'matplotlib', 'hypothesis', 'PIL') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_backend_registry_lists_numpy():
    from tinygan import backends
    info = backends.available()
    assert info["numpy"]["available"] and info["numpy"]["device"] == "cpu"
    with tg.set_backend("numpy"):
        assert backends.current("cpu") == "numpy"
    with pytest.raises(ValueError, match="unknown backend"):
        tg.set_backend("nonsense")


def test_methods_are_defined_in_the_class_body():
    """"Go to definition" on x.exp lands in tensor.py: every method is in Tensor's own namespace,
    a function of tinygan/tensor.py, and returns what the op of the same name returns."""
    for name in ("exp", "sum", "reshape", "__add__", "__getitem__", "where", "norm"):
        method = tg.Tensor.__dict__[name]
        assert method.__module__ == "tinygan.tensor" and method.__qualname__ == f"Tensor.{name}"
    x = tg.tensor([[1.0, -2.0], [3.0, -4.0]])
    assert np.array_equal(x.exp().numpy(), tg.ops.exp(x).numpy())
    assert np.array_equal(x.sum(dim=1).numpy(), tg.ops.sum(x, dim=1).numpy())


def test_where_method_follows_torch():
    """torch: x.where(condition, y) is where(condition, x, y)."""
    x, y = tg.tensor([1.0, -2.0, 3.0]), tg.tensor([10.0, 20.0, 30.0])
    assert x.where(x > 0, y).tolist() == [1.0, 20.0, 3.0]
    assert x.where(x > 0, 0.0).tolist() == [1.0, 0.0, 3.0]
