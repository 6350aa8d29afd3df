"""Compare a tinygan function with torch's: value, VJP, and the second-order VJP (grad of grad).

For y = f(x_1, ..., x_k), a cotangent u and directions v_i:
  first order:  g_i = J_i^T u                                  (tinygan.grad vs torch.autograd.grad)
  second order: d/d(x, u) of sum_i <g_i, v_i>, built with create_graph=True in both libraries.
The second order exercises every VJP's own VJP (a VJP written in Tensor ops differentiates again).

Tolerances: float64 1e-10 (relative and absolute), value, gradient and grad of grad; float32
``F32_TOL`` = 1e-5 (relative and absolute, values of order 1) on the value and the gradient: the
two libraries round in different orders, nothing more. Grad of grad is compared in float64 only
(in float32 its cancellations leave errors of a few 1e-5 in both libraries).
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygan as tg

torch = pytest.importorskip("torch")

F64_TOL = 1e-10
F32_TOL = 1e-5


def _tol(dtype):
    return F64_TOL if np.dtype(dtype) == np.float64 else F32_TOL


def _close(ours, theirs, dtype, what):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = ours.numpy() if hasattr(ours, "numpy") else np.asarray(ours)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    tol = _tol(dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=what)


def compare(f_tg, f_torch, arrays, dtype=np.float64, rng=0, second_order=True, diff=None):
    """Check value, first- and second-order VJPs of ``f_tg`` against ``f_torch`` at ``arrays``
    (numpy arrays; those listed in ``diff`` -- default: all floating ones -- are differentiated)."""
    rng = np.random.default_rng(rng)
    arrays = [np.asarray(a, dtype=dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]
    diff = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if diff is None else diff
    xs = [tg.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out, ref = f_tg(*xs), f_torch(*ts)
    _close(out, ref, dtype, "value")
    assert out.dtype == np.dtype(dtype)
    if not diff:
        return
    u = rng.standard_normal(ref.shape).astype(dtype)
    u_tg = tg.tensor(u, requires_grad=True)
    u_t = torch.tensor(u, requires_grad=True)
    g_tg = tg.grad(out, [xs[i] for i in diff], grad_outputs=u_tg, create_graph=second_order,
                   allow_unused=True)
    g_t = torch.autograd.grad(ref, [ts[i] for i in diff], grad_outputs=u_t,
                              create_graph=second_order, allow_unused=True)
    for i, a, b in zip(diff, g_tg, g_t):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"grad {i}: torch has none"
        else:
            _close(a, b, dtype, f"grad of input {i}")
    if not second_order or np.dtype(dtype) != np.float64:
        return
    vs = [rng.standard_normal(arrays[i].shape).astype(dtype) for i in diff]
    s_tg = sum(((g * tg.tensor(v)).sum() for g, v in zip(g_tg, vs) if g is not None),
               tg.tensor(np.zeros((), dtype)))
    s_t = sum(((g * torch.tensor(v)).sum() for g, v in zip(g_t, vs) if g is not None),
              torch.zeros((), dtype=ref.dtype))
    wrt_tg = [xs[i] for i in diff] + [u_tg]
    wrt_t = [ts[i] for i in diff] + [u_t]
    gg_t = torch.autograd.grad(s_t, wrt_t, allow_unused=True) if s_t.requires_grad else \
        [None] * len(wrt_t)
    gg_tg = tg.grad(s_tg, wrt_tg, allow_unused=True) if s_tg.requires_grad else [None] * len(wrt_tg)
    for k, (a, b) in enumerate(zip(gg_tg, gg_t)):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"grad of grad {k}: torch has none"
        elif a is None:
            assert not b.detach().numpy().any(), f"grad of grad {k}: tinygan has none"
        else:
            _close(a, b, dtype, f"grad of grad w.r.t. {'u' if k == len(diff) else k}")


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
