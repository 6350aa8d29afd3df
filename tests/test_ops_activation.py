"""tinygan.ops.activation (torch.nn.functional's activations, softmin, normalize, vector_norm) and
the nn activation modules against torch: values, dtypes, gradients, grads of grads on Hypothesis
shapes (0-d and empty included), float64 and float32 (tolerances: tests/torch_parity.py ELEMENTWISE), numpy
and cpp backends; torch's values at the kinks; integer inputs; check_vjp for every VJP."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
import tinygan.nn.functional as TF
from tinygan import nn
from tinygan.testing import check_vjp

try:
    from torch_parity import BACKENDS, compare_with, ELEMENTWISE, integer_input_like_torch
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, compare_with, ELEMENTWISE, integer_input_like_torch

compare = compare_with(ELEMENTWISE)

torch = pytest.importorskip("torch")
F = torch.nn.functional

# name: (tinygan function, torch function, value range, kinks to keep check_vjp away from)
ACTS = {
    "gelu": (TF.gelu, F.gelu, (-6, 6), ()),
    "gelu_tanh": (lambda x: TF.gelu(x, approximate="tanh"), lambda x: F.gelu(x, approximate="tanh"), (-6, 6), ()),
    "silu": (TF.silu, F.silu, (-30, 30), ()),
    "mish": (TF.mish, F.mish, (-30, 30), ()),
    "elu": (TF.elu, F.elu, (-6, 6), (0,)),
    "elu_alpha": (lambda x: TF.elu(x, alpha=0.5), lambda x: F.elu(x, alpha=0.5), (-6, 6), (0,)),
    "selu": (TF.selu, F.selu, (-6, 6), (0,)),
    "celu": (lambda x: TF.celu(x, alpha=2.0), lambda x: F.celu(x, alpha=2.0), (-6, 6), (0,)),
    "hardswish": (TF.hardswish, F.hardswish, (-5, 5), (-3, 3)),
    "hardsigmoid": (TF.hardsigmoid, F.hardsigmoid, (-5, 5), (-3, 3)),
    "softsign": (TF.softsign, F.softsign, (-6, 6), (0,)),
    "softplus": (TF.softplus, F.softplus, (-30, 30), (20,)),
    "softplus_beta": (lambda x: TF.softplus(x, beta=2.0, threshold=5.0),
                      lambda x: F.softplus(x, beta=2.0, threshold=5.0), (-6, 6), (2.5,)),
    "softplus_negative_beta": (lambda x: TF.softplus(x, beta=-1.5, threshold=3.0),
                               lambda x: F.softplus(x, beta=-1.5, threshold=3.0), (-6, 6), (-2.0,)),
}
# name: (tinygan, torch, min_dims); dim-wise ops over the last axis or axis 0
DIMWISE = {
    "softmin_last": (lambda x: TF.softmin(x, dim=-1), lambda x: F.softmin(x, dim=-1), 0),
    "softmin_0": (lambda x: TF.softmin(x, 0), lambda x: F.softmin(x, 0), 0),
    "normalize_2": (lambda x: TF.normalize(x, dim=-1), lambda x: F.normalize(x, dim=-1), 1),
    "normalize_1_dim0": (lambda x: TF.normalize(x, p=1, dim=0), lambda x: F.normalize(x, p=1, dim=0), 1),
    "normalize_3": (lambda x: TF.normalize(x, p=3, dim=-1), lambda x: F.normalize(x, p=3, dim=-1), 1),
    "normalize_inf": (lambda x: TF.normalize(x, p=float("inf"), dim=-1),
                      lambda x: F.normalize(x, p=float("inf"), dim=-1), 1),
    "vector_norm_2": (lambda x: tg.ops.vector_norm(x), lambda x: torch.linalg.vector_norm(x), 0),
    "vector_norm_half": (lambda x: tg.ops.vector_norm(x, 0.5, dim=-1, keepdim=True),
                         lambda x: torch.linalg.vector_norm(x, 0.5, dim=-1, keepdim=True), 1),
    "vector_norm_3": (lambda x: tg.ops.vector_norm(x, 3, dim=0), lambda x: torch.linalg.vector_norm(x, 3, dim=0), 1),
    "vector_norm_1": (lambda x: tg.ops.vector_norm(x, 1, dim=-1), lambda x: torch.linalg.vector_norm(x, 1, dim=-1), 1),
    "vector_norm_inf": (lambda x: tg.ops.vector_norm(x, float("inf"), dim=-1),
                        lambda x: torch.linalg.vector_norm(x, float("inf"), dim=-1), 1),
    "vector_norm_0": (lambda x: tg.ops.vector_norm(x, 0, dim=-1), lambda x: torch.linalg.vector_norm(x, 0, dim=-1), 1),
    "tensor_norm": (lambda x: x.norm(dim=-1), lambda x: x.norm(dim=-1), 1),
}
DTYPES = [np.float64, np.float32]
NO_TORCH_GRADGRAD = ("hardsigmoid",)   # torch: "derivative for hardsigmoid_backward is not implemented"
# torch's float64 hardsigmoid gradient multiplies by 1/6 rounded to float32 (1.0f / 6.0f in its
# kernel): 3e-8 relative off the exact 1/6 that tinygan uses.
GRAD_TOL = {"hardsigmoid": (1e-7, 1e-11)}


def _values(draw, shape, lo, hi, dtype):
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False))).astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(ACTS))
@settings(max_examples=12)
@given(data=st.data())
def test_activation_matches_torch(name, backend, data):
    """Hypothesis picks integers often, so the kinks (0, +-3, the threshold) are hit too: the
    one-sided conventions at the kinks are torch's."""
    ours, theirs, (lo, hi), _ = ACTS[name]
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    with tg.set_backend(backend):
        compare(ours, theirs, [_values(data.draw, shape, lo, hi, dtype)], gradgrad=name not in NO_TORCH_GRADGRAD,
                grad_tol=GRAD_TOL.get(name))


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_at_kinks_and_extremes(name):
    ours, theirs, _, kinks = ACTS[name]
    x = np.array([0.0, -0.0, 3.0, -3.0, 20.0, 2.5, -2.0, 1e-9, -1e-9, 50.0, -50.0, 800.0, -800.0])
    # finite_where_torch_nan: mish at x = 800, where torch's second derivative overflows to NaN
    compare(ours, theirs, [x], gradgrad=name not in NO_TORCH_GRADGRAD,
            grad_tol=GRAD_TOL.get(name), finite_where_torch_nan=True)
    with np.errstate(all="ignore"):
        ext = np.array([np.inf, -np.inf, np.nan, 1e300, -1e300])
        np.testing.assert_allclose(ours(tg.tensor(ext)).numpy(), theirs(torch.tensor(ext)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(DIMWISE))
@settings(max_examples=12)
@given(data=st.data())
def test_dimwise_matches_torch(name, backend, data):
    """Zero vectors are drawn often: normalize's eps clamp and the norms' 0 / 0 guards agree."""
    ours, theirs, min_dims = DIMWISE[name]
    dtype = data.draw(st.sampled_from(DTYPES))
    shape = data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=0, max_side=4))
    x = _values(data.draw, shape, -3, 3, dtype)
    x = np.where(np.abs(x) < 0.1, 0, x).astype(dtype)    # zeros, or away from ill-conditioned tiny norms
    if "inf" in name:        # ties in |x| split the gradient in both libraries; keep them exact
        x = np.round(x * 2) / 2
    try:
        theirs(torch.tensor(x))
    except RuntimeError:     # the inf norm of an empty axis: an error in both
        with pytest.raises(ValueError, match="empty axis"):
            ours(tg.tensor(x))
        return
    with tg.set_backend(backend):   # at a zero vector torch's second derivative is NaN, ours finite
        compare(ours, theirs, [x], finite_where_torch_nan=True)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_integer_inputs_like_torch(name):
    """torch implements these for floating tensors only (softsign, built from division, gives
    float32)."""
    ours, theirs, _, _ = ACTS[name]
    x = np.array([-2, 0, 3])
    integer_input_like_torch(ours, theirs, x)


