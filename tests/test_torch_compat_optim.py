"""AdamW, Adadelta and the learning-rate schedulers against torch.optim (torch: oracle)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn, optim
from tinygan.optim import lr_scheduler
from test_optim import run_pair

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True),
                                dict(lr=0.02, betas=(0.5, 0.99), maximize=True)])
def test_adamw_trajectory_equals_torch(kw):
    worst, _, opt = run_pair("AdamW", kw)
    assert worst < 1e-12, worst
    assert opt.param_groups[0]["weight_decay"] == kw.get("weight_decay", 1e-2)   # torch's default


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.5, rho=0.8, eps=1e-4), dict(weight_decay=0.1),
                                dict(lr=2.0, maximize=True)])
def test_adadelta_trajectory_equals_torch(kw):
    worst, _, opt = run_pair("Adadelta", kw)
    assert worst < 1e-12, worst
    assert sorted(opt.state_dict()["state"][0]) == ["acc_delta", "square_avg", "step"]


def test_adadelta_invalid_arguments_like_torch():
    p = [tg.zeros(2, requires_grad=True)]
    for kw, msg in [(dict(rho=1.5), "Invalid rho value: 1.5"), (dict(eps=-1.0), "Invalid epsilon"),
                    (dict(lr=float("nan")), "Invalid learning rate"),
                    (dict(weight_decay=-1), "Invalid weight_decay")]:
        with pytest.raises(ValueError, match=msg):
            optim.Adadelta(p, **kw)
        with pytest.raises(ValueError, match=msg):
            torch.optim.Adadelta([torch.zeros(2, requires_grad=True)], **kw)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7)),                   # past T_max: back up, as torch
    ("CosineAnnealingLR", dict(T_max=20, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e / (1 + e))),
]


def _pair(name, kw, lrs=(0.1, 0.02)):
    """(ours, theirs) schedulers over SGD optimizers with two parameter groups."""
    ours = optim.SGD([{"params": [tg.zeros(2, requires_grad=True)], "lr": lrs[0]},
                      {"params": [tg.zeros(3, requires_grad=True)], "lr": lrs[1]}], lr=1.0)
    theirs = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lrs[0]},
                              {"params": [torch.zeros(3, requires_grad=True)], "lr": lrs[1]}], lr=1.0)
    return getattr(lr_scheduler, name)(ours, **kw), getattr(torch.optim.lr_scheduler, name)(theirs, **kw)


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_rates_over_20_epochs_equal_torch(name, kw):
    ours, theirs = _pair(name, kw)
    assert ours.get_last_lr() == theirs.get_last_lr()
    for _ in range(20):
        ours.optimizer.step()
        theirs.optimizer.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()          # bit for bit
        assert [g["lr"] for g in ours.optimizer.param_groups] == theirs.get_last_lr()
        assert ours.last_epoch == theirs.last_epoch


@pytest.mark.parametrize("name,kw", SCHEDULERS[:6], ids=[n for n, _ in SCHEDULERS[:6]])
def test_scheduler_step_with_epoch_uses_the_closed_form_like_torch(name, kw):
    ours, theirs = _pair(name, kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (4, 9, 2, 15):
            ours.step(epoch)
            theirs.step(epoch)
            np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-15)


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_scheduler_state_dict_resumes_exactly(name, kw, tmp_path):
    def fresh():
        return _pair(name, kw)[0]

    straight = fresh()
    for _ in range(20):
        straight.step()
    first = fresh()
    for _ in range(8):
        first.step()
    tg.save({"opt": first.optimizer.state_dict(), "sched": first.state_dict()}, tmp_path / "s.pt")
    saved = tg.load(tmp_path / "s.pt")
    resumed = fresh()
    resumed.optimizer.load_state_dict(saved["opt"])
    resumed.load_state_dict(saved["sched"])
    for _ in range(12):
        resumed.step()
    assert resumed.get_last_lr() == straight.get_last_lr()
    assert resumed.last_epoch == straight.last_epoch == 20


def test_scheduler_arguments_like_torch():
    opt = optim.SGD([tg.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(nn.Linear(2, 2), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(opt, [math.exp, math.exp])
    sched = lr_scheduler.LambdaLR(opt, lambda e: 1.0)
    assert sched.state_dict()["lr_lambdas"] == [None]              # functions are not saved
