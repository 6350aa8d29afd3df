"""tinygan.linops as a specification: every operator's adjoint passes the dottest, its matrix is the
lecture's matrix (Ryu's lecture), its transpose is the transpose of that matrix, and its apply equals
torch's function of the same name.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygan
from tinygan import linops as L
from tinygan import testing

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TORCH_SETTINGS = settings(max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([np.float64, np.float32])
SEEDS = st.integers(0, 2**32 - 1)
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def dottest(A, dtype, rng):
    """<A x, y> = <x, A^T y> (tinygan.testing.dottest: error measured against
    ||A x|| ||y|| + ||x|| ||A^T y||, tolerance 1e-12 in float64 and 1e-5 in float32)."""
    testing.dottest(A, dtype, rng, rtol=TOL[dtype])


def check_adjoint_pair(A, dtype, rng):
    """The dottest for A and for A.T (a separately built operator), and (A.T).T is A."""
    dottest(A, dtype, rng)
    dottest(A.T, dtype, rng)
    assert A.T.T is A


# --------------------------------------------------------------------------------------------
# Strategies: valid conv configurations, 1-D and 2-D.
# --------------------------------------------------------------------------------------------
@dataclass
class ConvCase:
    x_shape: tuple
    w_shape: tuple
    kwargs: dict                 # stride, padding, dilation, groups as the user would pass them
    pads: tuple                  # the numeric padding per spatial axis


def _user(values: tuple, ndim: int):
    """1-D parameters as plain ints, 2-D as tuples: both forms are part of the API."""
    return values[0] if ndim == 1 else values


@st.composite
def conv_cases(draw, allow_same=True):
    ndim = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    same = (allow_same and stride == (1,) * ndim and all(e % 2 for e in span)
            and draw(st.booleans()))
    pads = tuple((e - 1) // 2 for e in span) if same else tuple(
        draw(st.integers(0, 3)) for _ in range(ndim))
    sizes = tuple(max(1, e - 2 * p) + draw(st.integers(0, 5)) for e, p in zip(span, pads))
    kwargs = dict(stride=_user(stride, ndim), padding="same" if same else _user(pads, ndim),
                  dilation=_user(dilation, ndim), groups=groups)
    return ConvCase((draw(st.integers(1, 2)), c_in) + sizes, (c_out, c_in // groups) + kernel,
                    kwargs, pads)


@st.composite
def conv_transpose_cases(draw):
    """A Conv case read backwards: input = the conv's output, weight (C_in, C_out/g, ...)."""
    case = draw(conv_cases(allow_same=False))
    ndim = len(case.x_shape) - 2
    strides = np.atleast_1d(case.kwargs["stride"])
    out_pad = tuple(draw(st.integers(0, s - 1)) for s in strides)
    conv = L.Conv(np.zeros(case.w_shape), case.x_shape, **case.kwargs)
    dilations = np.atleast_1d(case.kwargs["dilation"])
    spans = [d * (k - 1) + 1 for k, d in zip(case.w_shape[2:], dilations)]
    out = [(n - 1) * s - 2 * p + e + o for n, s, p, e, o in
           zip(conv.out_shape[2:], strides, case.pads, spans, out_pad)]
    assume(min(out) >= 1)
    kwargs = dict(case.kwargs, output_padding=_user(out_pad, ndim))
    return ConvCase(conv.out_shape, case.w_shape, kwargs, case.pads)


def _weights(case, dtype, rng):
    return rng.standard_normal(case.w_shape).astype(dtype)


# --------------------------------------------------------------------------------------------
# The lecture's matrices (Ryu's lecture), exactly, with distinct values standing for k1 k2 k3.
# --------------------------------------------------------------------------------------------
K1, K2, K3 = 2.0, 3.0, 5.0
KERNEL = np.array([K1, K2, K3]).reshape(1, 1, 3)


def test_lecture_stride1_padding1_is_tridiagonal():
    A = L.Conv(KERNEL, (1, 1, 7), stride=1, padding=1)
    expected = K1 * np.eye(7, k=-1) + K2 * np.eye(7) + K3 * np.eye(7, k=1)
    np.testing.assert_array_equal(A.to_dense(), expected)
    np.testing.assert_array_equal(A.T.to_dense(), expected.T)


