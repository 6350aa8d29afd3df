"""PyTorch's everyday API on tinygan, against torch (oracle only): devices, accelerator queries,
cudnn flags, dtype names and casts, Tensor.type, from_numpy, flatten, view_as, comparison methods,
inference_mode, and max / min with a dim returning (values, indices)."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
from tinygan import nn
from tinygan.testing import check_vjp
from torch_parity import ELEMENTWISE, compare_with, dtype_name, same_error

torch = pytest.importorskip("torch")
compare = compare_with(ELEMENTWISE)


# ---- devices ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda", 0), ("cuda:0",), ("cpu", 0), ("cuda:3",)])
def test_device_matches_torch(args):
    ours, theirs = tg.device(*args), torch.device(*args)
    assert (ours.type, ours.index, str(ours), repr(ours)) == (theirs.type, theirs.index, str(theirs),
                                                              repr(theirs))
    assert tg.device(ours) is ours and tg.device(str(ours)) == ours
    assert pickle.loads(pickle.dumps(ours)) == ours and repr(pickle.loads(pickle.dumps(ours))) == repr(ours)


def test_device_from_an_index_is_that_cuda_device():
    """torch.device(0) is the accelerator's device 0 (torch raises without one; tinygan's is CUDA)."""
    assert repr(tg.device(0)) == repr(torch.device("cuda", 0))


@pytest.mark.parametrize("args", [("gpu",), ("cuda:x",), ("cuda", -1), ("cuda:0", 1), (3.0,), ("",)])
def test_bad_devices_raise_like_torch(args):
    same_error(lambda: tg.device(*args), lambda: torch.device(*args))


def test_device_objects_are_accepted_everywhere():
    cpu = tg.device("cpu")
    x = tg.tensor([1.0, 2.0], device=cpu)
    assert x.device == cpu and x.device.type == "cpu" and x.device.index is None and not x.is_cuda
    assert repr(x.device) == repr(torch.tensor([1.0]).device)
    for make in (tg.zeros, tg.ones, tg.randn, tg.rand):
        assert make(2, 3, device=cpu).device.type == "cpu"
    assert tg.full((2,), 1.0, device=cpu).device == "cpu"
    y = x.to(cpu)
    assert y is x
    z = x.to(cpu, tg.double)
    assert z.dtype == np.float64
    assert x.to(z).dtype == np.float64             # to(other): other's dtype and device
    assert x.to(cpu, copy=True) is not x
    m = nn.Linear(2, 1).to(cpu)
    assert all(p.device.type == "cpu" for p in m.parameters())
    assert m.to(tg.device("cpu"), tg.float64).weight.dtype == np.float64


def test_cuda_and_accelerator_queries_agree_with_cupy():
    try:
        import cupy
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 -- no CuPy / no driver: no device
        count = 0
    assert tg.cuda.device_count() == count
    assert tg.cuda.is_available() is (count > 0)
    assert tg.accelerator.is_available() is (count > 0)
    acc = tg.accelerator.current_accelerator()
    assert (acc is None) if count == 0 else (acc.type == "cuda")


def test_cudnn_flags_are_accepted_and_default_like_torch():
    for flag in ("benchmark", "deterministic", "enabled", "allow_tf32"):
        assert getattr(tg.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    before = tg.backends.cudnn.benchmark
    try:
        tg.backends.cudnn.benchmark = True
        tg.backends.cudnn.deterministic = True
        assert tg.backends.cudnn.benchmark is True
        assert "cudnn" not in tg.backends.names()           # not a kernel backend
        assert tg.backends.mps.is_available() is False
        assert (tg.ones(2) * 2).tolist() == [2.0, 2.0]
    finally:
        tg.backends.cudnn.benchmark, tg.backends.cudnn.deterministic = before, False


# ---- dtypes, casts, type() -------------------------------------------------------------------
NAMES = ("float", "double", "half", "long", "int", "bool", "short", "float32", "float64", "float16",
         "int64", "int32", "int16", "int8", "uint8")


@pytest.mark.parametrize("name", NAMES)
def test_dtype_names_match_torch(name):
    t = torch.zeros(2, dtype=getattr(torch, name))
    ours = tg.zeros(2, dtype=getattr(tg, name))
    assert ours.dtype.name == dtype_name(t)
    assert tg.tensor([1, 0]).to(getattr(tg, name)).dtype.name == dtype_name(t)
    assert ours.type() == t.type()


@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "bool"])
def test_cast_methods_match_torch(method):
    a = np.array([[-1.5, 0.0, 2.7], [3.0, -0.2, 1.0]])
    ours, theirs = getattr(tg.tensor(a), method)(), getattr(torch.tensor(a), method)()
    assert ours.dtype.name == dtype_name(theirs) and ours.type() == theirs.type()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cast_is_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tg.grad((x.double() ** 2).sum(), [x])
    assert g.dtype == np.float32 and g.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("target", ["torch.DoubleTensor", "torch.LongTensor", "torch.BoolTensor",
                                    "torch.FloatTensor", "float64", "int32"])
def test_type_with_argument_casts_like_torch(target):
    a = np.array([0.5, -2.0, 0.0])
    arg_t = getattr(torch, target) if not target.startswith("torch.") else target
    ours, theirs = tg.tensor(a).type(target), torch.tensor(a).type(arg_t)
    assert ours.type() == theirs.type()
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    same_error(lambda: tg.tensor(a).type("torch.NoSuchTensor"),
               lambda: torch.tensor(a).type("torch.NoSuchTensor"))


def test_from_numpy_shares_memory_like_torch():
    for dtype in (np.float32, np.float64, np.int64, np.int32, np.bool_, np.uint8):
        a = np.arange(6).reshape(2, 3).astype(dtype)
        ours, theirs = tg.from_numpy(a), torch.from_numpy(a)
        assert ours.dtype.name == dtype_name(theirs) and ours.shape == tuple(theirs.shape)
        a[0, 0] = 1
        assert ours.numpy()[0, 0] == theirs[0, 0].item() == 1          # writes show through
        with tg.no_grad():
            ours[1, 2] = 0
        assert a[1, 2] == 0
    same_error(lambda: tg.from_numpy([1.0, 2.0]), lambda: torch.from_numpy([1.0, 2.0]))
    same_error(lambda: tg.from_numpy(np.array(["a"])), lambda: torch.from_numpy(np.array(["a"])))


# ---- flatten, view_as, comparisons ----------------------------------------------------------------
@pytest.mark.parametrize("dims", [(0, -1), (1, 2), (1, -1), (2, 2), (-3, 1), (0, 0)])
def test_flatten_matches_torch(dims):
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    compare(lambda x: tg.flatten(x, *dims), lambda x: torch.flatten(x, *dims), [a])
    compare(lambda x: x.flatten(*dims), lambda x: x.flatten(*dims), [a.astype(np.float32)])


def test_flatten_bad_dims_raise():
    x = tg.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="flatten: start_dim 2 comes after end_dim 1"):
        tg.flatten(x, 2, 1)
    with pytest.raises(ValueError, match="flatten: axis 3 is out of range"):
        tg.flatten(x, 0, 3)
    assert tg.flatten(tg.tensor(1.0)).shape == tuple(torch.flatten(torch.tensor(1.0)).shape)


def test_view_as_matches_torch():
    a, b = np.arange(6.0).reshape(2, 3), np.zeros((3, 2))
    compare(lambda x, y: x.view_as(y), lambda x, y: x.view_as(y), [a, b], diff=[0])


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_and_functions_match_torch(name):
    a = np.array([[1.0, 2.0, np.nan], [0.0, -1.0, 2.0]])
    b = np.array([1.0, 0.0, np.nan])
    for other_t, other_tg in ((torch.tensor(b), tg.tensor(b)), (1.0, 1.0), (2, 2)):
        theirs = getattr(torch.tensor(a), name)(other_t)
        for ours in (getattr(tg.tensor(a), name)(other_tg), getattr(tg, name)(tg.tensor(a), other_tg)):
            assert ours.dtype.name == dtype_name(theirs)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- inference_mode ------------------------------------------------------------------------------
def test_inference_mode_like_torch():
    x = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not tg.is_grad_enabled() and not (x * 2).requires_grad
    assert tg.is_grad_enabled()
    with tg.inference_mode(False):
        assert (x * 2).requires_grad

    @tg.inference_mode()
    def called():
        return x * 2

    @tg.inference_mode
    def bare():
        return x * 2

    assert not called().requires_grad and not bare().requires_grad and tg.is_grad_enabled()


# ---- max / min with a dim ------------------------------------------------------------------------
def _arrays(dtype):
    if dtype == "bool":
        return hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    el = st.sampled_from([-1.0, 0.0, 0.5, 2.0, np.nan]) if dtype == "float64" else st.integers(-3, 3)
    return hnp.arrays(np.float64 if dtype == "float64" else np.int64,
                      hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=el)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_max_min_with_dim_return_values_and_indices_like_torch(op, dtype, data):
    """Ties and NaN on purpose: the index is the first extreme (NaN counts as one), as torch's."""
    a = data.draw(_arrays(dtype))
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    keep = data.draw(st.booleans())
    ours = getattr(tg.tensor(a), op)(dim, keep)
    theirs = getattr(torch.tensor(a), op)(dim, keep)
    values, indices = ours                                   # tuple-unpackable
    assert type(ours).__name__ == type(theirs).__name__ == op
    assert ours.values is values and ours.indices is indices
    assert values.dtype.name == dtype_name(theirs.values) and indices.dtype == np.int64
    np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
    fn = getattr(tg, op)(tg.tensor(a), dim=dim, keepdim=keep)
    np.testing.assert_array_equal(fn.indices.numpy(), theirs.indices.numpy())


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_with_dim_gradient_goes_to_the_index_like_torch(op):
    """torch's max(dim) sends the gradient to the returned index only (amax splits it among ties)."""
    a = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, -1.0, -1.0], [2.0, 1.0, 0.0, 2.0]])
    compare(lambda x: getattr(x, op)(1), lambda x: getattr(x, op)(1), [a])
    compare(lambda x: getattr(tg, op)(x, 0, keepdim=True), lambda x: getattr(torch, op)(x, 0, keepdim=True),
            [a.astype(np.float32)])
    compare(lambda x: getattr(x, "a" + op)(1), lambda x: getattr(x, "a" + op)(1), [a])
    rng = np.random.default_rng(1)
    check_vjp(lambda x: getattr(x, op)(-1).values, rng.standard_normal((3, 4)))


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_other_forms_like_torch(op):
    a, b = np.array([[1.0, -3.0], [2.0, 0.5]]), np.array([0.0, 1.0])
    compare(lambda x: getattr(x, op)(), lambda x: getattr(x, op)(), [a])                    # 0-d
    compare(lambda x, y: getattr(tg, op)(x, y), lambda x, y: getattr(torch, op)(x, y), [a, b])  # elementwise
    v, i = getattr(tg.tensor(2.5), op)(0)
    tv, ti = getattr(torch.tensor(2.5), op)(0)
    assert (v.item(), i.item(), v.shape, i.shape) == (tv.item(), ti.item(), tuple(tv.shape), tuple(ti.shape))
    for args in ((0,), (1,), (-1,)):
        same_error(lambda: getattr(tg.zeros(2, 0), op)(*args), lambda: getattr(torch.zeros(2, 0), op)(*args))
    same_error(lambda: getattr(tg.zeros(2, 3), op)((0, 1)), lambda: getattr(torch.zeros(2, 3), op)((0, 1)))
    assert getattr(tg.tensor(a), "a" + op)((0, 1)).item() == getattr(torch.tensor(a), "a" + op)((0, 1)).item()


def test_classifier_accuracy_idiom_runs_unchanged():
    """pytorch/examples' MNIST test loop: pred = output.argmax(...); _, pred = output.max(1);
    correct += pred.eq(target.view_as(pred)).sum().item()."""
    rng = np.random.default_rng(2)
    out, target = rng.standard_normal((8, 10)).astype(np.float32), rng.integers(0, 10, 8)
    counts = []
    for lib in (tg, torch):
        output, tgt = lib.tensor(out), lib.tensor(target)
        with lib.inference_mode():
            _, pred = output.max(1)
            pred2 = output.argmax(dim=1, keepdim=True)
            counts.append((pred.eq(tgt.view_as(pred)).sum().item(),
                           pred2.eq(tgt.view_as(pred2)).sum().item(), pred.type()))
    assert counts[0] == counts[1]


def test_another_gpu_index_is_refused_not_run_on_gpu_0():
    with pytest.raises(ValueError, match=r"cuda:1.*one GPU"):
        tg.zeros(2, device="cuda:1")
    with pytest.raises(ValueError, match=r"cuda:1.*one GPU"):
        tg.tensor([1.0]).to(tg.device("cuda", 1))
