"""Compare a tinygan function with its torch twin (torch: oracle only): values, dtypes, gradients
(VJP with a random cotangent) and grads of grads, on the CPU backends.

``compare(ours, theirs, inputs, dtype=None, rng=0, *, tol, ...)`` builds tinygan and torch tensors
from the same numpy arrays (floating arrays listed in ``diff``, default all floating ones, require
grad; with ``dtype`` given the floating arrays are cast to it first) and checks, for
y = f(x_1, ..., x_k), a random cotangent u and random directions v_i:
  values:        every output's shape and dtype equal torch's (and equal ``dtype`` when given, for
                 floating outputs); floating values agree within the tolerance with NaN and inf in
                 the same places; integer and bool outputs are equal exactly;
  first order:   g_i = J_i^T u (tinygan.grad vs torch.autograd.grad), same shapes (in the
                 "exact" preset NN, where torch gives a gradient tinygan must give one);
  second order:  the gradient of s = sum_i <g_i, v_i> with respect to every x_i (and, in the
                 presets marked so, to u), both libraries building g with create_graph=True: a VJP
                 written in Tensor ops is differentiated again, and w.r.t. u linear ops too (whose
                 VJP does not depend on x). Where torch's s has no graph (its g constant in x and
                 u), tinygan's second derivatives w.r.t. the x_i must vanish.
A gradient that one library does not produce (None, or torch's lazy all-zero "ZeroTensor") counts
as zeros; in the presets marked "exact" the other library's must then be exactly zero. Only the
first output of a tuple-valued function is differentiated.

Presets, chosen per test module with ``compare = compare_with(PRESET)`` (or per call, ``tol=``),
tolerances (rtol, atol) by input dtype:

  preset        dtype    value          gradient       grad of grad   w.r.t. u  missing grad
  OPS           float64  1e-9,  1e-11   1e-9,  1e-11   1e-9,  1e-11   yes       within atol
                float32  2e-5,  2e-5    2e-5,  2e-5    not compared
  NN            float64  1e-10, 1e-10   1e-10, 1e-10   1e-10, 1e-10   yes       exactly 0
                float32  1e-5,  1e-5    1e-5,  1e-5    not compared
  ELEMENTWISE   float64  1e-9,  1e-12   1e-9,  1e-11   1e-9,  1e-11   no        within atol
                float32  2e-5,  1e-6    1e-4,  1e-5    1e-4,  1e-5

OPS (einsum, indexing, scans, probability-target losses): both libraries round in different
orders, a few ulps of values of order one summed over at most a few dozen terms. NN
(normalization, padding, pooling, resampling): rounding order only; in float32 the cancellations of
the second derivative leave errors of a few 1e-5 in both libraries, so it is compared in float64
only. ELEMENTWISE (elementwise math, activations, reductions, matmul, losses): composite formulas
round differently, never by more than a few ulps times the formula's condition number; in float32
each intermediate is rounded to a few ulps. Per call, ``grad_tol=(rtol, atol)`` replaces the
float64 gradient and grad-of-grad tolerance (hardsigmoid's gradient);
``finite_where_torch_nan``: at a singular point (atan2 at the origin, copysign at 0, pow at base
0) torch's second derivative is NaN and ours finite (or NaN too); that and only that difference is
accepted in the grads of grads. ``gradgrad=False`` / ``grad=False`` skip the second / both orders.

``same_error(ours, theirs)``: both raise (tinygan's exception an instance of torch's class, with a
one-line message) or neither does.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pytest

import tinygan as tg

torch = pytest.importorskip("torch")

BACKENDS = ("numpy", "cpp")


class Preset(NamedTuple):
    """Tolerances (rtol, atol) per input dtype for "value", "grad" and "gradgrad" (None: grads of
    grads not compared in that dtype); ``cotangent``: grad of grad w.r.t. u too; ``exact_missing``:
    a gradient one library does not produce must be exactly zero in the other (else within the
    tolerance)."""
    tol: dict
    cotangent: bool
    exact_missing: bool


OPS = Preset({np.float64: dict(value=(1e-9, 1e-11), grad=(1e-9, 1e-11), gradgrad=(1e-9, 1e-11)),
              np.float32: dict(value=(2e-5, 2e-5), grad=(2e-5, 2e-5), gradgrad=None)},
             cotangent=True, exact_missing=False)
NN = Preset({np.float64: dict(value=(1e-10, 1e-10), grad=(1e-10, 1e-10), gradgrad=(1e-10, 1e-10)),
             np.float32: dict(value=(1e-5, 1e-5), grad=(1e-5, 1e-5), gradgrad=None)},
            cotangent=True, exact_missing=True)
ELEMENTWISE = Preset({np.float64: dict(value=(1e-9, 1e-12), grad=(1e-9, 1e-11), gradgrad=(1e-9, 1e-11)),
                      np.float32: dict(value=(2e-5, 1e-6), grad=(1e-4, 1e-5), gradgrad=(1e-4, 1e-5))},
                     cotangent=False, exact_missing=False)


def dtype_name(t):
    """A torch tensor's dtype in numpy's spelling ("float32", "int64", "bool")."""
    return str(t.dtype).replace("torch.", "")


def _ref_np(t):
    """A torch tensor's values, or None for no gradient (torch's lazy all-zero ZeroTensor too)."""
    if t is None or t._is_zerotensor():
        return None
    return t.detach().numpy()


def _close(ours, ref, tol, what, exact_missing, nan_ok=False):
    """ours (tinygan tensor or None) vs ref (numpy array or None; None: no gradient, i.e. zeros)."""
    ours = None if ours is None else ours.numpy()
    if ours is None and ref is None:
        return
    if ours is None or ref is None:
        other = ours if ref is None else ref
        if exact_missing:
            assert not np.any(other), f"{what}: one library gives none, the other {other}"
            return
        ours, ref = (ours, np.zeros_like(ours)) if ref is None else (np.zeros_like(ref), ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if nan_ok:
        ours, ref = np.where(np.isnan(ref), 0.0, ours), np.where(np.isnan(ref), 0.0, ref)
    np.testing.assert_allclose(ours, ref, rtol=tol[0], atol=tol[1], err_msg=what)


def _tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _weighted_sum(gs, vs, zero):
    terms = [(g * v).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    return sum(terms, zero)


def compare(ours, theirs, inputs, dtype=None, rng=0, *, tol, backend=None, diff=None, grad=True,
            gradgrad=True, grad_tol=None, finite_where_torch_nan=False):
    """Assert ``ours(*tinygan tensors)`` matches ``theirs(*torch tensors)`` built from the numpy
    arrays ``inputs``: values and dtypes, then (``grad``) the VJP, then (``gradgrad``, where the
    preset ``tol`` has a tolerance for the dtype) grad of grad. ``dtype`` casts the floating
    inputs; ``rng`` seeds u and v; ``backend`` runs ours on that backend. Returns ours' output."""
    if backend is not None:
        with tg.set_backend(backend):
            return compare(ours, theirs, inputs, dtype, rng, tol=tol, diff=diff, grad=grad,
                           gradgrad=gradgrad, grad_tol=grad_tol,
                           finite_where_torch_nan=finite_where_torch_nan)
    rng = np.random.default_rng(rng)
    arrays = [np.asarray(a) for a in inputs]
    if dtype is not None:
        arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    floating = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    diff = floating if diff is None else list(diff)
    in_dtype = arrays[floating[0]].dtype.type if floating else np.float64
    tols = tol.tol.get(in_dtype, tol.tol[np.float64])
    if grad_tol is not None and floating and in_dtype == np.float64:
        tols = dict(tols, grad=grad_tol, gradgrad=grad_tol)
    exact = tol.exact_missing
    xs = [tg.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out, ref = ours(*xs), theirs(*ts)
    outs, refs = _tuple(out), _tuple(ref)
    assert len(outs) == len(refs), f"{len(outs)} outputs, torch {len(refs)}"
    for k, (o, r) in enumerate(zip(outs, refs)):
        assert o.shape == tuple(r.shape), f"output {k}: shape {o.shape} != torch {tuple(r.shape)}"
        assert o.dtype.name == dtype_name(r), f"output {k}: dtype {o.dtype} != torch {r.dtype}"
        if r.dtype.is_floating_point:
            assert dtype is None or o.dtype == np.dtype(dtype), f"output {k}: dtype {o.dtype}"
            _close(o, r.detach().numpy(), tols["value"], f"values of output {k}", exact)
        else:
            np.testing.assert_array_equal(o.numpy(), r.numpy(), err_msg=f"values of output {k}")
    first, ref = outs[0], refs[0]
    if not (grad and diff) or not ref.requires_grad:
        return out
    second = gradgrad and tols["gradgrad"] is not None
    u = rng.standard_normal(tuple(ref.shape)).astype(dtype_name(ref))
    ug, ut = tg.tensor(u, requires_grad=second), torch.tensor(u, requires_grad=second)
    gx = tg.grad(first, [xs[i] for i in diff], grad_outputs=ug, create_graph=second,
                 allow_unused=True)
    gt = torch.autograd.grad(ref, [ts[i] for i in diff], grad_outputs=ut, create_graph=second,
                             allow_unused=True)
    for i, a, b in zip(diff, gx, gt):
        assert not (exact and a is None and _ref_np(b) is not None), \
            f"gradient of input {i}: tinygan gives none, torch one"
        _close(a, _ref_np(b), tols["grad"], f"gradient of input {i}", exact)
    if not second:
        return out
    vs = [rng.standard_normal(arrays[i].shape).astype(arrays[i].dtype) for i in diff]
    s_ours = _weighted_sum(gx, [tg.tensor(v) for v in vs], tg.tensor(np.zeros((), first.dtype)))
    s_ref = _weighted_sum(gt, [torch.tensor(v) for v in vs], torch.zeros((), dtype=ref.dtype))
    # w.r.t. u too, unless torch's first derivative is constant (then no graph to compare)
    with_u = tol.cotangent and s_ref.requires_grad
    wrt_ours = [xs[i] for i in diff] + ([ug] if with_u else [])
    wrt_ref = [ts[i] for i in diff] + ([ut] if with_u else [])
    hx = tg.grad(s_ours, wrt_ours, allow_unused=True) if s_ours.requires_grad else [None] * len(wrt_ours)
    ht = torch.autograd.grad(s_ref, wrt_ref, allow_unused=True) if s_ref.requires_grad else \
        [None] * len(wrt_ref)
    for k, (a, b) in enumerate(zip(hx, ht)):
        what = "the cotangent" if k == len(diff) else f"input {diff[k]}"
        _close(a, _ref_np(b), tols["gradgrad"], f"grad of grad w.r.t. {what}", exact,
               nan_ok=finite_where_torch_nan)
    return out


def compare_with(tol):
    """``compare`` with the tolerance preset ``tol`` bound: a test module's ``compare``."""
    return functools.partial(compare, tol=tol)


def same_error(f_tg, f_torch):
    """Both raise (tinygan's exception an instance of torch's exception class, on one line) or
    neither does; returns (ours, theirs)."""
    try:
        theirs = f_torch()
        err_t = None
    except Exception as exc:  # noqa: BLE001 -- the oracle's class is what we compare
        theirs, err_t = None, exc
    try:
        ours = f_tg()
        err = None
    except Exception as exc:  # noqa: BLE001
        ours, err = None, exc
    if err_t is None:
        assert err is None, f"tinygan raised {err!r}, torch returned a result"
    else:
        assert err is not None, f"torch raised {err_t!r}, tinygan returned a result"
        assert isinstance(err, type(err_t)), f"tinygan raised {err!r}, torch {err_t!r}"
        assert "\n" not in str(err), "error messages are one line"
    return ours, theirs


def integer_input_like_torch(ours, theirs, x: np.ndarray) -> None:
    """An op on the integer array x: where torch refuses it (RuntimeError: floating tensors only),
    tinygan raises TypeError naming "floating"; where torch computes it, tinygan gives the same
    dtype and values."""
    torch = pytest.importorskip("torch")
    try:
        ref = theirs(torch.tensor(x))
    except RuntimeError:
        with pytest.raises(TypeError, match="floating"):
            ours(tg.tensor(x))
        return
    out = ours(tg.tensor(x))
    assert out.dtype.name == str(ref.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
