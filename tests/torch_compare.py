"""Compare a tinygan op with its torch twin: values, dtype, gradient and grad of grad.

``compare(ours, theirs, inputs)`` builds tinygan and torch tensors from the same numpy arrays
(floating arrays require grad), checks the forward values and dtypes, then the VJP for a random
cotangent u, then the second derivative: the gradient of <VJP(u), v> (v random) with respect to the
inputs *and* to u, so linear ops (whose VJP does not depend on x) are differentiated twice too.

Tolerances: float64 rtol 1e-9 / atol 1e-11 (rounding order only); float32 rtol 2e-5 / atol 2e-5
(a few ulps of values of order one, summed over at most a few dozen terms).
"""
import numpy as np

import tinygan as tg

torch = __import__("pytest").importorskip("torch")

BACKENDS = ("numpy", "cpp")
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-5, atol=2e-5)}


def _torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _pair(a, dtype):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(dtype)
        return (tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))
    return tg.tensor(a), torch.tensor(a)


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _check(ours, ref, tol, what):
    if ref is None or ours is None:     # "no gradient" and a gradient of zeros are the same
        other = ours if ref is None else ref.detach()
        if other is not None:
            np.testing.assert_allclose(other.numpy(), 0.0, err_msg=f"{what}: one side has none", **tol)
        return
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), err_msg=what, **tol)


def compare(ours, theirs, inputs, dtype=np.float64, second=None, backend="numpy", seed=0):
    """Assert ``ours(*inputs)`` equals ``theirs(*inputs)`` in value, dtype, VJP and (float64 by
    default) grad of grad. ``inputs`` are numpy arrays; integer ones are passed without grad."""
    tol = TOL[np.dtype(dtype).type]
    second = (np.dtype(dtype) == np.float64) if second is None else second
    rng = np.random.default_rng(seed)
    with tg.set_backend(backend):
        pairs = [_pair(a, dtype) for a in inputs]
        xs, ts = [p[0] for p in pairs], [p[1] for p in pairs]
        out, ref = ours(*xs), theirs(*ts)
        outs = out if isinstance(out, tuple) else (out,)
        refs = ref if isinstance(ref, tuple) else (ref,)
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert o.shape == tuple(r.shape), f"shape {o.shape} != torch {tuple(r.shape)}"
            assert str(o.dtype) == _torch_dtype_name(r), f"dtype {o.dtype} != torch {r.dtype}"
            if r.dtype.is_floating_point:
                np.testing.assert_allclose(o.numpy(), r.detach().numpy(), **tol)
            else:
                np.testing.assert_array_equal(o.numpy(), r.numpy())
        out, ref = _first(out), _first(ref)
        diff = [i for i, t in enumerate(ts) if t.requires_grad]
        if not ref.requires_grad or not diff:
            return
        u = rng.standard_normal(tuple(ref.shape)).astype(dtype)
        ug, ut = tg.tensor(u, requires_grad=True), torch.tensor(u, requires_grad=True)
        gx = tg.grad(out, [xs[i] for i in diff], grad_outputs=ug, create_graph=second, allow_unused=True)
        gt = torch.autograd.grad(ref, [ts[i] for i in diff], grad_outputs=ut, create_graph=second,
                                 allow_unused=True)
        for i, a, b in zip(diff, gx, gt):
            _check(a, b, tol, f"gradient of input {i}")
        if not second:
            return
        vs = [rng.standard_normal(xs[i].shape).astype(dtype) for i in diff]
        s_ours = sum(((a * tg.tensor(v)).sum() for a, v in zip(gx, vs) if a is not None),
                     tg.tensor(np.zeros((), dtype)))
        s_ref = sum(((b * torch.tensor(v)).sum() for b, v in zip(gt, vs) if b is not None),
                    torch.tensor(np.zeros((), dtype)))
        if not s_ref.requires_grad:
            return
        wrt_ours = [xs[i] for i in diff] + [ug]
        wrt_ref = [ts[i] for i in diff] + [ut]
        gg = tg.grad(s_ours, wrt_ours, allow_unused=True)
        ggt = torch.autograd.grad(s_ref, wrt_ref, allow_unused=True)
        for k, (a, b) in enumerate(zip(gg, ggt)):
            _check(a, b, tol, f"grad of grad, argument {k}")
