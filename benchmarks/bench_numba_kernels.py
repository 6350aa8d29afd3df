"""Time tinygan's Numba backend against the NumPy reference and PyTorch CPU on the DCGAN layers.

    PYTHONPATH=. python benchmarks/bench_numba_kernels.py [--threads 2] [--reps 9] [--json out.json]
                                                          [--cold-cache]

Every kernel of the DCGAN of CMU 11-695's "GAN II" notes (arch "tf", batch 64) is timed three ways on the same inputs:
``numba_cpu`` (numba.set_num_threads), ``numpy`` (OpenBLAS threads) and torch
(torch.set_num_threads), all with ``--threads``. Each number is the median of ``--reps``
back-to-back calls after ``--warmup`` calls; the whole table is timed ``--rounds`` times over and
each kernel keeps its lowest median (the machine is shared: the quietest round is the one that
reproduces, and spreading the rounds over the run keeps one burst of load from spoiling them all).
Blocks of different libraries are never interleaved call by call, and each block starts after a
pause, so one library's spinning worker threads do not steal the other's cores.

Before timing, the numba and numpy results are checked against torch (max error relative to
the largest |value|). JIT compilation is reported separately: ``compile_all()`` runs first, in
this process, and its seconds are printed; it loads from numba's on-disk cache when one exists,
``--cold-cache`` points NUMBA_CACHE_DIR at an empty directory to time a cold compile.

Transpose convs are adjoints: their forward is ``conv2d_dgrad``, their input gradient
``conv2d_fwd``, their weight gradient ``conv2d_wgrad`` with x and dy swapped; torch is timed on
``conv_transpose2d`` and its backward. Batch norm: training mode forward (with running-stat
update) and backward.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time


def _parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="threads for every library")
    ap.add_argument("--reps", type=int, default=9, help="timed repetitions (median reported), >= 5")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="repeat each block, keep the quietest")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--only", default="", help="substring filter on the layer name")
    ap.add_argument("--cold-cache", action="store_true", help="compile with an empty numba cache")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args()
    if args.reps < 5:
        ap.error("--reps must be >= 5")
    return args


ARGS = _parse()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
if ARGS.cold_cache:
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="tinygan-numba-cache-")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import numba  # noqa: E402
from tinygan.backends import numba_cpu as NB  # noqa: E402
from tinygan.backends import numpy as NP  # noqa: E402

# name, kind, x (the layer's input, without batch), weight (torch layout), stride, padding, output_padding
CONVS = [
    ("D conv1 1->64 28x28", "conv", (1, 28, 28), (64, 1, 5, 5), 2, 2, 0),
    ("D conv2 64->128 14x14", "conv", (64, 14, 14), (128, 64, 5, 5), 2, 2, 0),
    ("G tconv1 256->128 7x7", "tconv", (256, 7, 7), (256, 128, 5, 5), 1, 2, 0),
    ("G tconv2 128->64 7x7->14x14", "tconv", (128, 7, 7), (128, 64, 5, 5), 2, 2, 1),
    ("G tconv3 64->1 14x14->28x28", "tconv", (64, 14, 14), (64, 1, 5, 5), 2, 2, 1),
]
NORMS = [  # name, input shape without batch
    ("BatchNorm2d 256x7x7", (256, 7, 7)),
    ("BatchNorm2d 128x7x7", (128, 7, 7)),
    ("BatchNorm2d 64x14x14", (64, 14, 14)),
    ("BatchNorm1d 12544", (12544,)),
]


def _median_ms(fn):
    time.sleep(0.3)
    for _ in range(ARGS.warmup):
        fn()
    times = []
    for _ in range(ARGS.reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _conv_cases(name, kind, in_chw, w_shape, s, p, op, batch, rng):
    """Yield (label, numba thunk, numpy thunk, torch thunk) for one layer's three kernels."""
    st, pd, dl, g = (s, s), (p, p), (1, 1), 1
    x = rng.standard_normal((batch, *in_chw), dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    if kind == "conv":
        y = F.conv2d(xt, wt, stride=s, padding=p)
        dy = rng.standard_normal(tuple(y.shape), dtype=np.float32)
        dyt = torch.from_numpy(dy)
        bwd = dict(bias_sizes=None, stride=[s, s], padding=[p, p], dilation=[1, 1], transposed=False,
                   output_padding=[0, 0], groups=1)
        fwd = lambda K: lambda: K.conv2d_fwd(x, w, st, pd, dl, g)  # noqa: E731
        dgr = lambda K: lambda: K.conv2d_dgrad(dy, w, x.shape, st, pd, dl, g)  # noqa: E731
        wgr = lambda K: lambda: K.conv2d_wgrad(x, dy, w.shape, st, pd, dl, g)  # noqa: E731
        yield ("forward: conv2d_fwd", fwd, lambda: F.conv2d(xt, wt, stride=s, padding=p))
        yield ("input grad: conv2d_dgrad", dgr,
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[True, False, False], **bwd)[0])
        yield ("weight grad: conv2d_wgrad", wgr,
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[False, True, False], **bwd)[1])
    else:
        y = F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op)
        dy = rng.standard_normal(tuple(y.shape), dtype=np.float32)
        dyt = torch.from_numpy(dy)
        bwd = dict(bias_sizes=None, stride=[s, s], padding=[p, p], dilation=[1, 1], transposed=True,
                   output_padding=[op, op], groups=1)
        fwd = lambda K: lambda: K.conv2d_dgrad(x, w, tuple(y.shape), st, pd, dl, g)  # noqa: E731
        dgr = lambda K: lambda: K.conv2d_fwd(dy, w, st, pd, dl, g)  # noqa: E731
        wgr = lambda K: lambda: K.conv2d_wgrad(dy, x, w.shape, st, pd, dl, g)  # noqa: E731
        yield ("forward: conv2d_dgrad", fwd,
               lambda: F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op))
        yield ("input grad: conv2d_fwd", dgr,
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[True, False, False], **bwd)[0])
        yield ("weight grad: conv2d_wgrad", wgr,
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[False, True, False], **bwd)[1])