@pytest.mark.parametrize("name", sorted(ACTS))
@settings(max_examples=10)
@given(data=st.data())
def test_activation_check_vjp(name, data):
    ours, _, (lo, hi), kinks = ACTS[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    x = _values(data.draw, shape, lo, hi, np.float64)
    for k in kinks:
        x = np.where(np.abs(x - k) < 0.05, k + 0.3, x)
    check_vjp(ours, x)


@pytest.mark.parametrize("name", sorted(DIMWISE))
@settings(max_examples=10)
@given(data=st.data())
def test_dimwise_check_vjp(name, data):
    ours, _, min_dims = DIMWISE[name]
    shape = data.draw(hnp.array_shapes(min_dims=max(min_dims, 1), max_dims=3, min_side=1, max_side=3))
    away = st.floats(0.1, 3).flatmap(lambda v: st.sampled_from([v, -v]))
    x = data.draw(hnp.arrays(np.float64, shape, elements=away, unique=True))   # no ties, no zeros
    check_vjp(ours, x)


def test_softmin_default_dim_follows_torch_with_a_warning():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = TF.softmin(tg.tensor(x))
    with pytest.warns(UserWarning):
        ref = F.softmin(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    out = TF.softmin(tg.tensor(x.astype(np.float32)), 1, dtype=tg.float64)
    assert out.dtype == np.float64


def test_bad_arguments_raise_one_line_errors():
    x = tg.tensor([1.0, -1.0])
    with pytest.raises(ValueError, match="gelu: approximate"):
        TF.gelu(x, approximate="erf")
    with pytest.raises(ValueError, match="celu: alpha"):
        TF.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match="GELU: approximate"):
        nn.GELU("exact")
    with pytest.raises(ValueError, match="vector_norm: axis 3"):
        TF.normalize(x, dim=3)


MODULES = [
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()), (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.ELU(0.3), lambda: torch.nn.ELU(0.3)), (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.CELU(1.5), lambda: torch.nn.CELU(1.5)),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.Softplus(beta=0.5, threshold=4), lambda: torch.nn.Softplus(beta=0.5, threshold=4)),
    (lambda: nn.Softmin(dim=1), lambda: torch.nn.Softmin(dim=1)),
]


@pytest.mark.parametrize("k", range(len(MODULES)))
def test_modules_match_torch(k):
    ours, theirs = MODULES[k][0](), MODULES[k][1]()
    x = np.random.default_rng(k).standard_normal((3, 4, 2)) * 4
    name = type(ours).__name__.lower()
    compare(ours, theirs, [x], grad_tol=GRAD_TOL.get(name), gradgrad=name not in NO_TORCH_GRADGRAD)
    assert type(ours).__name__ == type(theirs).__name__
    assert list(ours.parameters()) == [] and ours.state_dict() == {}


def test_module_attributes_and_repr_follow_torch():
    m = nn.ELU(alpha=0.5)
    assert m.alpha == 0.5 and "alpha=0.5" in repr(m)
    assert nn.Softplus(2, 10).beta == 2.0 and nn.Softmin(dim=0).dim == 0
    assert nn.GELU("tanh").approximate == "tanh"
    seq = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1))
    seq(tg.randn(2, 3)).sum().backward()
