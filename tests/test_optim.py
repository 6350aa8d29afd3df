"""Optimizers: trajectories equal torch.optim's (oracle) from identical initialisation, in float64;
parameter groups; state_dict round trips that resume a run exactly."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn, optim
from tinygan.nn import functional as F

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(2)
X = RNG.standard_normal((16, 4))
Y = RNG.standard_normal((16, 2))


def models():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m, t


def tg_loss(m):
    return F.mse_loss(m(tg.tensor(X)), tg.tensor(Y))


def torch_loss(t):
    return torch.nn.functional.mse_loss(t(torch.tensor(X)), torch.tensor(Y))


def run_pair(name, kw, steps=20, groups=None):
    m, t = models()
    if groups is None:
        opt = getattr(optim, name)(m.parameters(), **kw)
        topt = getattr(torch.optim, name)(t.parameters(), **kw)
    else:
        opt = getattr(optim, name)(groups(m), **kw)
        topt = getattr(torch.optim, name)(groups(t), **kw)
    worst = 0.0
    for _ in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        tg_loss(m).backward()
        torch_loss(t).backward()
        opt.step()
        topt.step()
        for (name_, p), tp in zip(m.named_parameters(), t.parameters()):
            b = tp.detach().numpy()      # difference relative to the size of the values
            worst = max(worst, (np.abs(p.numpy() - b) / (1 + np.abs(b))).max())
    return worst, m, opt


ADAM = [dict(lr=0.01), dict(lr=0.02, betas=(0.5, 0.999)), dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.01, amsgrad=True), dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr=0.01, maximize=True, eps=1e-3)]
SGD = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True),
       dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.01), dict(lr=0.02, maximize=True)]
RMSPROP = [dict(lr=0.01), dict(lr=0.01, centered=True), dict(lr=0.01, momentum=0.9, weight_decay=0.01),
           dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5)]


@pytest.mark.parametrize("kw", ADAM)
def test_adam_trajectory_equals_torch(kw):
    worst, _, _ = run_pair("Adam", kw)
    assert worst < 1e-6, worst        # the contract; in practice the difference is ~1e-15
    assert worst < 1e-12, worst


@pytest.mark.parametrize("kw", SGD)
def test_sgd_trajectory_equals_torch(kw):
    worst, _, _ = run_pair("SGD", kw)
    assert worst < 1e-12, worst


@pytest.mark.parametrize("kw", RMSPROP)
def test_rmsprop_trajectory_equals_torch(kw):
    worst, _, _ = run_pair("RMSprop", kw)
    assert worst < 1e-12, worst


def test_parameter_groups_equal_torch():
    def groups(model):
        return [{"params": model[0].parameters(), "lr": 0.03, "betas": (0.5, 0.9)},
                {"params": model[2].parameters()}]
    worst, _, opt = run_pair("Adam", dict(lr=0.001), groups=groups)
    assert worst < 1e-12
    assert opt.param_groups[0]["lr"] == 0.03 and opt.param_groups[1]["lr"] == 0.001
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)


def plain(value):
    """Only plain values: numpy arrays, numbers, strings, bools, None and containers of them."""
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, (np.ndarray, int, float, str, bool))


def to_checkpoint(state):
    """Split a state dict into .npz-able arrays and JSON, then read it back (as a checkpoint does)."""
    arrays = {}

    def strip(v, path):
        if isinstance(v, np.ndarray):
            arrays[path] = v
            return {"__array__": path}
        if isinstance(v, dict):
            return {str(k): strip(x, f"{path}/{k}") for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [strip(x, f"{path}/{i}") for i, x in enumerate(v)]
        return v

    text = json.dumps(strip(state, "s"))

    def put(v):
        if isinstance(v, dict) and "__array__" in v:
            return arrays[v["__array__"]].copy()
        if isinstance(v, dict):
            return {k: put(x) for k, x in v.items()}
        if isinstance(v, list):
            return [put(x) for x in v]
        return v

    return put(json.loads(text))


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
def test_state_dict_resume_continues_exactly(name, kw):
    m, _ = models()
    opt = getattr(optim, name)(m.parameters(), **kw)

    def train(model, optimizer, steps):
        for _ in range(steps):
            optimizer.zero_grad()
            tg_loss(model).backward()
            optimizer.step()

    train(m, opt, 5)
    saved_model = {k: v.clone() for k, v in m.state_dict().items()}  # a snapshot, as torch needs too
    saved_opt = opt.state_dict()
    assert plain(saved_opt)
    checkpoint = to_checkpoint(saved_opt)                 # through JSON: int keys become strings
    train(m, opt, 5)
    m2, _ = models()
    m2[0].weight.data[...] = 0                            # a different starting point, then loaded
    m2.load_state_dict(saved_model)
    opt2 = getattr(optim, name)(m2.parameters(), lr=123.0)
    opt2.load_state_dict(checkpoint)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    train(m2, opt2, 5)
    for (k, a), b in zip(m.state_dict().items(), m2.state_dict().values()):
        assert np.array_equal(a, b), k
    if name != "SGD":
        assert opt.state_dict()["state"][0]["step"] == 10 == opt2.state_dict()["state"][0]["step"]


def test_state_dict_is_a_copy():
    m, _ = models()
    opt = optim.Adam(m.parameters())
    tg_loss(m).backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"][...] = 99
    assert not np.any(opt.state[m[0].weight]["exp_avg"] == 99)


def test_load_state_dict_mismatch_errors():
    m, _ = models()
    opt = optim.Adam(m.parameters())
    tg_loss(m).backward()
    opt.step()
    sd = opt.state_dict()
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    opt_other = optim.Adam(other.parameters())
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 2 has shape \(2, 8\), the parameter has shape \(3, 8\)"):
        opt_other.load_state_dict(sd)
    with pytest.raises(ValueError, match="the state has 1 parameter groups, this optimizer 2"):
        optim.Adam([{"params": m[0].parameters()}, {"params": m[2].parameters()}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 4 parameters"):
        optim.Adam(m[0].parameters()).load_state_dict(sd)


def test_step_details():
    w = nn.Parameter(tg.tensor([1.0, 2.0], dtype="float64"))
    unused = nn.Parameter(tg.tensor([5.0], dtype="float64"))
    opt = optim.SGD([w, unused], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 5.0
    assert w.tolist() == [0.0, 0.0] and unused.tolist() == [5.0]   # no grad, no update
    assert "lr: 0.5" in repr(opt)


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-1), "learning rate"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.SGD([], lr=0.1), "empty"),
    (lambda p: optim.SGD(p + p, lr=0.1), "more than one group"),
    (lambda p: optim.SGD([p[0] * 2], lr=0.1), "non-leaf"),
])
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(tg.ones(2))])


def test_float32_model_and_add_param_group():
    m = nn.Linear(3, 1)
    extra = nn.Parameter(tg.zeros(1))
    opt = optim.Adam(m.parameters(), lr=0.1)
    opt.add_param_group({"params": [extra], "lr": 0.5})
    x = tg.randn(8, 3)
    before = m.weight.numpy().copy()
    ((m(x) + extra - 10.0) ** 2).mean().backward()
    opt.step()
    assert m.weight.dtype == np.float32 and opt.state[m.weight]["exp_avg"].dtype == np.float32
    # Adam's first step moves every coordinate by its group's lr (up to eps), against the gradient
    np.testing.assert_allclose(np.abs(m.weight.numpy() - before), 0.1, rtol=1e-5)
    assert extra.item() == pytest.approx(0.5, rel=1e-5)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)),
                                     ("Adam", dict(lr=0.1, weight_decay=0.1)),
                                     ("RMSprop", dict(lr=0.1, momentum=0.5, centered=True))])
def test_zero_dimensional_parameters_match_torch(name, kw):
    """Scalars (the bilinear game's x and y) keep their state as arrays updated in place."""
    x, tx = nn.Parameter(tg.tensor(1.5, dtype="float64")), torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    opt, topt = getattr(optim, name)([x], **kw), getattr(torch.optim, name)([tx], **kw)
    for _ in range(10):
        opt.zero_grad(), topt.zero_grad()
        (x * x * x - 2 * x).backward()
        (tx * tx * tx - 2 * tx).backward()
        opt.step(), topt.step()
    assert x.data.shape == () and isinstance(x.data, np.ndarray)
    assert x.item() == pytest.approx(tx.item(), rel=1e-12, abs=1e-14)