def _norm_cases(name, shape, batch, rng):
    c = shape[0]
    x = (rng.standard_normal((batch, *shape), dtype=np.float32) * 2 + 0.5).astype(np.float32)
    dy = rng.standard_normal(x.shape, dtype=np.float32)
    wgt = rng.standard_normal(c, dtype=np.float32)
    bias = rng.standard_normal(c, dtype=np.float32)
    xt, wtt, bt, dyt = (torch.from_numpy(a) for a in (x, wgt, bias, dy))
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    rmt, rvt = torch.zeros(c), torch.ones(c)
    eps, mom = 1e-3, 0.01
    # saved statistics for the backward: torch's own (identical to the reference's up to rounding)
    _, smean, sinv = torch.ops.aten.native_batch_norm(xt, wtt, bt, rmt.clone(), rvt.clone(), True, mom, eps)
    smean_np, sinv_np = smean.numpy().copy(), sinv.numpy().copy()
    fwd = lambda K: lambda: K.batchnorm_fwd(x, wgt, bias, rm, rv, True, mom, eps)[0]  # noqa: E731
    bwd = lambda K: lambda: K.batchnorm_bwd(dy, x, wgt, smean_np, sinv_np, True)[0]  # noqa: E731
    yield ("forward (train): batchnorm_fwd", fwd,
           lambda: F.batch_norm(xt, rmt, rvt, wtt, bt, training=True, momentum=mom, eps=eps))
    yield ("backward (train): batchnorm_bwd", bwd,
           lambda: torch.ops.aten.native_batch_norm_backward(dyt, xt, wtt, rmt, rvt, smean, sinv, True, eps,
                                                              [True, True, True])[0])


def _rel_err(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))


