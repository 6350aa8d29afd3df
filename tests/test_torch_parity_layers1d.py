"""nn.Conv1d, nn.ConvTranspose1d (tinygan/nn/conv1d.py) and nn.Dropout1d / F.dropout1d against
torch: constructor defaults and attributes, parameter shapes, torch's init bounds, state_dict keys,
repr, and forward / gradients equal to torch's on copied weights (float64 and float32, numpy and
cpp backends); dropout1d's channel masks, scaling, VJP and errors."""
import math

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn.functional as TF
from tinygan import nn
from tinygan.testing import check_vjp

try:
    from torch_parity import BACKENDS, NN, compare_with, same_error
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, NN, compare_with, same_error

compare = compare_with(NN)

torch = pytest.importorskip("torch")
F = torch.nn.functional
DTYPES = [np.float64, np.float32]

CONV = [  # (class, args, kwargs, input shape)
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 6, 2), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}, (2, 4, 10)),
    ("Conv1d", (3, 4, 3), {"padding": "same", "dilation": 2, "bias": False}, (2, 3, 7)),
    ("Conv1d", (3, 4, 4), {"padding": "same"}, (1, 3, 8)),
    ("Conv1d", (3, 4, 3), {"padding": "valid"}, (3, 9)),                 # unbatched
    ("Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "reflect"}, (2, 2, 6)),
    ("Conv1d", (2, 3, 3), {"padding": 1, "padding_mode": "replicate"}, (2, 2, 6)),
    ("Conv1d", (2, 3, 4), {"padding": "same", "padding_mode": "circular"}, (2, 2, 6)),
    ("ConvTranspose1d", (3, 4, 3), {}, (2, 3, 5)),
    ("ConvTranspose1d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, (2, 4, 5)),
    ("ConvTranspose1d", (3, 2, 2), {"dilation": 2, "bias": False}, (3, 4)),   # unbatched
]


def _pair(name, args, kw, dtype):
    ours = getattr(nn, name)(*args, **kw, dtype=getattr(tg, np.dtype(dtype).name))
    theirs = getattr(torch.nn, name)(*args, **kw, dtype=getattr(torch, np.dtype(dtype).name))
    return ours, theirs


@pytest.mark.parametrize("name, args, kw, shape", CONV)
def test_conv_construction_follows_torch(name, args, kw, shape):
    ours, theirs = _pair(name, args, kw, np.float32)
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                 "groups", "padding_mode", "output_padding", "transposed"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (n, p), (nt, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == nt and p.shape == tuple(pt.shape) and p.dtype == np.float32 and p.requires_grad


@pytest.mark.parametrize("name", ["Conv1d", "ConvTranspose1d"])
def test_conv_init_uses_torchs_bounds(name):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in = weight.shape[1] * K."""
    m = getattr(nn, name)(16, 32, 5, generator=tg.Generator().manual_seed(0))
    bound = 1 / math.sqrt(m.weight.shape[1] * 5)
    for p in (m.weight.numpy(), m.bias.numpy()):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    w = m.weight.numpy()
    assert abs(w.mean()) < 0.05 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, kw, shape", CONV)
def test_conv_forward_and_gradients_match_torch(name, args, kw, shape, dtype, backend):
    """Weights copied into both modules; values and the gradients w.r.t. input, weight and bias
    (and grads of grads in float64) through the functional view of each module."""
    ours, theirs = _pair(name, args, kw, dtype)
    r = np.random.default_rng(len(str(kw)))
    arrays = [r.normal(size=shape), ours.weight.numpy()] + ([] if ours.bias is None else [ours.bias.numpy()])

    def run(module, x, w, b=None):
        module._parameters.update(weight=w, bias=b)    # the graph runs through w and b
        return module(x)

    def run_torch(x, w, b=None):
        del theirs.weight, theirs.bias
        theirs.weight, theirs.bias = w, b
        return theirs(x)

    with tg.set_backend(backend):
        compare(lambda *a: run(ours, *a), run_torch, arrays, dtype)


def test_conv_module_trains_and_output_size_follows_torch():
    ours = nn.ConvTranspose1d(3, 2, 3, stride=3, dtype=tg.float64)
    theirs = torch.nn.ConvTranspose1d(3, 2, 3, stride=3, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.numpy()))
        theirs.bias.copy_(torch.tensor(ours.bias.numpy()))
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    for size in (12, 13, 14):
        np.testing.assert_allclose(ours(tg.tensor(x), output_size=(size,)).numpy(),
                                   theirs(torch.tensor(x), output_size=(size,)).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="ConvTranspose1d: output_size 15"):
        ours(tg.tensor(x), output_size=[15])
    seq = nn.Sequential(nn.Conv1d(3, 4, 3), nn.ReLU(), nn.ConvTranspose1d(4, 3, 3))
    seq(tg.randn(2, 3, 8)).sum().backward()
    assert all(p.grad is not None for p in seq.parameters())


def test_conv_bad_arguments():
    with pytest.raises(ValueError, match="Conv1d: padding_mode"):
        nn.Conv1d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="kernel_size must be an int or a 1-tuple"):
        nn.Conv1d(2, 2, (3, 3))
    with pytest.raises(ValueError, match="ConvTranspose1d: Only \"zeros\""):
        nn.ConvTranspose1d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(3, 4, 3, groups=2)
    with pytest.raises(RuntimeError, match=r"Conv1d: Expected 2D \(unbatched\) or 3D"):
        nn.Conv1d(2, 2, 3)(tg.randn(1, 2, 3, 4))
    same_error(lambda: nn.Conv1d(2, 2, 3, stride=2, padding="same"),
               lambda: torch.nn.Conv1d(2, 2, 3, stride=2, padding="same"))


# ---- Dropout1d --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 50, 6), (300, 5)])
def test_dropout1d_drops_whole_channels(shape):
    x = np.random.default_rng(0).uniform(1, 2, shape)
    y = TF.dropout1d(tg.tensor(x), 0.3, generator=tg.Generator().manual_seed(1)).numpy()
    kept = y != 0
    assert (kept.all(axis=-1) | ~kept.any(axis=-1)).all()              # all or nothing per channel
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-15)
    assert abs(1 - kept[..., 0].mean() - 0.3) < 0.08


def test_dropout1d_gradient_is_the_same_masked_scale():
    x = np.random.default_rng(1).normal(size=(3, 8, 5))
    xt = tg.tensor(x, requires_grad=True)
    y = TF.dropout1d(xt, 0.5, generator=tg.Generator().manual_seed(2))
    (g,) = tg.grad(y, [xt], grad_outputs=tg.ones(*x.shape, dtype=tg.float64))
    mask = (y.numpy() != 0) * 2.0
    np.testing.assert_array_equal(g.numpy(), mask)
    check_vjp(lambda a: TF.dropout1d(a, 0.5, generator=tg.Generator().manual_seed(2)), x)


def test_dropout1d_identity_cases_and_module():
    x = tg.randn(2, 3, 4)
    assert TF.dropout1d(x, 0.4, training=False) is x and TF.dropout1d(x, 0.0) is x
    assert not TF.dropout1d(x, 1.0).numpy().any()
    m = nn.Dropout1d(0.25)
    assert repr(m) == repr(torch.nn.Dropout1d(0.25)) and m.p == 0.25 and m.state_dict() == {}
    m.eval()
    assert m(x) is x
    m.train()
    assert m(x).shape == x.shape


@pytest.mark.parametrize("shape, p", [((2, 3, 4, 5), 0.5), ((2,), 0.5), ((2, 3), 1.5), ((2, 3), -0.1)])
def test_dropout1d_errors_like_torch(shape, p):
    x = np.ones(shape)
    same_error(lambda: TF.dropout1d(tg.tensor(x), p), lambda: F.dropout1d(torch.tensor(x), p))
    with pytest.raises((ValueError, RuntimeError), match="^dropout1d: "):
        TF.dropout1d(tg.tensor(x), p)
    if not 0 <= p <= 1:
        same_error(lambda: nn.Dropout1d(p), lambda: torch.nn.Dropout1d(p))
