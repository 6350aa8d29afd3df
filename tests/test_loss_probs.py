"""cross_entropy with class-probability targets, and label smoothing with weight / ignore_index /
every reduction for class-index targets, against torch: values, gradients, grad of grad (float64),
float32 (tolerance in tests/torch_parity.py OPS), both CPU backends; plus nll_loss's weighted mean."""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import tinygan as tg
from tinygan import ops
from tinygan.testing import check_vjp
from torch_parity import BACKENDS, compare_with, OPS, torch
compare = compare_with(OPS)

F = torch.nn.functional


@st.composite
def logits_shapes(draw):
    c = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["unbatched", "batch", "spatial"]))
    if kind == "unbatched":
        return (c,)
    n = draw(st.integers(0, 3))
    extra = tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=2))) if kind == "spatial" else ()
    return (n, c) + extra


@settings(max_examples=40)
@given(data=st.data(), shape=logits_shapes())
def test_probability_targets_match_torch(data, shape):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    cdim = 0 if len(shape) == 1 else 1
    x = rng.standard_normal(shape) * 3
    y = rng.random(shape)
    if data.draw(st.booleans()):
        y = y / y.sum(cdim, keepdims=True)          # proper distributions, or any non-negative mass
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    eps = data.draw(st.sampled_from([0.0, 0.1, 0.5]))
    w = rng.random(shape[cdim]) + 0.5 if data.draw(st.booleans()) else None
    kw = dict(reduction=reduction, label_smoothing=eps)
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    wt = None if w is None else w.astype(dtype)
    compare(lambda a, b: ops.cross_entropy(a, b, weight=None if wt is None else tg.tensor(wt), **kw),
            lambda a, b: F.cross_entropy(a, b, weight=None if wt is None else torch.tensor(wt), **kw),
            [x, y], dtype=dtype, backend=data.draw(st.sampled_from(BACKENDS)))


@settings(max_examples=40)
@given(data=st.data(), shape=logits_shapes().filter(lambda s: len(s) > 1))
def test_label_smoothing_index_targets_match_torch(data, shape):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    c = shape[1]
    x = rng.standard_normal(shape) * 3
    t = rng.integers(0, c, size=(shape[0],) + shape[2:])
    t = np.where(rng.random(t.shape) < 0.3, -100, t) if data.draw(st.booleans()) else t
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    # an empty batch's "mean" is 0 / 0 = NaN in both; torch's second derivative there is NaN as
    # well, tinygan's the derivative of an empty sum, 0 (test_empty_batch_mean below)
    assume(not (reduction == "mean" and shape[0] == 0))
    eps = data.draw(st.sampled_from([0.0, 0.2, 1.0]))
    w = rng.random(c) + 0.5 if data.draw(st.booleans()) else None
    kw = dict(reduction=reduction, label_smoothing=eps)
    compare(lambda a, b: ops.cross_entropy(a, b, weight=w, **kw),
            lambda a, b: F.cross_entropy(a, b, weight=None if w is None else torch.tensor(w), **kw),
            [x, t], backend=data.draw(st.sampled_from(BACKENDS)))


def test_empty_batch_mean():
    x = tg.tensor(np.zeros((0, 3)), requires_grad=True)
    loss = ops.cross_entropy(x, np.zeros(0, dtype=np.int64), label_smoothing=0.1)
    ref = F.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64), label_smoothing=0.1)
    assert np.isnan(loss.item()) and np.isnan(ref.item())
    (g,) = tg.grad(loss, [x])
    assert g.shape == (0, 3)


def test_all_rows_ignored_gives_nan_as_torch():
    x = np.random.default_rng(0).standard_normal((2, 3))
    t = np.array([-100, -100])
    for kw in (dict(), dict(weight=np.array([1.0, 2.0, 3.0])), dict(label_smoothing=0.1)):
        ours = ops.cross_entropy(tg.tensor(x), t, **kw)
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        ref = F.cross_entropy(torch.tensor(x), torch.tensor(t), **tkw)
        assert np.isnan(ours.item()) and np.isnan(ref.item())


def test_nll_loss_weighted_mean_divides_by_weight_sum():
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((4, 3)), np.array([0, 2, -100, 1])
    w = np.array([1e-3, 2e-3, 5e-4])
    compare(lambda a: ops.nll_loss(ops.log_softmax(a, 1), t, weight=w),
            lambda a: F.nll_loss(torch.log_softmax(a, 1), torch.tensor(t), weight=torch.tensor(w)), [x])


def test_probability_target_check_vjp():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 4, 2)), rng.random((3, 4, 2))
    w = rng.random(4) + 0.5
    check_vjp(lambda a, b: ops.cross_entropy(a, b, weight=w, label_smoothing=0.2), x, y)
    check_vjp(lambda a: ops.cross_entropy(a, np.array([0, 3, -100]), weight=w, label_smoothing=0.3,
                                          reduction="sum"), x[:, :, 0])


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: ops.cross_entropy(x, tg.ones(2, 4)), ValueError, "shape"),
    (lambda x: ops.cross_entropy(x, tg.ones(2, 3), ignore_index=1), ValueError, "ignore_index"),
    (lambda x: ops.cross_entropy(x, tg.ones(2, 3, dtype=tg.float64)), TypeError, "dtype"),
    (lambda x: ops.cross_entropy(x, tg.ones(2, 3), weight=np.ones(2)), ValueError, "weight"),
    (lambda x: ops.cross_entropy(x, tg.ones(2, 3), label_smoothing=1.5), ValueError, "label_smoothing"),
])
def test_probability_target_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(tg.randn(2, 3))
