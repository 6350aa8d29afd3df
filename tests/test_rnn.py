"""nn.RNNCell / LSTMCell / GRUCell and nn.RNN / LSTM / GRU (tinygan/nn/rnn.py) against torch:
torch's weights copied in by name, outputs, final states and gradients (w.r.t. input, initial
state and every parameter) equal torch's in float64 and float32; state_dict keys and repr as
torch's; init bounds; VJPs against central differences; dropout; the bad-input errors."""
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.testing import check_vjp

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]
MODULES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
# (num_layers, bidirectional, batch_first, bias, with h0, unbatched)
CONFIGS = [(1, False, False, True, False, False), (2, False, False, True, True, False),
           (1, True, False, True, True, False), (2, True, True, True, True, False),
           (2, True, False, False, False, False), (1, False, True, False, True, False),
           (2, False, False, True, False, True), (2, True, False, True, True, True)]
IN, HID, L, N = 3, 4, 5, 2


def _pair(name, args, kw, dtype):
    ours = getattr(nn, name)(*args, **kw, dtype=getattr(tg, np.dtype(dtype).name))
    theirs = getattr(torch.nn, name)(*args, **kw, dtype=getattr(torch, np.dtype(dtype).name))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _flat(out):
    """output, h or (output, (h, c)) -> a flat list of tensors."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(ours, theirs, arrays, dtype):
    """Run both on the same arrays (None: omitted), compare every output, then the gradients of
    a random weighted sum of every output w.r.t. the arrays and every parameter."""
    rng = np.random.default_rng(1)
    tol = TOL[dtype]

    def build(make):
        return [None if a is None else tuple(make(x) for x in a) if isinstance(a, tuple) else make(a)
                for a in arrays]

    ta = build(lambda a: tg.tensor(a.astype(dtype), requires_grad=True))
    tt = build(lambda a: torch.tensor(a.astype(dtype), requires_grad=True))
    yo, yt = _flat(ours(*ta)), _flat(theirs(*tt))
    assert len(yo) == len(yt)
    loss_o, loss_t = 0, 0
    for a, b in zip(yo, yt):
        assert a.shape == tuple(b.shape) and a.dtype == dtype
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **tol)
        w = rng.standard_normal(a.shape).astype(dtype)
        loss_o = loss_o + (a * tg.tensor(w)).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_o.backward()
    loss_t.backward()
    leaves = [(o, t) for o, t in zip(_flat([x for x in ta if x is not None]),
                                     _flat([x for x in tt if x is not None]))]
    leaves += [(p, dict(theirs.named_parameters())[n]) for n, p in ours.named_parameters()]
    assert len(leaves) > len(list(ours.parameters()))
    for o, t in leaves:
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("name, kw", CELLS)
def test_cells_match_torch(name, kw, batched, with_hx, bias, dtype):
    ours, theirs = _pair(name, (IN, HID, bias), kw, dtype)
    rng = np.random.default_rng(0)
    lead = (N,) if batched else ()
    hx = None
    if with_hx:
        hx = rng.standard_normal(lead + (HID,))
        if name == "LSTMCell":
            hx = (hx, rng.standard_normal(lead + (HID,)))
    _compare(ours, theirs, [rng.standard_normal(lead + (IN,)), hx], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name, kw", MODULES)
def test_modules_match_torch(name, kw, config, dtype):
    layers, bidir, batch_first, bias, with_h0, unbatched = config
    kw = dict(kw, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias)
    ours, theirs = _pair(name, (IN, HID), kw, dtype)
    rng = np.random.default_rng(0)
    shape = (L, IN) if unbatched else (N, L, IN) if batch_first else (L, N, IN)
    h_shape = (layers * (2 if bidir else 1),) + (() if unbatched else (N,)) + (HID,)
    h0 = None
    if with_h0:
        h0 = rng.standard_normal(h_shape)
        if name == "LSTM":
            h0 = (h0, rng.standard_normal(h_shape))
    _compare(ours, theirs, [rng.standard_normal(shape), h0], dtype)


def test_positional_arguments_follow_torch():
    for args in [(3, 4, 2, "relu", False, True, 0.25, True), (3, 4, 2, "tanh")]:
        ours, theirs = nn.RNN(*args), torch.nn.RNN(*args)
        assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
        for attr in ("nonlinearity", "bias", "batch_first", "dropout", "bidirectional", "num_layers"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    for name in ("LSTM", "GRU"):
        args = (3, 4, 3, False, True, 0.5, True)
        ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    ours, theirs = nn.RNNCell(3, 4, False, "relu"), torch.nn.RNNCell(3, 4, False, "relu")
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"])
def test_parameters_keys_shapes_dtype_and_init_bounds(name):
    kw = {} if name.endswith("Cell") else {"num_layers": 2, "bidirectional": True}
    ours, theirs = getattr(nn, name)(5, 16, **kw), getattr(torch.nn, name)(5, 16, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    bound = 1 / math.sqrt(16)
    for (n, p), (nt, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == nt and p.shape == tuple(pt.shape) and p.dtype == np.float32 and p.requires_grad
        a = p.numpy()
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound
    g1, g2 = tg.random.Generator().manual_seed(3), tg.random.Generator().manual_seed(3)
    a = getattr(nn, name)(5, 16, **kw, generator=g1)
    b = getattr(nn, name)(5, 16, **kw, generator=g2)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_vjp_against_central_differences(name):
    m = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True, dtype=tg.float64)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    check_vjp(lambda x: m(x)[0], x)
    check_vjp(lambda x: m(x)[1][0] if name == "LSTM" else m(x)[1], x)


def test_grad_of_grad_matches_torch():
    ours, theirs = _pair("GRU", (2, 3), {"num_layers": 2}, np.float64)
    x = np.random.default_rng(0).standard_normal((3, 2, 2))
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (go,) = tg.autograd.grad(ours(xo)[0].sum(), [xo], create_graph=True)
    (gt,) = torch.autograd.grad(theirs(xt)[0].sum(), [xt], create_graph=True)
    np.testing.assert_allclose(go.numpy(), gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    (go * go).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), dict(theirs.named_parameters())[n].grad.numpy(),
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_between_layers_only_in_training(name):
    g = tg.random.Generator().manual_seed(0)
    m = getattr(nn, name)(3, 4, num_layers=2, dropout=0.5, generator=g)
    ref = getattr(nn, name)(3, 4, num_layers=2)
    ref.load_state_dict(m.state_dict())
    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32))
    m.eval()
    np.testing.assert_array_equal(m(x)[0].numpy(), ref(x)[0].numpy())
    m.train()
    assert not np.allclose(m(x)[0].numpy(), ref(x)[0].numpy())
    # only between layers: one layer with p = 1 is unaffected (torch warns about it, as we do)
    with pytest.warns(UserWarning, match="num_layers=1"):
        one = getattr(nn, name)(3, 4, dropout=1.0)
    ref1 = getattr(nn, name)(3, 4)
    ref1.load_state_dict(one.state_dict())
    np.testing.assert_array_equal(one(x)[0].numpy(), ref1(x)[0].numpy())


def test_bad_input_errors():
    x = tg.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"LSTM: expected input .*\(5, 2, 3\)"):
        nn.LSTM(4, 6)(x)
    with pytest.raises(ValueError, match=r"GRU: expected input"):
        nn.GRU(3, 6)(tg.randn(2, 5, 2, 3))
    with pytest.raises(RuntimeError, match=r"GRU: expected h_0 of shape \(2, 2, 6\), got \(1, 2, 6\)"):
        nn.GRU(3, 6, num_layers=2)(x, tg.zeros(1, 2, 6))
    with pytest.raises(RuntimeError, match=r"LSTM: expected c_0 of shape \(1, 2, 6\), got \(1, 3, 6\)"):
        nn.LSTM(3, 6)(x, (tg.zeros(1, 2, 6), tg.zeros(1, 3, 6)))
    with pytest.raises(RuntimeError, match=r"RNN: expected h_0 of shape \(2, 6\)"):
        nn.RNN(3, 6, bidirectional=True)(tg.randn(5, 3), tg.zeros(2, 1, 6))
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of shape \(N, 4\) or \(4,\), got \(2, 3\)"):
        nn.LSTMCell(4, 6)(tg.randn(2, 3))
    with pytest.raises(RuntimeError, match=r"GRUCell: expected hx of shape \(2, 6\), got \(6,\)"):
        nn.GRUCell(3, 6)(tg.randn(2, 3), tg.zeros(6))
    for cls in (nn.RNNCell, nn.RNN):
        with pytest.raises(ValueError, match=rf"{cls.__name__}: unknown nonlinearity 'gelu'"):
            cls(3, 4, nonlinearity="gelu")
    for p in (-0.1, 1.5, True):
        with pytest.raises(ValueError, match="GRU: dropout should be a number in"):
            nn.GRU(3, 4, num_layers=2, dropout=p)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