def test_lecture_stride2_padding0_is_3_by_7():
    A = L.Conv(KERNEL, (1, 1, 7), stride=2, padding=0)
    expected = np.array([[K1, K2, K3, 0, 0, 0, 0],
                         [0, 0, K1, K2, K3, 0, 0],
                         [0, 0, 0, 0, K1, K2, K3]])
    np.testing.assert_array_equal(A.to_dense(), expected)
    np.testing.assert_array_equal(A.T.to_dense(), expected.T)
    assert isinstance(A.T, L.ConvTranspose)
    assert repr(A) == "Conv(in_shape=(1,1,7), out_shape=(1,1,3), stride=2, padding=0)"


def test_conv_transpose_matrix_is_conv_matrix_transposed():
    """conv_transpose1d(w, stride 2) built on its own has exactly the matrix A^T."""
    A = L.Conv(KERNEL, (1, 1, 7), stride=2, padding=0)
    B = L.ConvTranspose(KERNEL, (1, 1, 3), stride=2, padding=0)
    assert B.out_shape == (1, 1, 7)
    np.testing.assert_array_equal(B.to_dense(), A.to_dense().T)


# --------------------------------------------------------------------------------------------
# Dottests over drawn configurations.
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(case=conv_cases(), dtype=DTYPES, seed=SEEDS)
def test_conv_dottest(case, dtype, seed):
    rng = np.random.default_rng(seed)
    A = L.Conv(_weights(case, dtype, rng), case.x_shape, **case.kwargs)
    assert isinstance(A.T, L.ConvTranspose) and A.T.out_shape == A.in_shape
    check_adjoint_pair(A, dtype, rng)


@SETTINGS
@given(case=conv_transpose_cases(), dtype=DTYPES, seed=SEEDS)
def test_conv_transpose_dottest(case, dtype, seed):
    rng = np.random.default_rng(seed)
    B = L.ConvTranspose(_weights(case, dtype, rng), case.x_shape, **case.kwargs)
    assert isinstance(B.T, L.Conv) and B.T.out_shape == B.in_shape
    check_adjoint_pair(B, dtype, rng)


@SETTINGS
@given(case=conv_cases(), dtype=DTYPES, seed=SEEDS)
def test_conv_weight_map_dottest(case, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    M = L.ConvWeightMap(x, case.w_shape, **case.kwargs)
    check_adjoint_pair(M, dtype, rng)
    # Bilinearity: conv(x, w) is both Conv(w) x and ConvWeightMap(x) w.
    w = _weights(case, dtype, rng)
    np.testing.assert_allclose(M.apply(w), L.Conv(w, case.x_shape, **case.kwargs).apply(x),
                               rtol=1e-5, atol=1e-5)


@st.composite
def shapes(draw, min_dims=1, max_dims=4, max_side=4):
    return tuple(draw(st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims)))


@SETTINGS
@given(shape=shapes(), data=st.data(), dtype=DTYPES, seed=SEEDS)
def test_dilate_dottest(shape, data, dtype, seed):
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                              unique_by=lambda a: a % len(shape)))
    dilation = data.draw(st.lists(st.integers(1, 3), min_size=len(axes), max_size=len(axes)))
    A = L.Dilate(shape, dilation, axes)
    assert isinstance(A.T, L.UnDilate)
    check_adjoint_pair(A, dtype, np.random.default_rng(seed))
    check_adjoint_pair(L.UnDilate(A.out_shape, dilation, axes), dtype, np.random.default_rng(seed))


def test_dilate_pinned_example():
    A = L.Dilate((1, 3), 2, axes=-1)
    np.testing.assert_array_equal(A.apply(np.array([[1.0, 2.0, 3.0]])), [[1, 0, 2, 0, 3]])
    np.testing.assert_array_equal(A.T.apply(np.array([[1.0, 9, 2, 9, 3]])), [[1, 2, 3]])
    with pytest.raises(ValueError, match="UnDilate"):
        L.UnDilate((1, 4), 2, axes=-1)


