"""nn.ParameterList / nn.ParameterDict (tinygan/nn/parameter_containers.py) against torch.nn's:
registration names and order (state_dict keys, named_parameters), list and dict operations,
Tensors wrapped into Parameters, gradients and optimiser steps reaching them, load_state_dict."""
from collections import OrderedDict

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn

torch = pytest.importorskip("torch")


def _arrays(*shapes):
    r = np.random.default_rng(0)
    return [r.normal(size=s).astype(np.float32) for s in shapes]


def _same_state(ours, theirs):
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st)
    for k in so:
        np.testing.assert_array_equal(so[k].numpy(), st[k].numpy())


def test_parameter_list_follows_torch():
    a, b, c, d = _arrays((3,), (2, 2), (4,), (1,))
    ours = nn.ParameterList([nn.Parameter(tg.tensor(a)), tg.tensor(b)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(a)), torch.tensor(b)])
    ours.append(tg.tensor(c))
    theirs.append(torch.tensor(c))
    ours += [tg.tensor(d)]
    theirs += [torch.tensor(d)]
    _same_state(ours, theirs)
    assert len(ours) == len(theirs) == 4
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours)
    assert ours[-1].shape == (1,) and ours[1].shape == (2, 2)
    sub = ours[1:3]
    assert isinstance(sub, nn.ParameterList) and list(sub.state_dict()) == ["0", "1"]
    assert sub[0] is ours[1]                         # slicing shares the Parameters
    ours[0] = tg.tensor(np.zeros(5, np.float32))
    theirs[0] = torch.zeros(5)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    with pytest.raises(IndexError, match="ParameterList: index 4"):
        ours[4]
    with pytest.raises(TypeError, match="ParameterList.append"):
        ours.append(3.0)


def test_parameter_dict_follows_torch():
    a, b, c = _arrays((3,), (2, 2), (4,))
    ours = nn.ParameterDict({"w": tg.tensor(a), "b": nn.Parameter(tg.tensor(b))})
    theirs = torch.nn.ParameterDict({"w": torch.tensor(a), "b": torch.nn.Parameter(torch.tensor(b))})
    ours.update([("c", tg.tensor(c))])
    theirs.update([("c", torch.tensor(c))])
    _same_state(ours, theirs)
    assert list(ours) == list(theirs) == ["b", "w", "c"]       # a plain dict: sorted, as torch
    assert list(ours.keys()) == list(theirs.keys()) and len(ours) == 3
    assert "w" in ours and "z" not in ours and ours.get("z") is None
    assert isinstance(ours["w"], nn.Parameter)
    ours["w"] = tg.tensor(np.ones(2, np.float32))
    theirs["w"] = torch.ones(2)
    _same_state(ours, theirs)                        # replacing keeps the key's place
    assert ours.pop("b").shape == tuple(theirs.pop("b").shape)
    del ours["c"]
    del theirs["c"]
    _same_state(ours, theirs)
    assert ours.setdefault("k", tg.tensor(c)).shape == (4,) and list(ours) == ["w", "k"]
    kept = nn.ParameterDict(OrderedDict([("z", tg.tensor(a)), ("y", tg.tensor(a))]))
    assert list(kept) == list(torch.nn.ParameterDict(OrderedDict([("z", torch.tensor(a)), ("y", torch.tensor(a))])))
    ours.clear()
    assert len(ours) == 0 and ours.state_dict() == {}
    with pytest.raises(TypeError, match="ParameterDict: keys must be strings"):
        ours[1] = tg.tensor(a)
    with pytest.raises(TypeError, match=r"ParameterDict\['x'\]"):
        ours["x"] = "not a tensor"


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scales = nn.ParameterList([tg.ones(3), tg.ones(3) * 2])
        self.shifts = nn.ParameterDict({"a": tg.zeros(3), "b": tg.ones(3)})

    def forward(self, x):
        for s in self.scales:
            x = x * s
        return x + self.shifts["a"] + self.shifts["b"]


class _TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scales = torch.nn.ParameterList([torch.ones(3), torch.ones(3) * 2])
        self.shifts = torch.nn.ParameterDict({"a": torch.zeros(3), "b": torch.ones(3)})

    def forward(self, x):
        for s in self.scales:
            x = x * s
        return x + self.shifts["a"] + self.shifts["b"]


def test_nested_containers_train_like_torch():
    ours, theirs = _Net(), _TorchNet()
    _same_state(ours, theirs)
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    opt = tg.optim.SGD(ours.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (ours(tg.tensor(x)) ** 2).mean().backward()
        opt.step()
        opt_t.zero_grad()
        (theirs(torch.tensor(x)) ** 2).mean().backward()
        opt_t.step()
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st) == ["scales.0", "scales.1", "shifts.a", "shifts.b"]
    for k in so:
        np.testing.assert_allclose(so[k].numpy(), st[k].numpy(), rtol=1e-6, atol=1e-7)
    fresh = _Net()
    fresh.load_state_dict({k: tg.tensor(v.numpy()) for k, v in so.items()})
    np.testing.assert_array_equal(fresh(tg.tensor(x)).numpy(), ours(tg.tensor(x)).numpy())
    assert "ParameterList(\n    (0): Parameter containing: [float32 of size 3]" in repr(ours)
