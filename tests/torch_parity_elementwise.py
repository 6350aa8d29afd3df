"""Helpers for the parity tests: run a tinygan function and its torch counterpart on the same
arrays and compare outputs (values and dtype), gradients and grads of grads (torch: oracle only).

Tolerances: float64 rtol 1e-9 / atol 1e-12 (both libraries round differently inside composite
formulas, never by more than a few ulps times the formula's condition number); float32 rtol 2e-5 /
atol 1e-6 for values and rtol 1e-4 / atol 1e-5 for gradients (both compute in float32: a few ulps
of each intermediate)."""
import numpy as np
import pytest

import tinygan as tg

torch = pytest.importorskip("torch")

TOL = {np.float64: dict(value=(1e-9, 1e-12), grad=(1e-9, 1e-11)),
       np.float32: dict(value=(2e-5, 1e-6), grad=(1e-4, 1e-5))}
BACKENDS = ["numpy", "cpp"]


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _np(t):
    """A torch tensor's values (torch's lazy all-zero "ZeroTensor" gradients included)."""
    t = t.detach()
    return np.zeros(tuple(t.shape)) if t._is_zerotensor() else t.numpy()


def _close(ours, ref, tol, what):
    ours = np.asarray(ours.numpy() if hasattr(ours, "numpy") else ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=tol[0], atol=tol[1], err_msg=what)


def compare(ours_fn, torch_fn, arrays, *, grad=True, gradgrad=True, rng=0, diff=None,
            finite_where_torch_nan=False, grad_tol=None):
    """ours_fn(*tinygan tensors) vs torch_fn(*torch tensors) on ``arrays``. Floating arrays listed in
    ``diff`` (default: all floating ones) require grad. Checks dtype, shape and values; then the
    VJP with a random cotangent; then the derivative of <VJP, v> for a random v (grad of grad).
    ``finite_where_torch_nan``: at a singular point (atan2 at the origin, copysign at 0, pow at
    base 0) torch's second derivative is NaN and ours finite (or NaN too); accept that (and only
    that) difference in the grads of grads."""
    rng = np.random.default_rng(rng)
    floating = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    diff = floating if diff is None else diff
    dtype = np.asarray(arrays[floating[0]]).dtype.type if floating else None
    xs = [tg.tensor(np.asarray(a), requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(np.asarray(a), requires_grad=i in diff) for i, a in enumerate(arrays)]
    out, ref = ours_fn(*xs), torch_fn(*ts)
    assert out.shape == tuple(ref.shape), (out.shape, ref.shape)
    assert out.dtype.name == dtype_name(ref), (out.dtype, ref.dtype)
    tol = TOL.get(dtype, TOL[np.float64]) if out.dtype.kind == "f" else dict(value=(0, 0))
    if grad_tol is not None and dtype == np.float64:
        tol = dict(tol, grad=grad_tol)
    _close(out, ref.detach().numpy(), tol["value"], "values")
    if not (grad and diff) or not ref.requires_grad:
        return out
    cot = rng.standard_normal(ref.shape).astype(out.dtype)
    gx = tg.grad(out, [xs[i] for i in diff], grad_outputs=tg.tensor(cot), create_graph=gradgrad,
                 allow_unused=True)
    gt = torch.autograd.grad(ref, [ts[i] for i in diff], torch.tensor(cot), create_graph=gradgrad,
                             allow_unused=True)
    for k, (a, b) in enumerate(zip(gx, gt)):
        b = np.zeros(ts[diff[k]].shape) if b is None else _np(b)
        a = np.zeros(xs[diff[k]].shape) if a is None else a
        _close(a, b, tol["grad"], f"gradient of input {diff[k]}")
    if not gradgrad:
        return out
    vs = [rng.standard_normal(xs[i].shape).astype(out.dtype) for i in diff]
    s_ours = sum(((g * tg.tensor(v)).sum() for g, v in zip(gx, vs)
                  if g is not None and g.requires_grad), tg.tensor(0.0, dtype=out.dtype))
    s_ref = sum(((g * torch.tensor(v)).sum() for g, v in zip(gt, vs)
                 if g is not None and g.requires_grad), torch.tensor(0.0, dtype=ref.dtype))
    if not s_ref.requires_grad:
        if s_ours.requires_grad:      # torch's second derivative is identically zero here
            for h in tg.grad(s_ours, [xs[i] for i in diff], allow_unused=True):
                if h is not None:
                    _close(h, np.zeros(h.shape), tol["grad"], "grad of grad (torch: none)")
        return out
    hx = tg.grad(s_ours, [xs[i] for i in diff], allow_unused=True) if s_ours.requires_grad else [None] * len(diff)
    ht = torch.autograd.grad(s_ref, [ts[i] for i in diff], allow_unused=True)
    for k, (a, b) in enumerate(zip(hx, ht)):
        b = np.zeros(ts[diff[k]].shape) if b is None else _np(b)
        a = np.zeros(xs[diff[k]].shape) if a is None else a.numpy()
        if finite_where_torch_nan:
            a, b = np.where(np.isnan(b), 0.0, a), np.where(np.isnan(b), 0.0, b)
        _close(a, b, tol["grad"], f"grad of grad of input {diff[k]}")
    return out