@SETTINGS
@given(shape=shapes(), data=st.data(), dtype=DTYPES, seed=SEEDS)
def test_pad_crop_dottest(shape, data, dtype, seed):
    widths = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape)
    A = L.Pad(shape, widths)
    assert isinstance(A.T, L.Crop) and A.T.out_shape == shape
    check_adjoint_pair(A, dtype, np.random.default_rng(seed))


@st.composite
def image_shapes(draw, ndim=None):
    ndim = draw(st.sampled_from([1, 2])) if ndim is None else ndim
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + tuple(
        draw(st.integers(1, 6)) for _ in range(ndim))


@st.composite
def window_cases(draw, ndim=2, pool=False):
    """(x_shape, kernel, stride, padding, dilation) with at least one window position."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = (1,) * ndim if pool else tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    padding = tuple(draw(st.integers(0, k // 2 if pool else 2)) for k in kernel)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    sizes = tuple(max(1, e - 2 * p) + draw(st.integers(0, 4)) for e, p in zip(span, padding))
    x_shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + sizes
    return x_shape, kernel, stride, padding, dilation


@SETTINGS
@given(case=window_cases(), dtype=DTYPES, seed=SEEDS)
def test_im2col_dottest(case, dtype, seed):
    x_shape, kernel, stride, padding, dilation = case
    A = L.Im2col(x_shape, kernel, stride, padding, dilation)
    assert isinstance(A.T, L.Col2im) and A.T.out_shape == x_shape
    check_adjoint_pair(A, dtype, np.random.default_rng(seed))


@SETTINGS
@given(shape=image_shapes(), data=st.data(), dtype=DTYPES, seed=SEEDS)
def test_upsample_dottest(shape, data, dtype, seed):
    factors = tuple(data.draw(st.integers(1, 3)) for _ in shape[2:])
    check_adjoint_pair(L.Upsample(shape, _user(factors, len(factors))), dtype,
                       np.random.default_rng(seed))


@SETTINGS
@given(ndim=st.sampled_from([1, 2]), data=st.data(), include_pad=st.booleans(), dtype=DTYPES,
       seed=SEEDS)
def test_avg_pool_dottest(ndim, data, include_pad, dtype, seed):
    x_shape, kernel, stride, padding, _ = data.draw(window_cases(ndim, pool=True))
    A = L.AvgPool(x_shape, _user(kernel, ndim), _user(stride, ndim), _user(padding, ndim),
                  count_include_pad=include_pad)
    check_adjoint_pair(A, dtype, np.random.default_rng(seed))


@SETTINGS
@given(lead=shapes(0, 2), n=st.integers(1, 5), m=st.integers(1, 5), dtype=DTYPES, seed=SEEDS)
def test_dense_dottest(lead, n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    A = L.Dense(rng.standard_normal((m, n)).astype(dtype), lead + (n,))
    check_adjoint_pair(A, dtype, rng)


# --------------------------------------------------------------------------------------------
# Compositions: (A @ B) x = A (B x), (A @ B)^T = B^T A^T.
# --------------------------------------------------------------------------------------------
@SETTINGS
@given(case=conv_cases(allow_same=False), dtype=DTYPES, seed=SEEDS)
def test_pad_then_conv_is_padded_conv(case, dtype, seed):
    """Conv(padding=p) = Conv(padding=0) @ Pad(p): padding is a separate linear operator."""
    rng = np.random.default_rng(seed)
    w = _weights(case, dtype, rng)
    ndim = len(case.pads)
    pad = L.Pad(case.x_shape, ((0, 0), (0, 0)) + tuple((p, p) for p in case.pads))
    unpadded = dict(case.kwargs, padding=_user((0,) * ndim, ndim))
    composed = L.Conv(w, pad.out_shape, **unpadded) @ pad
    check_adjoint_pair(composed, dtype, rng)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    expected = L.Conv(w, case.x_shape, **case.kwargs).apply(x)
    np.testing.assert_allclose(composed.apply(x), expected, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(case=conv_cases(), factor=st.integers(1, 3), dtype=DTYPES, seed=SEEDS)
def test_upsample_then_conv_dottest(case, factor, dtype, seed):
    rng = np.random.default_rng(seed)
    up = L.Upsample(case.x_shape, factor)
    conv = L.Conv(_weights(case, dtype, rng), up.out_shape, **case.kwargs)
    check_adjoint_pair(conv @ up, dtype, rng)


@SETTINGS
@given(case=conv_cases(), dtype=DTYPES, seed=SEEDS)
def test_conv_after_its_transpose_dottest(case, dtype, seed):
    rng = np.random.default_rng(seed)
    A = L.Conv(_weights(case, dtype, rng), case.x_shape, **case.kwargs)
    check_adjoint_pair(A @ A.T, dtype, rng)
    check_adjoint_pair(A.T @ A, dtype, rng)


def _small_int_conv(rng, x_shape=(2, 2, 5, 4), w_shape=(3, 2, 2, 3), **kwargs):
    """Integer-valued weights: the dense products below are then exact in float64."""
    return L.Conv(rng.integers(-3, 4, w_shape).astype(np.float64), x_shape, **kwargs)


def test_composition_transpose_is_reversed_product():
    rng = np.random.default_rng(0)
    pad = L.Pad((2, 2, 5, 4), ((0, 0), (0, 0), (1, 0), (2, 1)))
    A = _small_int_conv(rng, pad.out_shape, stride=(2, 1), dilation=(1, 2))
    up = L.Upsample(A.out_shape, (2, 1))
    chain = up @ A @ pad
    assert chain.T.T is chain
    np.testing.assert_array_equal(chain.T.to_dense(), chain.to_dense().T)
    np.testing.assert_array_equal(chain.T.to_dense(),
                                  pad.T.to_dense() @ A.T.to_dense() @ up.T.to_dense())
    np.testing.assert_array_equal(chain.to_dense(),
                                  up.to_dense() @ A.to_dense() @ pad.to_dense())
    normal = A.T @ A  # A^T A is symmetric
    np.testing.assert_array_equal(normal.to_dense(), normal.to_dense().T)


def test_sum_scale_identity():
    rng = np.random.default_rng(1)
    A = _small_int_conv(rng, padding="same", w_shape=(2, 2, 3, 3))
    I = L.Identity(A.in_shape)
    B = 2.0 * A - I
    np.testing.assert_array_equal(B.to_dense(), 2 * A.to_dense() - np.eye(A.shape[0]))
    np.testing.assert_array_equal(B.T.to_dense(), B.to_dense().T)
    check_adjoint_pair(B, np.float64, rng)


def _brute_force_dense(A):
    """Column j = A e_j, one basis vector at a time (what to_dense batches)."""
    columns = []
    for j in range(A.shape[1]):
        e = np.zeros(A.shape[1])
        e[j] = 1
        columns.append(A.apply(e.reshape(A.in_shape)).ravel())
    return np.stack(columns, axis=1)


def _example_operators():
    rng = np.random.default_rng(2)
    conv = L.Conv(rng.standard_normal((3, 2, 2, 3)), (2, 2, 5, 4), stride=2, padding=1)
    conv1d = L.Conv(rng.standard_normal((2, 1, 3)), (2, 2, 6), padding="same", dilation=2,
                    groups=2)
    return [
        conv, conv.T, conv1d, conv1d.T,
        L.ConvTranspose(rng.standard_normal((2, 3, 3, 2)), (2, 2, 3, 3), stride=2,
                        output_padding=(1, 0)),
        L.ConvWeightMap(rng.standard_normal((2, 2, 5, 4)), (3, 2, 2, 3), stride=(1, 2)),
        L.Dilate((2, 3, 4), (2, 3), axes=(0, 2)),
        L.Pad((2, 3), ((1, 0), (2, 1))),
        L.Crop((2, 3, 5), ((0, 0), (1, 1), (0, 2))),
        L.Im2col((2, 2, 4, 5), 2, stride=(1, 2), padding=1),
        L.Upsample((2, 2, 3, 2), (2, 3)),
        L.AvgPool((2, 2, 5, 5), 3, stride=2, padding=1, count_include_pad=False),
        L.Dense(rng.standard_normal((3, 4)), (2, 4)),
        L.Dense(rng.standard_normal((3, 4)), (4,)),
    ]


@pytest.mark.parametrize("A", _example_operators(), ids=lambda A: type(A).__name__)
def test_to_dense_and_transpose(A):
    dense = A.to_dense()
    assert dense.shape == A.shape
    np.testing.assert_array_equal(dense, _brute_force_dense(A))
    np.testing.assert_array_equal(A.T.to_dense(), dense.T)
    assert A.T.T is A
    x = np.random.default_rng(3).standard_normal(A.in_shape)
    np.testing.assert_array_equal(A(x), A.apply(x))


def test_shape_errors_name_operator_and_shapes():
    A = L.Conv(KERNEL, (1, 1, 7), stride=2)
    with pytest.raises(ValueError, match=r"Conv.*\(1,1,7\).*\(1,1,8\)"):
        A.apply(np.zeros((1, 1, 8)))
    with pytest.raises(ValueError, match=r"\(1,1,3\).*\(1,1,5\)"):
        A.adjoint(np.zeros((1, 1, 5)))
    B = L.Pad((1, 1, 7), 1)
    with pytest.raises(ValueError, match=r"\(1,1,7\).*\(3,3,9\)"):
        A @ B
    with pytest.raises(ValueError, match="same"):
        L.Conv(KERNEL, (1, 1, 7), stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding"):
        L.ConvTranspose(KERNEL, (1, 1, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="float32.*float64"):
        A.apply(np.zeros((1, 1, 7), dtype=np.float32))


# --------------------------------------------------------------------------------------------
# Each apply equals torch's function of the same name (float64, 1e-10).
# --------------------------------------------------------------------------------------------
def _torch():
    """(torch, torch.nn.functional); skips the test where torch (the oracle) is not installed."""
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def _close(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)


@TORCH_SETTINGS
@given(case=conv_cases(), seed=SEEDS)
def test_conv_matches_torch(case, seed):
    torch, F = _torch()
    rng = np.random.default_rng(seed)
    w, x = _weights(case, np.float64, rng), rng.standard_normal(case.x_shape)
    torch_conv = F.conv1d if len(case.x_shape) == 3 else F.conv2d
    expected = torch_conv(torch.from_numpy(x), torch.from_numpy(w), **case.kwargs)
    _close(L.Conv(w, case.x_shape, **case.kwargs).apply(x), expected)


@TORCH_SETTINGS
@given(case=conv_transpose_cases(), seed=SEEDS)
def test_conv_transpose_matches_torch(case, seed):
    torch, F = _torch()
    rng = np.random.default_rng(seed)
    w, x = _weights(case, np.float64, rng), rng.standard_normal(case.x_shape)
    torch_conv_t = F.conv_transpose1d if len(case.x_shape) == 3 else F.conv_transpose2d
    expected = torch_conv_t(torch.from_numpy(x), torch.from_numpy(w), **case.kwargs)
    B = L.ConvTranspose(w, case.x_shape, **case.kwargs)
    _close(B.apply(x), expected)
    # output_size picks the same output_padding.
    sized = L.ConvTranspose(w, case.x_shape, **{k: v for k, v in case.kwargs.items()
                                               if k != "output_padding"},
                            output_size=B.out_shape[2:])
    assert sized.output_padding == B.output_padding


@TORCH_SETTINGS
@given(case=conv_cases(), seed=SEEDS)
def test_conv_weight_map_adjoint_is_torch_weight_gradient(case, seed):
    torch, F = _torch()
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(case.x_shape), _weights(case, np.float64, rng)
    M = L.ConvWeightMap(x, case.w_shape, **case.kwargs)
    dy = rng.standard_normal(M.out_shape)
    w_t = torch.from_numpy(w).requires_grad_()
    torch_conv = F.conv1d if len(case.x_shape) == 3 else F.conv2d
    y = torch_conv(torch.from_numpy(x), w_t, **case.kwargs)
    (grad_w,) = torch.autograd.grad(y, w_t, torch.from_numpy(dy))
    _close(M.apply(w), y)
    _close(M.adjoint(dy), grad_w)


@TORCH_SETTINGS
@given(case=window_cases(), seed=SEEDS)
def test_im2col_col2im_match_unfold_fold(case, seed):
    torch, F = _torch()
    x_shape, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(seed)
    A = L.Im2col(x_shape, kernel, stride, padding, dilation)
    x, cols = rng.standard_normal(x_shape), rng.standard_normal(A.out_shape)
    params = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)
    _close(A.apply(x), F.unfold(torch.from_numpy(x), **params))
    _close(A.T.apply(cols), F.fold(torch.from_numpy(cols), output_size=x_shape[2:], **params))


@TORCH_SETTINGS
@given(shape=image_shapes(), data=st.data(), seed=SEEDS)
def test_upsample_matches_interpolate_nearest(shape, data, seed):
    torch, F = _torch()
    factors = tuple(data.draw(st.integers(1, 3)) for _ in shape[2:])
    x = np.random.default_rng(seed).standard_normal(shape)
    expected = F.interpolate(torch.from_numpy(x), scale_factor=tuple(map(float, factors)),
                             mode="nearest")
    _close(L.Upsample(shape, factors).apply(x), expected)


@TORCH_SETTINGS
@given(ndim=st.sampled_from([1, 2]), data=st.data(), include_pad=st.booleans(), seed=SEEDS)
def test_avg_pool_matches_torch(ndim, data, include_pad, seed):
    torch, F = _torch()
    x_shape, kernel, stride, padding, _ = data.draw(window_cases(ndim, pool=True))
    x = np.random.default_rng(seed).standard_normal(x_shape)
    torch_pool = F.avg_pool1d if ndim == 1 else F.avg_pool2d
    expected = torch_pool(torch.from_numpy(x), kernel, stride, padding,
                          count_include_pad=include_pad)
    A = L.AvgPool(x_shape, _user(kernel, ndim), _user(stride, ndim), _user(padding, ndim),
                  count_include_pad=include_pad)
    _close(A.apply(x), expected)


@TORCH_SETTINGS
@given(shape=shapes(), data=st.data(), seed=SEEDS)
def test_pad_crop_match_torch_pad(shape, data, seed):
    torch, F = _torch()
    widths = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape)
    x = np.random.default_rng(seed).standard_normal(shape)
    # torch.nn.functional.pad lists (before, after) from the last axis backwards.
    flat = [w for pair in reversed(widths) for w in pair]
    padded = F.pad(torch.from_numpy(x), flat)
    _close(L.Pad(shape, widths).apply(x), padded)
    _close(L.Crop(padded.shape, widths).apply(padded.numpy()), torch.from_numpy(x))


@TORCH_SETTINGS
@given(lead=shapes(0, 2), n=st.integers(1, 5), m=st.integers(1, 5), seed=SEEDS)
def test_dense_matches_linear(lead, n, m, seed):
    torch, F = _torch()
    rng = np.random.default_rng(seed)
    W, x = rng.standard_normal((m, n)), rng.standard_normal(lead + (n,))
    _close(L.Dense(W, x.shape).apply(x), F.linear(torch.from_numpy(x), torch.from_numpy(W)))


def test_calling_an_operator():
    """A(array) is A x; A(Tensor) is the differentiable A x (VJP A^T); anything else is refused
    with a one-line error naming the operator."""
    rng = np.random.default_rng(0)
    A = L.Conv(rng.standard_normal((2, 1, 3, 3)), (1, 1, 5, 5))
    x, g = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 2, 3, 3))
    np.testing.assert_allclose(A(x), A.apply(x))
    xt = tinygan.tensor(x, requires_grad=True)
    (gx,) = tinygan.grad(A(xt), xt, tinygan.tensor(g))
    np.testing.assert_allclose(gx.numpy(), A.adjoint(g))
    with pytest.raises(TypeError, match="Conv: expected an array or a tinygan Tensor, got list"):
        A([1.0, 2.0])
