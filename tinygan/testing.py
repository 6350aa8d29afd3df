"""Checks that tinygan's own tests use, public so users can test their ops the same way.

- :func:`dottest` -- a linear operator A and its adjoint agree: <A x, y> = <x, A^T y>.
- :func:`check_vjp` -- autograd's vector-Jacobian product against central differences, with a
  random cotangent u and random direction v: <J^T u, v> (autograd) = <u, J v> (finite differences).
- :func:`gradcheck` -- the whole Jacobian, entry by entry (small inputs only).
- Hypothesis strategies (need ``hypothesis``): :func:`broadcastable_shapes`, :func:`arrays`
  (which include non-contiguous views), :func:`float_tensors`.

All numerical checks work in float64.
"""
from __future__ import annotations

import numpy as np

from .autograd import grad as _grad
from .tensor import Tensor


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _inner(a, b) -> float:
    a = np.asarray(a.numpy() if isinstance(a, Tensor) else a, dtype=np.float64)
    b = np.asarray(b.numpy() if isinstance(b, Tensor) else b, dtype=np.float64)
    return float(np.vdot(a.ravel(), b.ravel()))


def dottest(op, dtype=np.float64, rng=None, rtol=None, raise_error=True):
    """<A x, y> versus <x, A^T y> for random x, y; returns (lhs, rhs).

    Passes when |lhs - rhs| <= rtol * (||A x|| ||y|| + ||x|| ||A^T y||): the error is measured
    against the size of the vectors being multiplied (the Cauchy-Schwarz bounds of both sides),
    not against |lhs|, which a random inner product can bring arbitrarily close to zero. Default
    rtol 1e-12 in float64, 1e-5 in float32; inner products are always summed in float64."""
    rng = _rng(rng)
    dtype = np.dtype(dtype)
    rtol = rtol if rtol is not None else (1e-12 if dtype == np.float64 else 1e-5)
    x = rng.standard_normal(op.in_shape).astype(dtype)
    y = rng.standard_normal(op.out_shape).astype(dtype)
    ax, aty = op.apply(x), op.adjoint(y)
    if tuple(ax.shape) != tuple(op.out_shape) or tuple(aty.shape) != tuple(op.in_shape):
        raise AssertionError(f"dottest: {op!r} returned shapes {ax.shape} / {aty.shape}, expected "
                             f"{tuple(op.out_shape)} / {tuple(op.in_shape)}")
    if ax.dtype != dtype or aty.dtype != dtype:
        raise AssertionError(f"dottest: {op!r} turned {dtype} inputs into {ax.dtype} / {aty.dtype}")
    lhs, rhs = _inner(ax, y), _inner(x, aty)
    scale = _norm(ax) * _norm(y) + _norm(x) * _norm(aty)
    err = abs(lhs - rhs)
    if raise_error and err > rtol * scale + np.finfo(np.float64).tiny:
        raise AssertionError(f"dottest failed for {op!r}: <Ax,y>={lhs!r} <x,A^T y>={rhs!r} "
                             f"(|diff| {err:.3e} > {rtol:g} * {scale:.3e})")
    return lhs, rhs


def _norm(a) -> float:
    return float(np.sqrt(_inner(a, a)))


def _as_f64_inputs(inputs):
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            arr = x.numpy()
        else:
            arr = np.asarray(x)
        if arr.dtype.kind == "f":
            # keep a float64 array as it is (strides included): non-contiguous inputs stay non-contiguous
            out.append(Tensor(arr if arr.dtype == np.float64 else arr.astype(np.float64),
                              requires_grad=True))
        else:
            out.append(x if isinstance(x, Tensor) else Tensor(arr))
    return out


