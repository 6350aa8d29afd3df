"""interpolate / nn.Upsample against PyTorch: every mode, sizes and non-integer scale factors,
align_corners, recompute_scale_factor; values, gradients and grads of grads (float64 1e-10,
float32 1e-5: tests/torch_parity.py NN); dottest of every Interpolate operator."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.nn.functional as F
from tinygan import linops
from tinygan.linops.separable import AxisTaps
from tinygan.testing import dottest

try:
    from torch_parity import compare_with, NN, same_error, torch
except ImportError:  # pragma: no cover
    from tests.torch_parity import compare_with, NN, same_error, torch

compare = compare_with(NN)

TF = torch.nn.functional
SETTINGS = settings(max_examples=30, deadline=None)
RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@st.composite
def resample_cases(draw):
    """(shape, kwargs) for interpolate, some of them invalid (torch decides)."""
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "bicubic",
                                 "trilinear", "area"]))
    spatial = RANK.get(mode, draw(st.integers(1, 3)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(
        draw(st.integers(1, 5 if spatial < 3 else 3)) for _ in range(spatial))
    kw = {"mode": mode}
    if mode in RANK:
        kw["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.integers(1, 7 if spatial < 3 else 4)) for _ in range(spatial))
    else:
        factor = st.one_of(st.integers(1, 3).map(float),
                           st.floats(0.3, 2.7).map(lambda f: round(f, 2)))
        kw["scale_factor"] = draw(st.one_of(factor, st.tuples(*[factor] * spatial)))
        kw["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return shape, kw


@SETTINGS
@given(case=resample_cases(), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**31))
def test_interpolate_matches_torch(case, dtype, seed):
    shape, kw = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    _, theirs = same_error(lambda: F.interpolate(tg.tensor(x), **kw),
                           lambda: TF.interpolate(torch.tensor(x), **kw))
    if theirs is None:
        return
    compare(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw), [x], dtype, seed)


@SETTINGS
@given(case=resample_cases(), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**31))
def test_interpolate_operator_dottest(case, dtype, seed):
    shape, kw = case
    x = np.zeros(shape)
    try:
        size = TF.interpolate(torch.tensor(x), **kw).shape[2:]
    except (RuntimeError, ValueError, NotImplementedError):
        return
    scales = kw.get("scale_factor")
    if scales is None or kw.get("recompute_scale_factor") or kw["mode"] == "area":
        scales = None
    elif not isinstance(scales, tuple):
        scales = (scales,) * len(size)
    op = linops.Interpolate(shape, size, kw["mode"], kw.get("align_corners", False), scales, dtype)
    dottest(op, dtype=dtype, rng=seed)
    dottest(op.T, dtype=dtype, rng=seed)


def test_only_the_taps_are_read():
    """A non-finite input pollutes only the outputs whose taps read it, as in torch's kernels."""
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    x[0, 0, 0, 0] = np.inf
    for mode in ("bilinear", "bicubic", "nearest"):
        kw = {"mode": mode, "size": (7, 9)}
        ours = F.interpolate(tg.tensor(x), **kw).numpy()
        theirs = TF.interpolate(torch.tensor(x), **kw).numpy()
        np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_errors_and_modules():
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    for kw in [dict(scale_factor=0.1), dict(size=(2, 2), scale_factor=2), dict(),
               dict(size=(2, 2), mode="linear"), dict(size=(2, 2), align_corners=True),
               dict(size=(2, 2), mode="bilinear", recompute_scale_factor=True),
               dict(size=(2,), mode="bilinear"), dict(size=3, mode="foo")]:
        same_error(lambda: F.interpolate(tg.tensor(x), **kw),
                   lambda: TF.interpolate(torch.tensor(x), **kw))
    with pytest.raises(NotImplementedError, match="antialias"):
        F.interpolate(tg.tensor(x), size=(2, 2), mode="bilinear", antialias=True)
    for ours, theirs in [(tg.nn.Upsample(scale_factor=1.5, mode="bicubic"),
                          torch.nn.Upsample(scale_factor=1.5, mode="bicubic")),
                         (tg.nn.UpsamplingBilinear2d(size=(5, 3)), torch.nn.UpsamplingBilinear2d(size=(5, 3))),
                         (tg.nn.UpsamplingNearest2d(scale_factor=2), torch.nn.UpsamplingNearest2d(scale_factor=2))]:
        compare(ours, theirs, [x])


@pytest.mark.parametrize("n, s, axis", [(1, 3, 0), (5, 2, 1), (4, 3, 2), (3, 1, 1)])
def test_integer_nearest_fast_path_equals_the_tap_table(n, s, axis):
    """Nearest upsampling by an integer factor (repeat / strided-slice sums) gives exactly what
    the general gather / scatter of the same table gives (weights of 1 force the general path)."""
    index = np.arange(n * s) // s
    fast, general = AxisTaps(n, index), AxisTaps(n, index, weight=np.ones(n * s))
    assert fast.repeat == s and general.repeat is None
    shape = [2, 3, 4]
    shape[axis] = n
    x = np.random.default_rng(n + s).standard_normal(shape)
    np.testing.assert_array_equal(fast.gather(x, axis), general.gather(x, axis))
    y = np.random.default_rng(7).standard_normal(fast.gather(x, axis).shape)
    np.testing.assert_allclose(fast.scatter(y, axis), general.scatter(y, axis), rtol=1e-14, atol=1e-14)