def main():
    torch.set_num_threads(ARGS.threads)
    numba.set_num_threads(ARGS.threads)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(ARGS.threads)
    except ImportError:
        limits = None
    t0 = time.perf_counter()
    compile_s = NB.compile_all()
    first_call_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    load_before = os.getloadavg()[0]
    cases = [(n, c) for layer in CONVS for n, c in [(layer[0], c) for c in _conv_cases(*layer, ARGS.batch, rng)]]
    cases += [(n, c) for layer in NORMS for n, c in [(layer[0], c) for c in _norm_cases(*layer, ARGS.batch, rng)]]
    cases = [(layer, case) for layer, case in cases if not ARGS.only or ARGS.only in layer]
    libs = {}
    for layer, (label, mk, theirs) in cases:
        ours_nb, ours_np = mk(NB), mk(NP)
        want = theirs().numpy()
        errs = {}
        for key, fn in (("numba", ours_nb), ("numpy", ours_np)):
            got = fn()
            if got.shape != want.shape or not got.flags.c_contiguous:
                sys.exit(f"{layer} {label}: {key} shape {got.shape} vs torch {want.shape}")
            errs[key] = _rel_err(got, want)
            if errs[key] > 1e-4:
                sys.exit(f"{layer} {label}: {key} mismatch vs torch (max rel err {errs[key]:.2e})")
        libs[(layer, label)] = dict(fns=(("numba", ours_nb), ("numpy", ours_np), ("torch", theirs)),
                                    errs=errs, t={"numba": float("inf"), "numpy": float("inf"),
                                                  "torch": float("inf")})
    # Rounds outermost: each kernel is timed at a few moments spread over the whole run, so
    # a burst of someone else's load spoils one round of a kernel, not all of them.
    for _ in range(ARGS.rounds):
        for entry in libs.values():
            for key, fn in entry["fns"]:
                entry["t"][key] = min(entry["t"][key], _median_ms(fn))
    rows = []
    for (layer, label), entry in libs.items():
        t, errs = entry["t"], entry["errs"]
        rows.append(dict(layer=layer, kernel=label, numba_ms=t["numba"], numpy_ms=t["numpy"],
                         torch_ms=t["torch"], speedup_vs_numpy=t["numpy"] / t["numba"],
                         torch_over_numba=t["torch"] / t["numba"], max_rel_err_numba=errs["numba"],
                         max_rel_err_numpy=errs["numpy"]))
    if limits is not None:
        limits.unregister()
    meta = dict(date=datetime.date.today().isoformat(), machine=platform.machine(),
                processor=_cpu_name(), cpus=os.cpu_count(), threads=ARGS.threads, batch=ARGS.batch,
                reps=ARGS.reps, rounds=ARGS.rounds, numpy=np.__version__, numba=numba.__version__,
                torch=torch.__version__, python=platform.python_version(),
                numba_threading_layer=numba.threading_layer(), compile_all_s=compile_s,
                cold_cache=ARGS.cold_cache, first_call_s=first_call_s,
                loadavg_before=load_before, loadavg_after=os.getloadavg()[0])
    _print_table(rows, meta)
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=2)


def _cpu_name():
    try:
        import llvmlite.binding as ll
        return ll.get_host_cpu_name()
    except Exception:  # pragma: no cover
        return platform.processor()


def _print_table(rows, meta):
    print(f"{meta['date']}, {meta['cpus']} CPUs ({meta['processor']}), {meta['threads']} threads, "
          f"numba {meta['numba']} ({meta['numba_threading_layer']} layer), numpy {meta['numpy']}, "
          f"torch {meta['torch']}, float32, batch {meta['batch']}, best of {meta['rounds']} rounds of "
          f"median of {meta['reps']}, load average {meta['loadavg_before']:.2f} -> "
          f"{meta['loadavg_after']:.2f}")
    print(f"compile_all() (float32 + float64, {'cold' if meta['cold_cache'] else 'on-disk'} cache): "
          f"{meta['compile_all_s']:.1f} s (not included below)\n")
    print("| layer | kernel | numba ms | numpy ms | torch ms | numba speedup vs numpy "
          "| torch/numba |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['layer']} | {r['kernel']} | {r['numba_ms']:.2f} | {r['numpy_ms']:.2f} | "
              f"{r['torch_ms']:.2f} | {r['speedup_vs_numpy']:.2f} | {r['torch_over_numba']:.2f} |")
    tot = {k: sum(r[k] for r in rows) for k in ("numba_ms", "numpy_ms", "torch_ms")}
    print(f"| **total** | | {tot['numba_ms']:.1f} | {tot['numpy_ms']:.1f} | {tot['torch_ms']:.1f} | "
          f"{tot['numpy_ms'] / tot['numba_ms']:.2f} | {tot['torch_ms'] / tot['numba_ms']:.2f} |")


if __name__ == "__main__":
    main()
