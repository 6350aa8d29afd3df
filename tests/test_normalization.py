"""layer_norm / group_norm / instance_norm and their modules against PyTorch, on the numpy and
cpp backends: values, gradients (input, weight, bias), grads of grads (float64 1e-10, float32
1e-5, tests/torch_parity.py NN), check_vjp, running statistics, state_dict keys, errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.nn.functional as F
from tinygan.testing import check_vjp

try:
    from torch_parity import compare_with, NN, same_error, torch
except ImportError:  # pragma: no cover
    from tests.torch_parity import compare_with, NN, same_error, torch

compare = compare_with(NN)

TF = torch.nn.functional
SETTINGS = settings(max_examples=15, deadline=None)
BACKENDS = st.sampled_from(["numpy", "cpp"])
DTYPES = st.sampled_from([np.float64, np.float32])


def _arrays(rng, *shapes):
    return [rng.standard_normal(s) for s in shapes]


@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), k=st.integers(1, 3),
       affine=st.booleans(), backend=BACKENDS, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_layer_norm(shape, k, affine, backend, dtype, seed):
    k = min(k, len(shape))
    norm = tuple(shape[len(shape) - k:])
    if np.prod(norm) == 1:    # one value per group: float32 rounding is amplified by eps^(-1/2)
        dtype = np.float64
    x, w, b = _arrays(np.random.default_rng(seed), shape, norm, norm)
    args = [x, w, b] if affine else [x]
    with tg.set_backend(backend):
        compare(lambda *a: F.layer_norm(a[0], norm, *a[1:], eps=1e-3),
                lambda *a: TF.layer_norm(a[0], norm, *a[1:], eps=1e-3), args, dtype, seed)
        if dtype == np.float64:
            with tg.set_backend("numpy"):   # the VJP's math; backends are compared with torch above
                check_vjp(lambda *a: F.layer_norm(a[0], norm, *a[1:], eps=1e-3), *args,
                          rng=seed + 1)   # u, v independent of x (J^T x = 0 for a norm)


@SETTINGS
@given(n=st.integers(1, 3), groups=st.integers(1, 3), per=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 3), max_size=2), affine=st.booleans(), backend=BACKENDS,
       dtype=DTYPES, seed=st.integers(0, 2**31))
def test_group_norm(n, groups, per, spatial, affine, backend, dtype, seed):
    c = groups * per
    if per * np.prod(spatial) == 1:
        dtype = np.float64    # as in test_layer_norm
    x, w, b = _arrays(np.random.default_rng(seed), (n, c, *spatial), (c,), (c,))
    args = [x, w, b] if affine else [x]
    _, theirs = same_error(lambda: F.group_norm(tg.tensor(x), groups),
                           lambda: TF.group_norm(torch.tensor(x), groups))
    if theirs is None:
        return
    with tg.set_backend(backend):
        compare(lambda *a: F.group_norm(a[0], groups, *a[1:]),
                lambda *a: TF.group_norm(a[0], groups, *a[1:]), args, dtype, seed)
        if dtype == np.float64:
            with tg.set_backend("numpy"):
                check_vjp(lambda *a: F.group_norm(a[0], groups, *a[1:]), *args, rng=seed + 1)


@SETTINGS
@given(n=st.integers(1, 3), c=st.integers(1, 3), spatial=st.lists(st.integers(1, 3), min_size=1,
                                                                   max_size=3),
       affine=st.booleans(), backend=BACKENDS, dtype=DTYPES, seed=st.integers(0, 2**31))
def test_instance_norm(n, c, spatial, affine, backend, dtype, seed):
    if np.prod(spatial) == 1:
        spatial = spatial + [2]
    x, w, b = _arrays(np.random.default_rng(seed), (n, c, *spatial), (c,), (c,))
    args = [x, w, b] if affine else [x]

    def ours(a, *wb):
        return F.instance_norm(a, None, None, *wb)

    def theirs(a, *wb):
        return TF.instance_norm(a, None, None, *wb)
    with tg.set_backend(backend):
        compare(ours, theirs, args, dtype, seed)
        if dtype == np.float64:
            with tg.set_backend("numpy"):
                check_vjp(ours, *args, rng=seed + 1)


@pytest.mark.parametrize("backend", ["numpy", "cpp"])
def test_instance_norm_running_stats_and_modules(backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5, 6)) * 2 + 1
    with tg.set_backend(backend):
        for affine in (False, True):
            ours = tg.nn.InstanceNorm2d(4, momentum=0.3, affine=affine, track_running_stats=True,
                                        dtype=np.float64)
            theirs = torch.nn.InstanceNorm2d(4, momentum=0.3, affine=affine,
                                             track_running_stats=True, dtype=torch.float64)
            assert list(ours.state_dict()) == list(theirs.state_dict())
            for _ in range(2):
                compare(ours, theirs, [x], gradgrad=False)
            for key, value in theirs.state_dict().items():
                np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12)
            ours.eval()
            theirs.eval()
            compare(ours, theirs, [x])
            compare(ours, theirs, [x[0]])                      # unbatched (C, H, W)
        for ours, theirs, a in [
                (tg.nn.LayerNorm((5, 6), dtype=np.float64), torch.nn.LayerNorm((5, 6), dtype=torch.float64), x),
                (tg.nn.LayerNorm(6, bias=False, dtype=np.float64),
                 torch.nn.LayerNorm(6, bias=False, dtype=torch.float64), x),
                (tg.nn.GroupNorm(2, 4, dtype=np.float64), torch.nn.GroupNorm(2, 4, dtype=torch.float64), x),
                (tg.nn.InstanceNorm1d(4), torch.nn.InstanceNorm1d(4), x[:, :, 0].astype(np.float32))]:
            assert list(ours.state_dict()) == list(theirs.state_dict())
            compare(ours, theirs, [a], a.dtype)


def test_errors_match_torch():
    x = np.zeros((2, 3, 4))
    for f, g in [(lambda: F.layer_norm(tg.tensor(x), (3,)), lambda: TF.layer_norm(torch.tensor(x), (3,))),
                 (lambda: F.layer_norm(tg.tensor(x), (4,), tg.ones(3, dtype=np.float64)),
                  lambda: TF.layer_norm(torch.tensor(x), (4,), torch.ones(3, dtype=torch.float64))),
                 (lambda: F.group_norm(tg.tensor(x), 2), lambda: TF.group_norm(torch.tensor(x), 2)),
                 (lambda: F.group_norm(tg.zeros(4), 2), lambda: TF.group_norm(torch.zeros(4), 2)),
                 (lambda: F.instance_norm(tg.tensor(x[:, :, :1])),
                  lambda: TF.instance_norm(torch.tensor(x[:, :, :1])))]:
        same_error(f, g)
    # one value per group is allowed (output = bias), as in torch
    compare(lambda a: F.layer_norm(a, (1,)), lambda a: TF.layer_norm(a, (1,)), [x[..., :1] + 1.0])
