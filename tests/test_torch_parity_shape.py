"""F.linear, F.one_hot, F.pixel_shuffle / pixel_unshuffle, F.unfold / F.fold (tinygan.ops.matmul,
indexing, shuffle, fold) and nn.PixelShuffle / PixelUnshuffle / Unfold / Fold against torch:
values, dtypes, gradients and grads of grads in float64 and float32 on the numpy and cpp backends,
torch's errors; check_vjp in float64; the dottest <unfold(x), y> = <x, fold(y)> (fold is unfold's
adjoint, and each is the other's VJP). Tolerances: tests/torch_parity.py NN (rearrangements,
im2col) and ELEMENTWISE (linear's matmul)."""
import itertools

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn.functional as TF
from tinygan import linops, nn
from tinygan.testing import check_vjp, dottest

try:
    from torch_parity import BACKENDS, ELEMENTWISE, NN, compare_with, same_error
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, ELEMENTWISE, NN, compare_with, same_error

compare_nn = compare_with(NN)
compare_ew = compare_with(ELEMENTWISE)

torch = pytest.importorskip("torch")
F = torch.nn.functional
DTYPES = [np.float64, np.float32]
R = np.random.default_rng(0)


# ---- linear -----------------------------------------------------------------------------------
LINEAR = [  # (input shape, weight shape, bias shape or None)
    ((2, 3), (4, 3), (4,)), ((2, 3), (4, 3), None), ((5, 2, 3), (4, 3), (4,)), ((3,), (4, 3), (4,)),
    ((2, 3), (3,), None), ((3,), (3,), ()), ((2, 3), (4, 3), (1,)), ((2, 3), (4, 3), (2, 4)),
    ((0, 3), (4, 3), (4,)), ((2, 0), (4, 0), (4,)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ws, bs", LINEAR)
def test_linear_matches_torch(xs, ws, bs, dtype, backend):
    arrays = [R.normal(size=xs), R.normal(size=ws)] + ([] if bs is None else [R.normal(size=bs)])
    with tg.set_backend(backend):
        compare_ew(TF.linear, F.linear, arrays, dtype)


@pytest.mark.parametrize("xs, ws, bs", [c for c in LINEAR if 0 not in c[0] + c[1]])
def test_linear_check_vjp(xs, ws, bs):
    arrays = [R.normal(size=xs), R.normal(size=ws)] + ([] if bs is None else [R.normal(size=bs)])
    check_vjp(TF.linear, *arrays)


@pytest.mark.parametrize("xs, ws, bs", [((2, 3), (4, 5), None), ((2, 3), (4, 3), (5,)),
                                        ((), (4, 3), None), ((2, 3), (4, 3, 1), None),
                                        ((2, 3), (4, 3), (3, 4))])
def test_linear_errors_like_torch(xs, ws, bs):
    args = [np.ones(xs), np.ones(ws)] + ([] if bs is None else [np.ones(bs)])
    same_error(lambda: TF.linear(*map(tg.tensor, args)), lambda: F.linear(*map(torch.tensor, args)))
    with pytest.raises(RuntimeError, match="^linear: "):
        TF.linear(*map(tg.tensor, args))


def test_linear_module_agrees():
    m = nn.Linear(3, 4, dtype=tg.float64)
    x = tg.tensor(R.normal(size=(2, 3)))
    np.testing.assert_allclose(TF.linear(x, m.weight, m.bias).numpy(), m(x).numpy(), rtol=1e-14)


# ---- one_hot ----------------------------------------------------------------------------------
@pytest.mark.parametrize("values, num_classes", [
    ([0, 2, 1], -1), ([0, 2, 1], 5), ([[1, 0], [3, 3]], -1), (2, 3), (np.zeros((0,), int), 3),
    (np.zeros((2, 0), int), 4), ([0, 0], 1),
])
def test_one_hot_matches_torch(values, num_classes):
    x = np.asarray(values, dtype=np.int64)
    out = compare_ew(lambda t: TF.one_hot(t, num_classes), lambda t: F.one_hot(t, num_classes), [x])
    assert out.dtype == np.int64 and not out.requires_grad


@pytest.mark.parametrize("values, num_classes", [
    ([0, 2, -1], -1), ([0, 2, 3], 3), ([1], 0), ([1], -2), (np.zeros((0,), int), -1),
    (np.array([0.0, 2.0]), -1), (np.array([0, 2], np.int32), -1),
])
def test_one_hot_errors_like_torch(values, num_classes):
    x = np.asarray(values) if isinstance(values, np.ndarray) else np.asarray(values, dtype=np.int64)
    same_error(lambda: TF.one_hot(tg.tensor(x), num_classes), lambda: F.one_hot(torch.tensor(x), num_classes))
    with pytest.raises(RuntimeError, match="^one_hot: "):
        TF.one_hot(tg.tensor(x), num_classes)


# ---- pixel_shuffle / pixel_unshuffle ----------------------------------------------------------
SHUFFLE = [((2, 8, 3, 3), 2), ((4, 2, 2), 2), ((1, 2, 9, 2, 3), 3), ((0, 4, 2, 2), 2), ((2, 3, 2, 2), 1),
           ((1, 18, 1, 2), 3)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, r", SHUFFLE)
def test_pixel_shuffle_and_unshuffle_match_torch(shape, r, dtype, backend):
    x = R.normal(size=shape)
    grad = 0 not in shape      # torch's backward fails on an empty batch ("invalid gradient")
    with tg.set_backend(backend):
        y = compare_nn(lambda a: TF.pixel_shuffle(a, r), lambda a: F.pixel_shuffle(a, r), [x], dtype, grad=grad)
        if 0 in shape:         # torch's pixel_unshuffle returns an empty input unchanged: (0, 1, 4, 4)
            assert TF.pixel_unshuffle(tg.tensor(y.numpy()), r).shape == shape
            return
        compare_nn(lambda a: TF.pixel_unshuffle(a, r), lambda a: F.pixel_unshuffle(a, r), [y.numpy()], dtype)


@pytest.mark.parametrize("shape, r", [s for s in SHUFFLE if 0 not in s[0]])
def test_pixel_shuffle_check_vjp_and_adjoint(shape, r):
    """A permutation: its adjoint is its inverse, <shuffle(x), y> = <x, unshuffle(y)>."""
    x = R.normal(size=shape)
    check_vjp(lambda a: TF.pixel_shuffle(a, r), x)
    y = R.normal(size=TF.pixel_shuffle(tg.tensor(x), r).shape)
    check_vjp(lambda a: TF.pixel_unshuffle(a, r), y)
    lhs = np.vdot(TF.pixel_shuffle(tg.tensor(x), r).numpy(), y)
    rhs = np.vdot(x, TF.pixel_unshuffle(tg.tensor(y), r).numpy())
    assert abs(lhs - rhs) <= 1e-12 * (np.linalg.norm(x) * np.linalg.norm(y))


def test_pixel_shuffle_keeps_integer_dtypes():
    x = np.arange(2 * 8 * 2 * 2).reshape(2, 8, 2, 2)
    compare_nn(lambda a: TF.pixel_shuffle(a, 2), lambda a: F.pixel_shuffle(a, 2), [x])
    compare_nn(lambda a: TF.pixel_unshuffle(a, 2), lambda a: F.pixel_unshuffle(a, 2), [x])


@pytest.mark.parametrize("op, shape, r", [
    ("pixel_shuffle", (2, 3), 2), ("pixel_shuffle", (5, 2, 2), 2), ("pixel_shuffle", (4, 2, 2), 0),
    ("pixel_unshuffle", (4, 5, 2), 2), ("pixel_unshuffle", (4, 4, 5), 2), ("pixel_unshuffle", (4, 4, 4), -1),
])
def test_shuffle_errors_like_torch(op, shape, r):
    x = np.ones(shape)
    same_error(lambda: getattr(TF, op)(tg.tensor(x), r), lambda: getattr(F, op)(torch.tensor(x), r))
    with pytest.raises(RuntimeError, match=f"^{op}: "):
        getattr(TF, op)(tg.tensor(x), r)


# ---- unfold / fold ----------------------------------------------------------------------------
WINDOWS = [  # (kernel_size, dilation, padding, stride)
    (k, d, p, s) for k, d, p, s in itertools.product([2, (2, 3), 1], [1, (2, 1)], [0, 1, (0, 2)], [1, 2, (1, 3)])
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k, d, p, s", WINDOWS)
def test_unfold_and_fold_match_torch(k, d, p, s, backend):
    x = R.normal(size=(2, 3, 6, 7))
    dtype = DTYPES[hash((str(k), str(d), str(p), str(s))) % 2]
    with tg.set_backend(backend):
        cols = compare_nn(lambda a: TF.unfold(a, k, d, p, s), lambda a: F.unfold(a, k, d, p, s), [x], dtype)
        y = R.normal(size=cols.shape)
        compare_nn(lambda a: TF.fold(a, (6, 7), k, d, p, s), lambda a: F.fold(a, (6, 7), k, d, p, s), [y], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unfold_fold_unbatched_and_empty_batch(dtype):
    x = R.normal(size=(3, 5, 4))
    cols = compare_nn(lambda a: TF.unfold(a, 2, padding=1), lambda a: F.unfold(a, 2, padding=1), [x], dtype)
    assert cols.shape == (12, 30)
    compare_nn(lambda a: TF.fold(a, (5, 4), 2, padding=1), lambda a: F.fold(a, (5, 4), 2, padding=1),
               [R.normal(size=(12, 30))], dtype)
    compare_nn(lambda a: TF.unfold(a, 2), lambda a: F.unfold(a, 2), [np.zeros((0, 3, 4, 4))], dtype)


@pytest.mark.parametrize("k, d, p, s", WINDOWS[::5])
def test_fold_is_unfolds_adjoint(k, d, p, s):
    """<unfold(x), y> = <x, fold(y)> through the ops (and dottest on the linear operator)."""
    shape = (2, 3, 6, 7)
    dottest(linops.Im2col(shape, k, s, p, d), rng=1)
    x = R.normal(size=shape)
    cols = TF.unfold(tg.tensor(x), k, d, p, s)
    y = R.normal(size=cols.shape)
    lhs = np.vdot(cols.numpy(), y)
    rhs = np.vdot(x, TF.fold(tg.tensor(y), shape[2:], k, d, p, s).numpy())
    assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(x) * np.linalg.norm(y) * cols.shape[1]
    # each is the other's VJP
    xt = tg.tensor(x, requires_grad=True)
    (g,) = tg.grad(TF.unfold(xt, k, d, p, s), [xt], grad_outputs=tg.tensor(y))
    np.testing.assert_allclose(g.numpy(), TF.fold(tg.tensor(y), shape[2:], k, d, p, s).numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("k, d, p, s", WINDOWS[::7])
def test_unfold_fold_check_vjp(k, d, p, s):
    x = R.normal(size=(1, 2, 5, 6))
    check_vjp(lambda a: TF.unfold(a, k, d, p, s), x)
    cols = TF.unfold(tg.tensor(x), k, d, p, s)
    check_vjp(lambda a: TF.fold(a, (5, 6), k, d, p, s), R.normal(size=cols.shape))


@pytest.mark.parametrize("call", [
    lambda f, t: f.unfold(t(np.ones((1, 3, 4, 4))), 5),
    lambda f, t: f.unfold(t(np.ones((1, 3, 4, 4))), 0),
    lambda f, t: f.unfold(t(np.ones((1, 3, 4, 4))), (2, 2, 2)),
    lambda f, t: f.fold(t(np.ones((1, 5, 9))), (4, 4), 2),
    lambda f, t: f.fold(t(np.ones((1, 8, 10))), (4, 4), 2),
    lambda f, t: f.fold(t(np.ones((2, 8, 9, 1))), (4, 4), 2),
])
def test_unfold_fold_errors_like_torch(call):
    same_error(lambda: call(TF, tg.tensor), lambda: call(F, torch.tensor))
    with pytest.raises(RuntimeError, match="^(un)?fold: "):
        call(TF, tg.tensor)


def test_unfold_of_2d_input_is_refused():
    """torch's IndexError there is incidental (a dim lookup); tinygan names the rule."""
    with pytest.raises(RuntimeError, match=r"unfold: Input Error: Only 3D or 4D .* \(got 2D, shape \(2, 3\)\)"):
        TF.unfold(tg.tensor(np.ones((2, 3))), 2)


# ---- modules ----------------------------------------------------------------------------------
MODULES = [
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)), ("PixelShuffle", (3,), {}, (9, 2, 2)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
    ("Unfold", (2,), {}, (2, 3, 5, 5)),
    ("Unfold", ((2, 3),), {"dilation": 2, "padding": 1, "stride": (1, 2)}, (1, 2, 6, 7)),
    ("Fold", ((4, 5), 2), {}, (2, 12, 12)),
    ("Fold", ((6, 7),), {"kernel_size": (2, 3), "dilation": (2, 1), "padding": 1, "stride": 2}, (1, 12, 12)),
]


@pytest.mark.parametrize("name, args, kw, shape", MODULES)
def test_modules_match_torch(name, args, kw, shape):
    ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == [] and ours.state_dict() == {} == dict(theirs.state_dict())
    compare_nn(ours, theirs, [R.normal(size=shape)])
