"""tinygan.ops.activation_piecewise (F.hardtanh, relu6, threshold, hardshrink, softshrink,
tanhshrink, logsigmoid, glu, prelu) and their nn modules (with Softmax / LogSoftmax) against torch:
values, dtypes, gradients and grads of grads on Hypothesis shapes (0-d and empty included),
float64 and float32 (tolerances: tests/torch_parity.py ELEMENTWISE), numpy and cpp backends;
torch's one-sided conventions at the kinks; integer inputs; errors; check_vjp for every VJP."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
import tinygan.nn.functional as TF
from tinygan import nn
from tinygan.testing import check_vjp

try:
    from torch_parity import BACKENDS, ELEMENTWISE, compare_with, integer_input_like_torch, same_error
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, ELEMENTWISE, compare_with, integer_input_like_torch, same_error

compare = compare_with(ELEMENTWISE)

torch = pytest.importorskip("torch")
F = torch.nn.functional
DTYPES = [np.float64, np.float32]

# name: (tinygan function, torch function, value range, kinks to keep check_vjp away from)
ACTS = {
    "hardtanh": (TF.hardtanh, F.hardtanh, (-3, 3), (-1, 1)),
    "hardtanh_bounds": (lambda x: TF.hardtanh(x, -0.5, 2.0), lambda x: F.hardtanh(x, -0.5, 2.0),
                        (-3, 3), (-0.5, 2.0)),
    "hardtanh_flat": (lambda x: TF.hardtanh(x, 1.0, 1.0), lambda x: F.hardtanh(x, 1.0, 1.0),
                      (-3, 3), (1.0,)),
    "relu6": (TF.relu6, F.relu6, (-3, 9), (0, 6)),
    "threshold": (lambda x: TF.threshold(x, 1.0, -4.0), lambda x: F.threshold(x, 1.0, -4.0),
                  (-3, 3), (1.0,)),
    "hardshrink": (TF.hardshrink, F.hardshrink, (-3, 3), (-0.5, 0.5)),
    "hardshrink_1": (lambda x: TF.hardshrink(x, 1.0), lambda x: F.hardshrink(x, 1.0), (-3, 3), (-1, 1)),
    "hardshrink_negative": (lambda x: TF.hardshrink(x, -1.0), lambda x: F.hardshrink(x, -1.0),
                            (-3, 3), ()),
    "softshrink": (TF.softshrink, F.softshrink, (-3, 3), (-0.5, 0.5)),
    "softshrink_2": (lambda x: TF.softshrink(x, 2.0), lambda x: F.softshrink(x, 2.0), (-3, 3), (-2, 2)),
    "softshrink_0": (lambda x: TF.softshrink(x, 0.0), lambda x: F.softshrink(x, 0.0), (-3, 3), (0,)),
    "tanhshrink": (TF.tanhshrink, F.tanhshrink, (-20, 20), ()),
    "logsigmoid": (TF.logsigmoid, F.logsigmoid, (-40, 40), ()),
}


def _values(draw, shape, lo, hi, dtype):
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False))).astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ACTS))
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_activation_matches_torch(name, backend, data):
    """Hypothesis draws integers and halves often, so the kinks are hit: torch's one-sided
    gradients there are ours."""
    ours, theirs, (lo, hi), _ = ACTS[name]
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    with tg.set_backend(backend):
        compare(ours, theirs, [_values(data.draw, shape, lo, hi, dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_at_kinks_and_extremes(name, dtype):
    ours, theirs, _, _ = ACTS[name]
    x = np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 6.0, 1e-9, -1e-9, 50.0, -50.0,
                  800.0, -800.0])
    out = compare(ours, theirs, [x], dtype)
    assert out.dtype == np.dtype(dtype)
    with np.errstate(all="ignore"):
        ext = np.array([np.inf, -np.inf, np.nan, 1e300, -1e300])
        np.testing.assert_allclose(ours(tg.tensor(ext)).numpy(), theirs(torch.tensor(ext)).numpy(),
                                   rtol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTS))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_activation_check_vjp(name, data):
    ours, _, (lo, hi), kinks = ACTS[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    x = _values(data.draw, shape, lo, hi, np.float64)
    for k in kinks:
        x = np.where(np.abs(x - k) < 0.05, k + 0.3, x)
    check_vjp(ours, x)


INT_CASES = {
    "hardtanh": (lambda x: TF.hardtanh(x), lambda x: F.hardtanh(x)),
    "hardtanh_truncates": (lambda x: TF.hardtanh(x, -1.7, 2.9), lambda x: F.hardtanh(x, -1.7, 2.9)),
    "relu6": (TF.relu6, F.relu6),
    "threshold": (lambda x: TF.threshold(x, 1, 5), lambda x: F.threshold(x, 1, 5)),
    "threshold_truncates": (lambda x: TF.threshold(x, 0.5, 2.5), lambda x: F.threshold(x, 0.5, 2.5)),
    "tanhshrink": (TF.tanhshrink, F.tanhshrink),
    "hardshrink": (TF.hardshrink, F.hardshrink),
    "softshrink": (TF.softshrink, F.softshrink),
    "logsigmoid": (TF.logsigmoid, F.logsigmoid),
    "glu": (TF.glu, F.glu),
}


@pytest.mark.parametrize("int_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("name", sorted(INT_CASES))
def test_integer_inputs_like_torch(name, int_dtype):
    """hardtanh, relu6 and threshold keep the integer dtype (their bounds truncated toward zero,
    as torch's Scalar cast), tanhshrink gives float32, the others are floating-only."""
    ours, theirs = INT_CASES[name]
    x = np.array([-3, -2, -1, 0, 1, 2, 3, 7], dtype=int_dtype)
    integer_input_like_torch(ours, theirs, x)


@pytest.mark.parametrize("op", ["hardtanh", "relu6", "threshold", "tanhshrink"])
def test_bool_inputs_are_refused_like_torch(op):
    args = {"threshold": (0.5, 1.0)}.get(op, ())
    b = np.array([True, False])
    same_error(lambda: getattr(TF, op)(tg.tensor(b), *args), lambda: getattr(F, op)(torch.tensor(b), *args))


def test_bad_arguments_raise_torchs_errors():
    x = np.array([1.0, -1.0, 0.5])
    same_error(lambda: TF.hardtanh(tg.tensor(x), 2.0, 1.0), lambda: F.hardtanh(torch.tensor(x), 2.0, 1.0))
    same_error(lambda: TF.softshrink(tg.tensor(x), -1.0), lambda: F.softshrink(torch.tensor(x), -1.0))
    with pytest.raises(ValueError, match=r"hardtanh: min_val .*2\.0 > 1\.0"):
        TF.hardtanh(tg.tensor(x), 2.0, 1.0)
    with pytest.raises(RuntimeError, match="softshrink: lambda"):
        TF.softshrink(tg.tensor(x), -1.0)
    for lo, hi in [(2.0, 1.0), (1.0, 1.0)]:
        same_error(lambda: nn.Hardtanh(lo, hi), lambda: torch.nn.Hardtanh(lo, hi))
    with pytest.raises(AssertionError, match=r"Hardtanh: max_val \(1.0\)"):
        nn.Hardtanh(1.0, 1.0)


# ---- glu --------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_glu_matches_torch(backend, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = list(data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] *= 2                                     # even along dim (0 allowed)
    x = _values(data.draw, tuple(shape), -6, 6, dtype)
    with tg.set_backend(backend):
        compare(lambda a: TF.glu(a, dim), lambda a: F.glu(a, dim), [x])


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_glu_check_vjp(data):
    shape = list(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] *= 2
    check_vjp(lambda a: TF.glu(a, dim), _values(data.draw, tuple(shape), -4, 4, np.float64))


@pytest.mark.parametrize("shape, dim", [((3, 3), -1), ((2, 5), 1), ((), -1), ((4, 2), 2), ((4, 2), -3)])
def test_glu_errors_like_torch(shape, dim):
    x = np.ones(shape)
    same_error(lambda: TF.glu(tg.tensor(x), dim), lambda: F.glu(torch.tensor(x), dim))
    with pytest.raises((RuntimeError, IndexError), match="glu: .*"):
        TF.glu(tg.tensor(x), dim)


# ---- prelu ------------------------------------------------------------------------------------
def _prelu_case(draw):
    """(input shape, weight shape): one slope (shape (1,) or ()), or one per channel of dim 1."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    if len(shape) >= 2 and draw(st.booleans()):
        return shape, (shape[1],)
    return shape, draw(st.sampled_from([(1,), ()]))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_prelu_matches_torch(backend, data):
    """Gradients w.r.t. input and weight, grads of grads; x = 0 is drawn (slope w there, as torch)."""
    dtype = data.draw(st.sampled_from(DTYPES))
    shape, wshape = _prelu_case(data.draw)
    x = _values(data.draw, shape, -3, 3, dtype)
    w = _values(data.draw, wshape, -1, 1, dtype)
    with tg.set_backend(backend):
        compare(TF.prelu, F.prelu, [x, w])


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_prelu_check_vjp(data):
    shape, wshape = _prelu_case(data.draw)
    x = _values(data.draw, shape, -3, 3, np.float64)
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    check_vjp(TF.prelu, x, _values(data.draw, wshape, -1, 1, np.float64))


@pytest.mark.parametrize("xshape, w", [
    ((3,), [0.1, 0.2, 0.3]),            # 1-d input: channel size 1
    ((), [0.1, 0.2]),
    ((2, 3), [0.1, 0.2]),
    ((2, 3), [[0.1, 0.2, 0.3]]),        # 2-d weight
    ((2, 3, 4), [0.1, 0.2, 0.3]),
])
def test_prelu_errors_like_torch(xshape, w):
    x, w = np.ones(xshape), np.array(w)
    same_error(lambda: TF.prelu(tg.tensor(x), tg.tensor(w)), lambda: F.prelu(torch.tensor(x), torch.tensor(w)))


def test_prelu_refuses_mixed_dtypes_and_integers_like_torch():
    x, w = np.ones((2, 3)), np.array([0.25], dtype=np.float32)
    same_error(lambda: TF.prelu(tg.tensor(x), tg.tensor(w)), lambda: F.prelu(torch.tensor(x), torch.tensor(w)))
    with pytest.raises(RuntimeError, match="prelu: Type promoting"):
        TF.prelu(tg.tensor(x), tg.tensor(w))
    with pytest.raises(TypeError, match="prelu: expected a floating"):
        TF.prelu(tg.tensor(np.array([1, 2])), tg.tensor(np.array([1])))


# ---- modules ----------------------------------------------------------------------------------
MODULES = [
    (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh()),
    (lambda: nn.Hardtanh(-2.0, 0.5), lambda: torch.nn.Hardtanh(-2.0, 0.5)),
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.Threshold(0.1, 20.0), lambda: torch.nn.Threshold(0.1, 20.0)),
    (lambda: nn.Hardshrink(), lambda: torch.nn.Hardshrink()),
    (lambda: nn.Hardshrink(1.5), lambda: torch.nn.Hardshrink(1.5)),
    (lambda: nn.Softshrink(), lambda: torch.nn.Softshrink()),
    (lambda: nn.Softshrink(0.7), lambda: torch.nn.Softshrink(0.7)),
    (lambda: nn.Tanhshrink(), lambda: torch.nn.Tanhshrink()),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.GLU(), lambda: torch.nn.GLU()),
    (lambda: nn.GLU(dim=0), lambda: torch.nn.GLU(dim=0)),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.Softmax(-1), lambda: torch.nn.Softmax(-1)),
    (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
    (lambda: nn.Softmin(dim=2), lambda: torch.nn.Softmin(dim=2)),
]


@pytest.mark.parametrize("k", range(len(MODULES)))
def test_stateless_modules_match_torch(k):
    ours, theirs = MODULES[k][0](), MODULES[k][1]()
    x = np.random.default_rng(k).standard_normal((4, 4, 2)) * 4
    compare(ours, theirs, [x])
    assert type(ours).__name__ == type(theirs).__name__
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == [] and ours.state_dict() == {}


def test_module_attributes_follow_torch():
    for ours, theirs in [(nn.Hardtanh(), torch.nn.Hardtanh()), (nn.ReLU6(), torch.nn.ReLU6())]:
        assert (ours.min_val, ours.max_val) == (theirs.min_val, theirs.max_val)
    assert nn.Threshold(0.5, 2.0).threshold == 0.5 and nn.Threshold(0.5, 2.0).value == 2.0
    assert nn.Hardshrink().lambd == torch.nn.Hardshrink().lambd == 0.5
    assert nn.Softshrink(0.3).lambd == 0.3
    assert nn.GLU().dim == torch.nn.GLU().dim == -1
    assert nn.Softmax().dim is None and nn.LogSoftmax(1).dim == 1
    with pytest.warns(FutureWarning):
        assert nn.Hardtanh(min_value=-2.0).min_val == -2.0


@pytest.mark.parametrize("cls", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_modules_without_dim_take_torchs_legacy_dim(cls, ndim):
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = getattr(nn, cls)()(tg.tensor(x))
    with pytest.warns(UserWarning):
        ref = getattr(torch.nn, cls)()(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("num_parameters, init", [(1, 0.25), (3, 0.1), (3, -0.5)])
def test_prelu_module_parameters_and_forward_follow_torch(num_parameters, init):
    kw = {} if (num_parameters, init) == (1, 0.25) else dict(num_parameters=num_parameters, init=init)
    ours, theirs = nn.PReLU(**kw), torch.nn.PReLU(**kw)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (num_parameters,)
    assert ours.weight.dtype == np.float32 and ours.weight.requires_grad
    np.testing.assert_array_equal(ours.weight.numpy(), theirs.weight.detach().numpy())
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    w = np.random.default_rng(0).uniform(-1, 1, num_parameters).astype(np.float32)
    ours.weight.data[...] = w
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy())
    xt = tg.tensor(x)
    ours(xt).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    ours.weight.data[...] = 7.0
    ours.reset_parameters()
    np.testing.assert_array_equal(ours.weight.numpy(), np.full(num_parameters, init, np.float32))


def test_prelu_module_dtype_and_training():
    m = nn.PReLU(2, dtype=tg.float64)
    assert m.weight.dtype == np.float64
    with pytest.raises(TypeError, match="PReLU: weight must be floating"):
        nn.PReLU(dtype=tg.int64)
    seq = nn.Sequential(nn.Linear(3, 4), nn.PReLU(), nn.Linear(4, 2), nn.GLU())
    seq(tg.randn(5, 3)).sum().backward()
    assert seq[1].weight.grad is not None and seq[1].weight.grad.shape == (1,)
