"""Loss modules, Dropout2d, gradient clipping and DataParallel against torch.nn (torch: oracle)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.testing import check_vjp
from torch_parity import ELEMENTWISE, compare_with, same_error

torch = pytest.importorskip("torch")
compare = compare_with(ELEMENTWISE)
R = np.random.default_rng(0)


def _module_pair(name, **kw):
    """(ours, theirs): the same loss module class with the same keyword arguments; array
    arguments become tensors of each library."""
    ours = {k: tg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    theirs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return getattr(nn, name)(**ours), getattr(torch.nn, name)(**theirs)


PROBS = R.uniform(0.05, 0.95, (4, 3))
LOGITS = R.normal(size=(5, 4))
LABELS = np.array([0, 3, 1, 2, 3])
CASES = [
    ("L1Loss", {}, [R.normal(size=(4, 3)), R.normal(size=(4, 3))]),
    ("L1Loss", {"reduction": "sum"}, [R.normal(size=(4, 3)), R.normal(size=(4, 3))]),
    ("MSELoss", {}, [R.normal(size=(4, 3)), R.normal(size=(4, 3))]),
    ("MSELoss", {"reduction": "none"}, [R.normal(size=(4, 3)), R.normal(size=(4, 3))]),
    ("MSELoss", {"size_average": False}, [R.normal(size=(4, 3)), R.normal(size=(4, 3))]),
    ("BCELoss", {}, [PROBS, R.uniform(0, 1, (4, 3))]),
    ("BCELoss", {"weight": R.uniform(0.5, 2, (3,))}, [PROBS, R.uniform(0, 1, (4, 3))]),
    ("BCEWithLogitsLoss", {}, [R.normal(size=(4, 3)), R.uniform(0, 1, (4, 3))]),
    ("BCEWithLogitsLoss", {"pos_weight": R.uniform(0.5, 3, (3,)), "reduction": "sum"},
     [R.normal(size=(4, 3)), R.uniform(0, 1, (4, 3))]),
    ("CrossEntropyLoss", {}, [LOGITS, LABELS]),
    ("CrossEntropyLoss", {"weight": R.uniform(0.5, 2, (4,)), "ignore_index": 1,
                          "label_smoothing": 0.2}, [LOGITS, LABELS]),
    ("CrossEntropyLoss", {"reduction": "none"}, [LOGITS, LABELS]),
    ("NLLLoss", {}, [LOGITS, LABELS]),
    ("NLLLoss", {"weight": R.uniform(0.5, 2, (4,)), "ignore_index": 3, "reduction": "sum"},
     [LOGITS, LABELS]),
]


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kw,inputs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_modules_match_torch(name, kw, inputs, dtype):
    kw = {k: v.astype(dtype) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    ours, theirs = _module_pair(name, **kw)
    compare(ours, theirs, inputs, dtype=dtype, diff=[0], gradgrad=False)


def test_loss_module_weights_are_buffers_and_reduction_checked():
    w = np.array([1.0, 2.0, 3.0])
    ours, theirs = _module_pair("CrossEntropyLoss", weight=w)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours, theirs = _module_pair("BCEWithLogitsLoss", pos_weight=w)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["pos_weight"]
    same_error(lambda: nn.MSELoss(reduction="avg"), lambda: torch.nn.MSELoss(reduction="avg")(
        torch.zeros(1), torch.zeros(1)))


def test_dropout2d_zeroes_whole_channels_and_scales():
    x = tg.tensor(R.uniform(1, 2, (8, 16, 5, 5)), requires_grad=True)
    y = nn.Dropout2d(0.5, generator=tg.Generator(3))(x)
    kept = (y.data != 0).reshape(8, 16, -1)
    assert np.all(kept.all(-1) | ~kept.any(-1))                       # whole channels
    assert 0 < kept.all(-1).sum() < 8 * 16
    np.testing.assert_allclose(y.data[kept.reshape(y.shape)], 2 * x.data[kept.reshape(y.shape)])
    y.sum().backward()                                                 # VJP: the same mask
    np.testing.assert_array_equal(x.grad.data, 2.0 * kept.reshape(y.shape))
    m = nn.Dropout2d(0.3).eval()
    assert m(x) is x
    check_vjp(lambda t: nn.functional.dropout2d(t, 0.4, generator=tg.Generator(1)),
                         tg.tensor(R.normal(size=(2, 3, 2, 2))))
    with pytest.raises(ValueError, match="dropout2d.*shape"):
        nn.Dropout2d()(tg.zeros(2, 3))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    shapes = [(3, 4), (4,), (2, 2, 2)]
    grads = [R.normal(size=s) for s in shapes]
    ours = [tg.tensor(np.zeros(s), requires_grad=True) for s in shapes]
    theirs = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for a, b, g in zip(ours, theirs, grads):
        a.grad, b.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
    n_ours = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    n_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(n_ours, tg.Tensor) and n_ours.shape == ()
    np.testing.assert_allclose(n_ours.item(), n_theirs.item(), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_nonfinite_and_empty():
    p = tg.tensor(np.zeros(3), requires_grad=True)
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0           # no gradients: tensor(0.)
    p.grad = tg.tensor(np.array([1.0, np.inf, 0.0]))
    tp = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    tp.grad = torch.tensor([1.0, np.inf, 0.0], dtype=torch.float64)
    same_error(lambda: nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True),
               lambda: torch.nn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True))
    with np.errstate(invalid="ignore"):                                 # inf * 0, as torch
        assert math.isinf(nn.utils.clip_grad_norm_(p, 1.0).item())


def test_clip_grad_value_matches_torch():
    g = R.normal(size=(5, 3)) * 3
    p, tp = tg.tensor(np.zeros((5, 3)), requires_grad=True), torch.zeros(5, 3, dtype=torch.float64,
                                                                           requires_grad=True)
    p.grad, tp.grad = tg.tensor(g.copy()), torch.tensor(g.copy())
    assert nn.utils.clip_grad_value_([p], 1.5) is None
    torch.nn.utils.clip_grad_value_([tp], 1.5)
    np.testing.assert_array_equal(p.grad.data, tp.grad.numpy())


def test_data_parallel_is_a_pass_through_with_torchs_keys():
    model = nn.Linear(3, 2)
    dp = nn.DataParallel(model)
    x = tg.randn(4, 3)
    np.testing.assert_array_equal(dp(x).data, model(x).data)
    assert dp.module is model and nn.parallel.DataParallel is nn.DataParallel
    assert list(dp.state_dict()) == list(torch.nn.DataParallel(torch.nn.Linear(3, 2)).state_dict())
    assert len(list(dp.parameters())) == 2
