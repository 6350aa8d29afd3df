"""Bad arguments to the library: optimizers validate their hyper-parameters as torch.optim does
(NaN included, same messages); conv refuses integer operands, leaky_relu integer tensors."""
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn, optim
from tinygan.nn import functional as F

NAN = math.nan
CASES = [
    ("Adam", dict(lr=NAN)), ("Adam", dict(eps=NAN)), ("Adam", dict(betas=(0.5, NAN))),
    ("Adam", dict(betas=(1.5, 0.9))), ("Adam", dict(weight_decay=-1.0)), ("Adam", dict(lr=-1.0)),
    ("SGD", dict(lr=-1.0)), ("SGD", dict(lr=0.1, momentum=-1.0)), ("SGD", dict(lr=0.1, weight_decay=-1.0)),
    ("SGD", dict(lr=0.1, nesterov=True)),
    ("RMSprop", dict(lr=NAN)), ("RMSprop", dict(alpha=NAN)), ("RMSprop", dict(eps=-1.0)),
    ("RMSprop", dict(momentum=-1.0)),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_optimizer_arguments_rejected_with_torchs_message(name, kwargs):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as expected:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as got:
        getattr(optim, name)([nn.Parameter(tg.zeros(2))], **kwargs)
    assert str(got.value) == str(expected.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=NAN), "Invalid learning rate: nan"), (dict(lr=0.1, momentum=NAN), "Invalid momentum value: nan"),
    (dict(lr=0.1, weight_decay=NAN), "Invalid weight_decay value: nan")])
def test_sgd_rejects_nan_too(kwargs, message):
    """torch 2.13's SGD checks ``lr < 0``, which NaN passes (a run of NaN follows); tinygan checks
    ``not 0 <= lr`` as torch's Adam does, with the same message."""
    with pytest.raises(ValueError) as got:
        optim.SGD([nn.Parameter(tg.zeros(2))], **kwargs)
    assert str(got.value) == message


def test_a_nan_learning_rate_in_a_new_group_is_rejected():
    opt = optim.Adam([nn.Parameter(tg.zeros(2))], lr=1e-3)
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):
        opt.add_param_group({"params": [nn.Parameter(tg.zeros(1))], "lr": NAN})


@pytest.mark.parametrize("op", [F.conv2d, F.conv_transpose2d])
def test_conv_with_integer_and_float_operands_is_torchs_error(op):
    """torch: RuntimeError "expected scalar type Long but found Float"; here with op and shapes."""
    torch = pytest.importorskip("torch")
    x_int, w_flt = np.ones((1, 1, 4, 4), np.int64), np.ones((1, 1, 2, 2), np.float32)
    with pytest.raises(RuntimeError) as expected:
        getattr(torch.nn.functional, op.__name__)(torch.from_numpy(x_int), torch.from_numpy(w_flt))
    with pytest.raises(RuntimeError) as got:
        op(tg.tensor(x_int), tg.tensor(w_flt))
    message = str(got.value)
    assert str(expected.value) in message and op.__name__ in message and "(1, 1, 4, 4) int64" in message
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Long"):
        op(tg.tensor(np.ones((1, 1, 4, 4), np.float32)), tg.tensor(x_int[:, :, :2, :2]))
    with pytest.raises(RuntimeError, match="integer and bool tensors are not supported"):
        op(tg.tensor(x_int), tg.tensor(x_int[:, :, :2, :2]))
    assert op(tg.tensor(x_int.astype(np.float32)), tg.tensor(w_flt)).dtype == tg.float32


def test_relu_and_leaky_relu_on_integer_and_bool_tensors():
    torch = pytest.importorskip("torch")
    ints = np.array([-3, 0, 2])
    # relu keeps integers, as torch.relu does (same values, same integer dtype)
    assert F.relu(tg.tensor(ints)).numpy().tolist() == torch.relu(torch.from_numpy(ints)).tolist()
    assert F.relu(tg.tensor(ints)).dtype == np.int64
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        torch.relu(torch.tensor([True]))
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        F.relu(tg.tensor(np.array([True, False])))
    for values in (ints, np.array([True, False])):
        with pytest.raises(NotImplementedError, match="not implemented for"):
            torch.nn.functional.leaky_relu(torch.from_numpy(values))
        with pytest.raises(NotImplementedError, match=f"leaky_relu: not implemented for {values.dtype}"):
            F.leaky_relu(tg.tensor(values))
