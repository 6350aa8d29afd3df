"""tinygan.nn: Module bookkeeping, state_dict, layers against torch (oracle) from identical weights."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)
torch.manual_seed(0)


def to_torch_state(module):
    return {k: torch.tensor(v.numpy()) for k, v in module.state_dict().items()}


def load_from_torch(module, tmodule):
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})
    return module


def compare_forward_backward(module, tmodule, x, atol=1e-12, train=True, integer_input=False):
    """Same input, same cotangent: outputs, input gradients and parameter gradients agree."""
    module.train(train)
    tmodule.train(train)
    if integer_input:
        X, TX = tg.tensor(x), torch.tensor(x)
    else:
        X, TX = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = module(X), tmodule(TX)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=atol)
    u = RNG.standard_normal(y.shape)
    y.backward(tg.tensor(u))
    ty.backward(torch.tensor(u))
    if not integer_input:
        np.testing.assert_allclose(X.grad.numpy(), TX.grad.numpy(), rtol=1e-10, atol=atol)
    tparams = dict(tmodule.named_parameters())
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-10,
                                   atol=atol, err_msg=name)


# ----- Module bookkeeping ----------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(tg.ones(4))
        self.register_buffer("offset", tg.zeros(4))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale + self.offset


def test_registration_names_order_and_children():
    net = nn.Sequential(Block(), nn.Linear(4, 2))
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.scale", "0.fc.weight", "0.fc.bias", "1.weight", "1.bias"]
    assert [n for n, _ in net.named_buffers()] == ["0.offset"]
    assert [type(c).__name__ for c in net.children()] == ["Block", "Linear"]
    assert len(list(net.modules())) == 5                  # Sequential, Block, Linear, LeakyReLU, Linear
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert net[0].fc is net[0]._modules["fc"] and len(net) == 2
    assert isinstance(net[0:1], nn.Sequential) and len(net[0:1]) == 1


def test_shared_parameter_counted_once_and_reassignment():
    lin = nn.Linear(2, 2)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(net.parameters())) == 2
    tlin = torch.nn.Linear(2, 2)                         # state_dict lists it under both names, as torch
    assert list(net.state_dict()) == list(torch.nn.Sequential(tlin, torch.nn.ReLU(), tlin).state_dict())
    m = Block()
    m.scale = None                                        # a parameter slot can be emptied
    assert "scale" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="scale"):
        m.scale = tg.ones(4)                              # a plain Tensor is not a Parameter


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tg.ones(2))

    with pytest.raises(AttributeError, match="__init__"):
        Broken()


def test_train_eval_propagate_and_repr_lists_layers():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4),
                        nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Flatten(), nn.Linear(16, 1))
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    text = repr(net)
    for piece in ("Sequential(", "(0): Conv2d(1, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))",
                  "(1): BatchNorm2d(4, eps=1e-05, momentum=0.1", "(2): LeakyReLU(negative_slope=0.2)",
                  "(3): Dropout(p=0.3)", "(4): Flatten(", "(5): Linear(in_features=16, out_features=1, bias=True)"):
        assert piece in text, piece


def test_zero_grad_and_requires_grad():
    net = nn.Sequential(nn.Linear(3, 2))
    net(tg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_converts_parameters_and_float_buffers_only():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64


# ----- state dict ------------------------------------------------------------------------------------
def make_dcgan_d():
    return nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1, bias=False), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
                         nn.Conv2d(4, 1, 4, 1, 0), nn.Flatten())


def make_torch_dcgan_d():
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 4, 4, 2, 1, bias=False), T.BatchNorm2d(4), T.LeakyReLU(0.2),
                        T.Conv2d(4, 1, 4, 1, 0), T.Flatten())


def test_state_dict_keys_are_torchs_and_round_trip_exactly(tmp_path):
    net = make_dcgan_d()
    net(tg.randn(3, 1, 8, 8))                            # move the running statistics
    state = net.state_dict()
    assert list(state) == list(make_torch_dcgan_d().state_dict())
    assert all(isinstance(v, tg.Tensor) and not v.requires_grad for v in state.values())
    np.savez(tmp_path / "ck.npz", **state)               # an .npz checkpoint, no pickle
    loaded = dict(np.load(tmp_path / "ck.npz", allow_pickle=False))
    other = make_dcgan_d()
    other.load_state_dict(loaded)
    for k, v in other.state_dict().items():
        assert v.dtype == state[k].dtype and np.array_equal(v, state[k]), k
    x = tg.randn(2, 1, 8, 8)
    net.eval(), other.eval()
    assert np.array_equal(net(x).numpy(), other(x).numpy())
    state["0.weight"].data[...] = 7                      # it shares the parameters' arrays, as torch's
    assert np.all(net[0].weight.numpy() == 7)


def test_load_mismatched_shape_names_parameter_and_both_shapes_and_copies_nothing():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    bad = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5)).state_dict()
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    msg = str(info.value)
    assert "'1.weight'" in msg and "(5, 4)" in msg and "(2, 4)" in msg
    assert "'1.bias'" in msg and "(5,)" in msg and "(2,)" in msg
    for k, v in net.state_dict().items():                # the matching layer 0 was not copied either
        assert np.array_equal(v, before[k])


def test_missing_and_unexpected_keys():
    net = nn.Sequential(nn.Linear(3, 4))
    state = net.state_dict()
    state["extra"] = np.zeros(1)
    del state["0.bias"]
    with pytest.raises(RuntimeError, match=r"missing keys: '0.bias'[\s\S]*unexpected keys: 'extra'"):
        net.load_state_dict(state)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]


# ----- layers against torch --------------------------------------------------------------------------
def test_linear_matches_torch():
    t = torch.nn.Linear(5, 3).double()
    m = load_from_torch(nn.Linear(5, 3, dtype="float64"), t)
    compare_forward_backward(m, t, RNG.standard_normal((4, 2, 5)))
    t = torch.nn.Linear(5, 3, bias=False).double()
    m = load_from_torch(nn.Linear(5, 3, bias=False, dtype="float64"), t)
    compare_forward_backward(m, t, RNG.standard_normal((4, 5)))


@pytest.mark.parametrize("cfg", [dict(), dict(stride=2, padding=1), dict(padding=2, dilation=2),
                                 dict(groups=2, stride=(2, 1), bias=False), dict(padding="same")])
def test_conv2d_matches_torch(cfg):
    t = torch.nn.Conv2d(4, 6, 3, **cfg).double()
    m = load_from_torch(nn.Conv2d(4, 6, 3, dtype="float64", **cfg), t)
    compare_forward_backward(m, t, RNG.standard_normal((2, 4, 7, 6)))


@pytest.mark.parametrize("cfg", [dict(), dict(stride=2, padding=1), dict(stride=2, padding=1, output_padding=1),
                                 dict(groups=2, stride=2, bias=False), dict(dilation=2, padding=1)])
def test_conv_transpose2d_matches_torch(cfg):
    t = torch.nn.ConvTranspose2d(4, 6, 4, **cfg).double()
    m = load_from_torch(nn.ConvTranspose2d(4, 6, 4, dtype="float64", **cfg), t)
    compare_forward_backward(m, t, RNG.standard_normal((2, 4, 5, 5)))


def test_conv_transpose2d_output_size_picks_output_padding():
    m = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = tg.randn(1, 2, 4, 4)
    assert m(x).shape == (1, 2, 7, 7)
    assert m(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="output_size"):
        m(x, output_size=(10, 10))


def test_dcgan_blocks_match_torch_in_train_and_eval():
    T = torch.nn
    t = T.Sequential(T.ConvTranspose2d(3, 4, 4, 1, 0, bias=False), T.BatchNorm2d(4), T.ReLU(),
                     T.ConvTranspose2d(4, 1, 4, 2, 1), T.Tanh()).double()
    m = nn.Sequential(nn.ConvTranspose2d(3, 4, 4, 1, 0, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                      nn.ConvTranspose2d(4, 1, 4, 2, 1), nn.Tanh()).double()
    load_from_torch(m, t)
    z = RNG.standard_normal((5, 3, 1, 1))
    compare_forward_backward(m, t, z, train=True)
    for k, v in m.state_dict().items():                   # running statistics agree too
        np.testing.assert_allclose(v, t.state_dict()[k].numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    compare_forward_backward(m, t, z, train=False)
    d, td = make_dcgan_d().double(), make_torch_dcgan_d().double()
    load_from_torch(d, td)
    compare_forward_backward(d, td, RNG.standard_normal((3, 1, 8, 8)))


@pytest.mark.parametrize("name,args", [("ReLU", ()), ("LeakyReLU", (0.2,)), ("Tanh", ()),
                                       ("Sigmoid", ()), ("Identity", ()), ("Flatten", ()),
                                       ("Flatten", (0, 2)), ("Unflatten", (1, (2, 3)))])
def test_parameterless_layers_match_torch(name, args):
    shape = (4, 6, 5) if name == "Unflatten" else (4, 3, 2, 5)
    compare_forward_backward(getattr(nn, name)(*args), getattr(torch.nn, name)(*args),
                             RNG.standard_normal(shape))


def test_embedding_matches_torch_including_padding_idx():
    t = torch.nn.Embedding(6, 3, padding_idx=2).double()
    m = nn.Embedding(6, 3, padding_idx=2, dtype="float64")
    assert np.all(m.weight.numpy()[2] == 0)
    with torch.no_grad():
        t.weight[2] = 0.5                                 # a non-zero padding row still gets no gradient
    load_from_torch(m, t)
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    compare_forward_backward(m, t, idx, integer_input=True)
    assert np.all(m.weight.grad.numpy()[2] == 0)


def test_dropout_train_only_unless_always_on():
    x = tg.ones(2000)
    d = nn.Dropout(0.25, generator=tg.Generator(1))
    y = d(x).numpy()
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8 and np.allclose(y[kept], 1 / 0.75)
    d.eval()
    assert d(x) is x
    on = nn.Dropout(0.25, always_on=True, generator=tg.Generator(1)).eval()
    assert np.array_equal(on(x).numpy(), y)               # same generator seed, same mask, in eval mode
    assert "always_on=True" in repr(on)


# ----- initialisation --------------------------------------------------------------------------------
@pytest.mark.parametrize("make,tmake", [
    (lambda: nn.Linear(300, 200), lambda: torch.nn.Linear(300, 200)),
    (lambda: nn.Conv2d(16, 32, 5), lambda: torch.nn.Conv2d(16, 32, 5)),
    (lambda: nn.ConvTranspose2d(64, 16, 4, groups=2), lambda: torch.nn.ConvTranspose2d(64, 16, 4, groups=2)),
])
def test_default_init_has_torchs_bounds(make, tmake):
    tg.manual_seed(0)
    m, t = make(), tmake()
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(t.weight)
    bound = 1 / math.sqrt(fan_in)                          # kaiming_uniform_(a=sqrt 5) and the bias rule
    for p, tp in ((m.weight, t.weight), (m.bias, t.bias)):
        w = p.numpy()
        assert w.shape == tuple(tp.shape) and w.dtype == np.float32
        # n draws uniform on [-b, b]: P(max |w| < q b) = q^n, so q = 1e-6^(1/n) fails once in 10^6
        assert np.abs(w).max() <= bound and np.abs(w).max() > bound * 1e-6 ** (1 / w.size)
    w = m.weight.numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound   # uniform on [-b, b]


def test_init_functions_formulas_and_generator():
    w = nn.Parameter(tg.zeros(400, 300))
    for nonlin, param in (("relu", None), ("leaky_relu", 0.2), ("tanh", None), ("linear", None)):
        assert nn.init.calculate_gain(nonlin, param) == pytest.approx(torch.nn.init.calculate_gain(nonlin, param))
    with tg.no_grad():
        nn.init.kaiming_normal_(w, a=0.2, generator=tg.Generator(0))
        assert w.numpy().std() == pytest.approx(math.sqrt(2 / 1.04) / math.sqrt(300), rel=0.02)
        nn.init.xavier_uniform_(w, generator=tg.Generator(0))
        assert np.abs(w.numpy()).max() <= math.sqrt(6 / 700)
        first = w.numpy().copy()
        nn.init.xavier_uniform_(w, generator=tg.Generator(0))
        assert np.array_equal(first, w.numpy())          # same generator seed, same weights
        nn.init.normal_(w, 3.0, 0.5)
        assert w.numpy().mean() == pytest.approx(3.0, abs=0.01)
        nn.init.zeros_(w)
        assert not w.numpy().any()
        nn.init.ones_(w)
        assert np.all(w.numpy() == 1)


def test_dcgan_init():
    net = nn.Sequential(nn.ConvTranspose2d(100, 64, 4), nn.BatchNorm2d(64), nn.Conv2d(64, 128, 4),
                        nn.BatchNorm2d(128), nn.Linear(10, 10))
    linear_before = net[4].weight.numpy().copy()
    nn.init.dcgan_init_(net, generator=tg.Generator(0))
    for i in (0, 2):
        w = net[i].weight.numpy()
        assert abs(w.mean()) < 2e-3 and w.std() == pytest.approx(0.02, rel=0.05)
    gamma = np.concatenate([net[1].weight.numpy(), net[3].weight.numpy()])
    assert abs(gamma.mean() - 1) < 0.01 and gamma.std() == pytest.approx(0.02, rel=0.2)
    assert not net[1].bias.numpy().any() and not net[3].bias.numpy().any()
    assert np.array_equal(net[4].weight.numpy(), linear_before)
    nn.init.dcgan_init_(net, include_linear=True)
    assert net[4].weight.numpy().std() < 0.04 and not net[4].bias.numpy().any()


def test_parameter_is_a_tensor():
    p = nn.Parameter(tg.randn(2, 3))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:")
    assert not nn.Parameter(tg.randn(2), requires_grad=False).requires_grad
    json.dumps({k: v.tolist() for k, v in nn.Linear(2, 2).state_dict().items()})
