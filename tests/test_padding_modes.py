"""F.pad's reflect / replicate / circular / constant modes and Conv2d's padding_mode against
PyTorch: values, gradients, grads of grads (float64 1e-10, float32 1e-5), the same errors for
out-of-range widths and unsupported ranks, and dottest of every BoundaryPad operator."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.nn.functional as F
from tinygan import linops
from tinygan.testing import dottest

try:
    from torch_parity import compare_with, NN, same_error, torch
except ImportError:  # pragma: no cover
    from tests.torch_parity import compare_with, NN, same_error, torch

compare = compare_with(NN)

TF = torch.nn.functional
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def pad_cases(draw):
    """(shape, pad, mode): widths from -4 to 4 on ranks 1..5 (many invalid: torch decides)."""
    mode = draw(st.sampled_from(["reflect", "replicate", "circular", "constant"]))
    ndim = draw(st.integers(1, 5))
    shape = tuple(draw(st.integers(0 if mode == "constant" else 1, 4)) for _ in range(ndim))
    k = draw(st.integers(1, min(3, ndim)))
    pad = tuple(draw(st.integers(-4, 4)) for _ in range(2 * k))
    return shape, pad, mode


@SETTINGS
@given(case=pad_cases(), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**31))
def test_pad_matches_torch(case, dtype, seed):
    shape, pad, mode = case
    if mode == "circular" and any(n + min(b, 0) + min(a, 0) <= 0 < n + b + a for n, b, a in
                                  zip(shape[::-1], pad[::2], pad[1::2])):
        return  # wrapping an axis cropped to nothing: torch returns uninitialised memory, we raise
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    try:
        TF.pad(torch.tensor(x), pad, mode)
    except RuntimeError as exc:   # torch's circular pad trips over its own in-place copy
        if "single memory location" in str(exc):
            return
    _, theirs = same_error(lambda: F.pad(tg.tensor(x), pad, mode),
                           lambda: TF.pad(torch.tensor(x), pad, mode))
    if theirs is None or theirs.numel() == 0:
        return
    if mode == "circular" and any(max(b, a) > n + min(b, 0) + min(a, 0) for n, b, a in
                                  zip(shape[::-1], pad[::2], pad[1::2])):
        # wrapping a cropped axis more than once: torch's overlapping in-place copies give the
        # periodic values, uninitialised memory or an error, and gradients that are not the
        # derivative; ours is the periodic map and its adjoint (dottest below)
        return
    compare(lambda a: F.pad(a, pad, mode), lambda a: TF.pad(a, pad, mode), [x], dtype, seed)


@SETTINGS
@given(case=pad_cases(), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**31))
def test_boundary_pad_dottest(case, dtype, seed):
    shape, pad, mode = case
    if mode == "constant":
        mode = "replicate"
    try:
        TF.pad(torch.zeros(shape), pad, mode)
    except (RuntimeError, NotImplementedError):
        return
    width = [(0, 0)] * len(shape)
    for k in range(len(pad) // 2):
        width[len(shape) - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    try:
        op = linops.BoundaryPad(shape, width, mode)
    except RuntimeError as exc:   # torch returns uninitialised memory there
        assert "cropped to nothing" in str(exc)
        return
    dottest(op, dtype=dtype, rng=seed)
    dottest(op.T, dtype=dtype, rng=seed)


def test_integer_inputs_and_errors():
    x = np.arange(24).reshape(2, 3, 4)
    for mode in ("reflect", "replicate", "circular"):
        np.testing.assert_array_equal(F.pad(tg.tensor(x), (2, 1), mode).numpy(),
                                      TF.pad(torch.tensor(x), (2, 1), mode=mode).numpy())
    t, tt = tg.tensor(x * 1.0), torch.tensor(x * 1.0)
    for pad, mode, value in [((4, 0), "reflect", None), ((5, 0), "circular", None),
                             ((1, 1, 1), "reflect", None), ((1, 1), "reflect", 1.0),
                             ((1, 1), "foo", None), ((1,) * 8, "constant", None),
                             ((1, 1, 1, 1, 1, 1), "reflect", None), ((-3, -2), "replicate", None)]:
        same_error(lambda: F.pad(t, pad, mode, value), lambda: TF.pad(tt, pad, mode, value))
    with pytest.raises(RuntimeError, match="reflect.*padding size should be less"):
        F.pad(t, (4, 0), "reflect")


@pytest.mark.parametrize("backend", ["numpy", "cpp"])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_mode(backend, mode, padding):
    kernel = (3, 2) if padding == "same" else 3
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(2, 3, kernel, padding=padding, padding_mode=mode, dtype=torch.float64)
    ours = tg.nn.Conv2d(2, 3, kernel, padding=padding, padding_mode=mode, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    with tg.set_backend(backend):
        compare(ours, theirs, [x])
        for m, tm in [(tg.nn.ReflectionPad2d((1, 2, 0, 1)), torch.nn.ReflectionPad2d((1, 2, 0, 1))),
                      (tg.nn.ReplicationPad1d(2), torch.nn.ReplicationPad1d(2)),
                      (tg.nn.CircularPad2d(1), torch.nn.CircularPad2d(1)),
                      (tg.nn.ZeroPad2d((1, 0, 2, 1)), torch.nn.ZeroPad2d((1, 0, 2, 1))),
                      (tg.nn.ConstantPad1d(2, 3.5), torch.nn.ConstantPad1d(2, 3.5))]:
            compare(m, tm, [x if "2d" in type(m).__name__ else x[0]])
    with pytest.raises(ValueError, match="padding_mode"):
        tg.nn.Conv2d(2, 3, 3, padding_mode="mirror")
