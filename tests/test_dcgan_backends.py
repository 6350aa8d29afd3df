"""A whole DCGAN train step (CMU 11-695's networks, D then G, Adam 2e-4 / (0.5, 0.999), dropout on)
through every backend gives the reference backend's (the spec's) losses, gradients and updated parameters.

Tolerance, and why. Every backend computes in float32 with its own summation order (blocked
GEMMs, split reductions), so it cannot match the spec's float32 bits; what it must match is
the spec's *accuracy*. The test runs the spec twice, in float32 and in float64 (the "truth"),
and requires, for every parameter gradient::

    |ours - spec32| / |spec32|  <=  3 * |spec32 - spec64| / |spec64|      (Frobenius norms)

i.e. a backend may differ from the spec by at most three times the spec's own float32 rounding
error on the same step (measured: 0.6-1.2 times; a wrong term -- a missed tap, a wrong stride --
shows up as 1e-3 or more, orders of magnitude over the bound). Losses and D's outputs: absolute
1e-6 (float32 rounding of values ~1 is 1e-7; measured differences <= 6e-8).

Parameters after the step are checked against a looser, stated bound: Adam's first update moves
a parameter by lr * g / (|g| + eps) for bias-corrected moments, anywhere in [-lr, lr] when |g| is
near eps = 1e-8, so rounding-level differences in a tiny gradient move it by up to 2 lr. The
bound is 2 lr per entry, and the mean change must agree to 1 % (the gradients' test is the sharp
one).

The dropout masks are the same on every backend (drawn from the seeded Generator on the CPU), so
the backends see the same network. The GPU backends run the same test with the whole step on
device "cuda" (marked ``gpu``: skipped without a GPU).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygan as tg
from tinygan.models import dcgan
from tinygan.optim import Adam
from tinygan.optim.minimax import AlternatingGDA
from tinygan.trainers.dcgan_step import train_step

LR = 2e-4
BATCH = 8


def _cpu_backends():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: info for name, info in tg.backends.available().items() if info["device"] == "cpu"}


def _host(t):
    return t.to("cpu").numpy().astype(np.float64)


def _step(backend: str, dtype, device: str = "cpu"):
    """Losses, gradients and parameters after one alternating step from fixed weights and data
    (built on the CPU, then moved to ``device``: the same numbers on every device)."""
    with tg.set_backend(backend):
        G, D = dcgan.build("tf", dtype=dtype, generator=tg.Generator(0), dropout_generator=tg.Generator(1))
        G.to(device), D.to(device)
        rng = np.random.default_rng(2)
        real = rng.uniform(-1, 1, (BATCH, 1, 28, 28)).astype(dtype)
        z = rng.standard_normal((BATCH, dcgan.Z_DIM)).astype(dtype)
        named = [(f"{n}/{k}", p) for n, M in (("G", G), ("D", D)) for k, p in M.named_parameters()]
        before = {k: _host(p) for k, p in named}
        scheme = AlternatingGDA(Adam(G.parameters(), lr=LR, betas=(0.5, 0.999)),
                                Adam(D.parameters(), lr=LR, betas=(0.5, 0.999)))
        out = train_step(G, D, scheme, tg.tensor(real, device=device), tg.tensor(z, device=device),
                         "nonsaturating")
        grads = {k: _host(p.grad) for k, p in named}
        after = {k: _host(p) for k, p in named}
    return out, grads, before, after


@pytest.fixture(scope="module")
def spec():
    return _step("reference", np.float32), _step("reference", np.float64)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _check_against_spec(result, spec):
    (out32, g32, before, p32), (out64, g64, _, p64) = spec
    out, grads, before_ours, after = result
    for key in before:                                   # same starting point
        np.testing.assert_array_equal(before_ours[key], before[key])
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert abs(out[key] - out32[key]) <= 1e-6, (key, out[key], out32[key])
        assert abs(out32[key] - out64[key]) <= 1e-6      # and the spec itself is that accurate
    assert len(grads) == 16
    for key, g in grads.items():
        spec_err = _rel(g32[key], g64[key])
        assert 0 < np.linalg.norm(g64[key])
        assert _rel(g, g32[key]) <= 3 * spec_err, (key, _rel(g, g32[key]), spec_err)
    for key, p in after.items():
        assert np.abs(p - p32[key]).max() <= 2 * LR, key
        moved, moved_spec = np.abs(p - before[key]).mean(), np.abs(p32[key] - before[key]).mean()
        assert abs(moved - moved_spec) <= 0.01 * moved_spec + 1e-12, (key, moved, moved_spec)


@pytest.mark.parametrize("name", sorted(set(_cpu_backends()) - {"reference"}))
def test_whole_dcgan_step_matches_spec(name, spec):
    info = _cpu_backends()[name]
    if not info["available"]:
        pytest.skip(f"backend {name!r} unavailable: {info['reason']}")
    _check_against_spec(_step(name, np.float32), spec)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["cuda", "triton"])
def test_whole_dcgan_step_on_the_gpu_matches_spec(name, spec):
    """The same step with every tensor on device "cuda" (CuPy arrays), kernels from ``name``."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no device")
    except Exception as exc:  # noqa: BLE001 - no CuPy, no driver, no device: skip
        pytest.skip(f"no CUDA device ({type(exc).__name__}: {exc})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = tg.backends.available()[name]
    assert info["available"], f"a GPU is present but backend {name!r} is unavailable: {info['reason']}"
    _check_against_spec(_step(name, np.float32, device="cuda"), spec)