def check_vjp(f, *inputs, eps=1e-6, rtol=1e-6, atol=1e-9, rng=None, raise_error=True):
    """Check autograd's VJP of ``f`` at ``inputs`` against central differences (float64).

    Draws a random cotangent u (shape of f's output) and random directions v_i (shapes of the
    floating inputs) and compares
        autograd:  sum_i <grad_i(u), v_i>        (one reverse pass with grad_outputs=u)
        numerics:  <u, (f(x + eps v) - f(x - eps v)) / (2 eps)>
    Returns (autograd_value, numeric_value); raises AssertionError when they differ by more than
    ``atol + rtol * scale``, where scale is the sum of the terms' magnitudes."""
    rng = _rng(rng)
    xs = _as_f64_inputs(inputs)
    diff = [i for i, x in enumerate(xs) if x.requires_grad]
    if not diff:
        raise ValueError("check_vjp: no floating input to differentiate")
    out = f(*xs)
    u = rng.standard_normal(out.shape)
    vs = {i: rng.standard_normal(xs[i].shape) for i in diff}
    grads = _grad(out, [xs[i] for i in diff], grad_outputs=Tensor(u), allow_unused=True)
    auto = 0.0
    scale = 0.0
    for i, g in zip(diff, grads):
        if g is not None:
            auto += _inner(g, vs[i])
            scale += np.abs(g.numpy() * vs[i]).sum()

    def shifted(sign):
        moved = [Tensor(x.numpy() + sign * eps * vs[i]) if i in vs else x for i, x in enumerate(xs)]
        return f(*moved).numpy().astype(np.float64)

    numeric = _inner(u, (shifted(+1) - shifted(-1)) / (2 * eps))
    scale += abs(numeric)
    if raise_error and not abs(auto - numeric) <= atol + rtol * scale:
        raise AssertionError(f"check_vjp: autograd <J^T u, v> = {auto!r} but central differences "
                             f"<u, J v> = {numeric!r} (|diff| {abs(auto - numeric):.3e}, "
                             f"allowed {atol + rtol * scale:.3e})")
    return auto, numeric


def gradcheck(f, *inputs, eps=1e-6, rtol=1e-5, atol=1e-8, raise_error=True) -> bool:
    """Compare the full Jacobian of ``f`` (autograd, one reverse pass per output entry) with
    central differences, entry by entry. Meant for small inputs."""
    xs = _as_f64_inputs(inputs)
    diff = [i for i, x in enumerate(xs) if x.requires_grad]
    out = f(*xs)
    n_out = out.numel()
    for i in diff:
        x = xs[i]
        auto = np.zeros((n_out, x.numel()))
        for k in range(n_out):
            u = np.zeros(n_out)
            u[k] = 1.0
            (g,) = _grad(out, [x], grad_outputs=Tensor(u.reshape(out.shape)), allow_unused=True)
            if g is not None:
                auto[k] = g.numpy().ravel()
        numeric = np.zeros_like(auto)
        base = x.numpy().copy()
        for j in range(x.numel()):
            cols = []
            for sign in (+1, -1):
                moved = base.copy().ravel()
                moved[j] += sign * eps
                args = list(xs)
                args[i] = Tensor(moved.reshape(base.shape))
                cols.append(f(*args).numpy().ravel().astype(np.float64))
            numeric[:, j] = (cols[0] - cols[1]) / (2 * eps)
        if not np.allclose(auto, numeric, rtol=rtol, atol=atol):
            if raise_error:
                worst = np.unravel_index(np.argmax(np.abs(auto - numeric)), auto.shape)
                raise AssertionError(f"gradcheck: Jacobian w.r.t. input {i} differs; worst entry "
                                     f"{worst}: autograd {auto[worst]!r} vs numeric {numeric[worst]!r}")
            return False
    return True


# ---- Hypothesis strategies ----------------------------------------------------------------------
def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together (some axes of length 1, some missing)."""
    from hypothesis.extra import numpy as hnp
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda r: r.input_shapes)


def arrays(shape, dtype=np.float64, elements=None, noncontiguous=True):
    """Arrays of ``shape`` with finite values in [-3, 3] (or ``elements``); with
    ``noncontiguous`` some are strided views (every other element) or transposed copies' views."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    if elements is None:
        elements = st.floats(-3, 3, allow_nan=False, width=np.dtype(dtype).itemsize * 8)
    shape = tuple(shape)
    layouts = st.sampled_from(["contiguous", "strided", "transposed"] if noncontiguous else ["contiguous"])

    def build(draw_args):
        layout, data = draw_args
        if layout == "strided" and shape:
            big = np.zeros(tuple(2 * n for n in shape), dtype=dtype)
            view = big[tuple(slice(None, None, 2) for _ in shape)]
            view[...] = data
            return view
        if layout == "transposed" and len(shape) >= 2:
            return np.ascontiguousarray(data.T).T
        return data

    return st.tuples(layouts, hnp.arrays(dtype, shape, elements=elements)).map(build)


def float_tensors(shape, dtype=np.float64, requires_grad=False, noncontiguous=True):
    """Tensors over :func:`arrays` (non-contiguous data included)."""
    return arrays(shape, dtype, noncontiguous=noncontiguous).map(
        lambda a: Tensor(a, requires_grad=requires_grad))
