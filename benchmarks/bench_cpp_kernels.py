"""Time tinygan's C++ backend (tinygan._C) against the NumPy reference and PyTorch CPU on the DCGAN layers.

    PYTHONPATH=. python benchmarks/bench_cpp_kernels.py [--threads 2] [--batch 64,256] [--reps 7]
                                                       [--rounds 5] [--only tconv1] [--no-numpy]
                                                       [--clock wall|cpu] [--json out.json]

Every kernel of the DCGAN of CMU 11-695's "GAN II" notes on MNIST is timed three ways on the same float32 inputs: the
``cpp`` backend (OpenMP, ``cpp.set_num_threads``), ``numpy`` (OpenBLAS threads) and torch
(``torch.set_num_threads``, oneDNN), all with ``--threads`` threads. Each number is the median of
``--reps`` back-to-back calls after ``--warmup`` calls; every kernel is timed once per round, the
rounds being the outer loop (minutes apart), and the lowest median over ``--rounds`` rounds is
kept: on a shared machine a burst of another job spoils a round, and the quietest round is the
one that reproduces (numpy, slow and not the target, is timed in round 1 only). Blocks of
different libraries are never interleaved call by call and each starts after a pause, so one
library's spinning OpenMP/OpenBLAS workers do not steal the other's cores. ``--clock cpu``
(with ``--threads 1``) times the thread's CPU time instead: immune to other jobs.

Before timing, the cpp and numpy results are checked against torch's on the same inputs (max
error relative to the largest |value|, must be < 1e-4).

Transpose convs are adjoints: their forward is ``conv2d_dgrad``, their input gradient
``conv2d_fwd``, their weight gradient ``conv2d_wgrad`` with x and dy swapped; torch is timed on
``conv_transpose2d`` and ``convolution_backward``. Batch norm: training-mode forward (with the
running-statistics update; torch: ``native_batch_norm``) and backward
(``native_batch_norm_backward``, all three gradients). GFLOP/s counts ``2 * N * O * C/G * R * S * Ho
* Wo`` for a conv; for batch norm the column shows GB/s moved (forward: x read twice, y written;
backward: x, dy read twice, dx written).

OPENBLAS_CORETYPE (if set) is left alone; unset it in the command for a fair numpy column.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time


def _parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="threads for every library")
    ap.add_argument("--batch", default="64,256", help="comma-separated batch sizes")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions (median reported), >= 5")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5, help="rounds over all kernels; the quietest is kept")
    ap.add_argument("--only", default="", help="substring filter on the layer name")
    ap.add_argument("--no-numpy", action="store_true", help="skip the (slow) numpy column")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: time the calling thread's CPU time (needs --threads 1); immune to other "
                         "jobs on a shared machine, unlike wall-clock multi-threaded timings")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args()
    if args.reps < 5:
        ap.error("--reps must be >= 5")
    if args.clock == "cpu" and args.threads != 1:
        ap.error("--clock cpu needs --threads 1 (it measures the calling thread only)")
    args.batches = [int(b) for b in args.batch.split(",") if b]
    return args


ARGS = _parse()
# Thread pools are sized when the libraries load: set the variables before importing them.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ["TINYGAN_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tinygan.backends import cpp as CPP  # noqa: E402
from tinygan.backends import numpy_norm as NN  # noqa: E402
from tinygan.backends import numpy as NP  # noqa: E402

if not CPP.AVAILABLE:
    sys.exit(f"the cpp backend is unavailable: {CPP.UNAVAILABLE_REASON}")


class _NumpyKernels:  # numpy's convs + numpy_norm's batch norm under one name
    conv2d_fwd, conv2d_dgrad, conv2d_wgrad = NP.conv2d_fwd, NP.conv2d_dgrad, NP.conv2d_wgrad
    batchnorm_fwd, batchnorm_bwd = NN.batchnorm_fwd, NN.batchnorm_bwd


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


_CLOCK = time.thread_time if ARGS.clock == "cpu" else time.perf_counter


def _median_ms(fn):
    time.sleep(0.3)
    for _ in range(ARGS.warmup):
        fn()
    times = []
    for _ in range(ARGS.reps):
        t0 = _CLOCK()
        fn()
        times.append(_CLOCK() - t0)
    return 1e3 * statistics.median(times)


def _conv_cases(kind, in_chw, w_shape, s, p, op, batch, rng):
    """Yield (label, make(K) -> thunk, torch thunk, work) for one layer's three kernels."""
    st, pd, dl, g = (s, s), (p, p), (1, 1), 1
    x = rng.standard_normal((batch, *in_chw), dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    transposed = kind == "tconv"
    if transposed:
        y = F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op)
        flops = 2 * x.size * w[0].size
    else:
        y = F.conv2d(xt, wt, stride=s, padding=p)
        flops = 2 * y.numel() * w[0].size
    dy = rng.standard_normal(tuple(y.shape), dtype=np.float32)
    dyt = torch.from_numpy(dy)
    bwd = dict(bias_sizes=None, stride=[s, s], padding=[p, p], dilation=[1, 1], transposed=transposed,
               output_padding=[op, op], groups=1)
    dx_t = lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[True, False, False], **bwd)[0]  # noqa: E731
    dw_t = lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[False, True, False], **bwd)[1]  # noqa: E731
    if not transposed:
        yield ("forward: conv2d_fwd", lambda K: lambda: K.conv2d_fwd(x, w, st, pd, dl, g),
               lambda: F.conv2d(xt, wt, stride=s, padding=p), flops)
        yield ("input grad: conv2d_dgrad", lambda K: lambda: K.conv2d_dgrad(dy, w, x.shape, st, pd, dl, g), dx_t, flops)
        yield ("weight grad: conv2d_wgrad", lambda K: lambda: K.conv2d_wgrad(x, dy, w.shape, st, pd, dl, g), dw_t, flops)
    else:
        yield ("forward: conv2d_dgrad", lambda K: lambda: K.conv2d_dgrad(x, w, tuple(y.shape), st, pd, dl, g),
               lambda: F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op), flops)
        yield ("input grad: conv2d_fwd", lambda K: lambda: K.conv2d_fwd(dy, w, st, pd, dl, g), dx_t, flops)
        yield ("weight grad: conv2d_wgrad", lambda K: lambda: K.conv2d_wgrad(dy, x, w.shape, st, pd, dl, g), dw_t, flops)


def _norm_cases(shape, batch, rng):
    c = shape[0]
    x = (rng.standard_normal((batch, *shape), dtype=np.float32) * 2 + 0.5).astype(np.float32)
    dy = rng.standard_normal(x.shape, dtype=np.float32)
    wgt = rng.standard_normal(c, dtype=np.float32)
    bias = rng.standard_normal(c, dtype=np.float32)
    xt, wtt, bt, dyt = (torch.from_numpy(a) for a in (x, wgt, bias, dy))
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    rmt, rvt = torch.zeros(c), torch.ones(c)
    eps, mom = 1e-3, 0.01  # the DCGAN's BatchNorm settings
    _, smean, sinv = torch.ops.aten.native_batch_norm(xt, wtt, bt, rmt.clone(), rvt.clone(), True, mom, eps)
    smean_np, sinv_np = smean.numpy().copy(), sinv.numpy().copy()
    nbytes = x.nbytes
    yield ("forward (train): batchnorm_fwd", lambda K: lambda: K.batchnorm_fwd(x, wgt, bias, rm, rv, True, mom, eps)[0],
           lambda: torch.ops.aten.native_batch_norm(xt, wtt, bt, rmt, rvt, True, mom, eps)[0], -3 * nbytes)
    yield ("backward (train): batchnorm_bwd", lambda K: lambda: K.batchnorm_bwd(dy, x, wgt, smean_np, sinv_np, True)[0],
           lambda: torch.ops.aten.native_batch_norm_backward(dyt, xt, wtt, rmt, rvt, smean, sinv, True, eps,
                                                              [True, True, True])[0], -5 * nbytes)


def _rel_err(got, want):
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))


def main():
    torch.set_num_threads(ARGS.threads)
    CPP.set_num_threads(ARGS.threads)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(ARGS.threads)
    except ImportError:
        limits = None
    rng = np.random.default_rng(0)
    load_before = os.getloadavg()[0]
    libs = [("cpp", CPP)] + ([] if ARGS.no_numpy else [("numpy", _NumpyKernels)])
    cases = []
    for batch in ARGS.batches:
        found = [(layer[0], c) for layer in CONVS for c in _conv_cases(*layer[1:], batch, rng)]
        found += [(layer[0], c) for layer in NORMS for c in _norm_cases(layer[1], batch, rng)]
        for layer, (label, make, theirs, work) in found:
            if ARGS.only and ARGS.only not in layer:
                continue
            want = theirs().numpy()
            fns, errs = {}, {}
            for key, K in libs:
                fns[key] = make(K)
                got = fns[key]()
                if got.shape != want.shape or got.dtype != np.float32 or not got.flags.c_contiguous:
                    sys.exit(f"{layer} {label}: {key} gave {got.shape} {got.dtype} vs torch {want.shape}")
                errs[key] = _rel_err(got, want)
                if errs[key] > 1e-4:
                    sys.exit(f"{layer} {label}: {key} mismatch vs torch (max rel err {errs[key]:.2e})")
            cases.append(dict(batch=batch, layer=layer, kernel=label, fns=fns, torch=theirs, work=work,
                              errs=errs, t={key: float("inf") for key in list(fns) + ["torch"]}))
    # Rounds are the outer loop, so the rounds of one kernel are minutes apart: a burst of
    # another job on the shared machine spoils one round, not all. numpy (not the target of
    # the comparison, and slow) is timed in the first round only.
    for rnd in range(ARGS.rounds):
        for case in cases:
            timed = [(k, f) for k, f in case["fns"].items() if k == "cpp" or rnd == 0] + [("torch", case["torch"])]
            for key, fn in timed:
                case["t"][key] = min(case["t"][key], _median_ms(fn))
            print(f"  round {rnd + 1}: {case['batch']} {case['layer']} {case['kernel']}: cpp {case['t']['cpp']:.3f} ms, "
                  f"torch {case['t']['torch']:.3f} ms", file=sys.stderr)
    rows = []
    for case in cases:
        t, work = case["t"], case["work"]
        rows.append(dict(batch=case["batch"], layer=case["layer"], kernel=case["kernel"], cpp_ms=t["cpp"],
                         numpy_ms=t.get("numpy"), torch_ms=t["torch"], torch_over_cpp=t["torch"] / t["cpp"],
                         gflops=work / t["cpp"] / 1e6 if work > 0 else None,
                         gbytes=-work / t["cpp"] / 1e6 if work < 0 else None,
                         max_rel_err_cpp=case["errs"]["cpp"], max_rel_err_numpy=case["errs"].get("numpy")))
    if limits is not None:
        limits.unregister()
    meta = dict(date=datetime.date.today().isoformat(), machine=platform.machine(), processor=_cpu_name(),
                cpus=os.cpu_count(), threads=ARGS.threads, batches=ARGS.batches, reps=ARGS.reps,
                rounds=ARGS.rounds, clock=ARGS.clock, numpy=np.__version__, torch=torch.__version__,
                python=platform.python_version(), cpp_build=CPP.build_info(),
                openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
                loadavg_before=load_before, loadavg_after=os.getloadavg()[0])
    _print_table(rows, meta)
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=2)


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _print_table(rows, meta):
    print(f"{meta['date']}, {meta['cpus']} CPUs ({meta['processor']}), {meta['threads']} threads, "
          f"tinygan._C ({meta['cpp_build']}), numpy {meta['numpy']} (OPENBLAS_CORETYPE="
          f"{meta['openblas_coretype']}), torch {meta['torch']}, python {meta['python']}, float32, "
          f"best of {meta['rounds']} rounds of median of {meta['reps']} ({meta['clock']} clock), load average "
          f"{meta['loadavg_before']:.2f} -> {meta['loadavg_after']:.2f}\n")
    print("| batch | layer | kernel | tinygan-cpp ms | numpy ms | torch ms | ratio torch/tinygan "
          "| GFLOP/s (BN: GB/s) |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        target = 1.0 if "batchnorm" in r["kernel"] else 0.7
        flag = "" if r["torch_over_cpp"] >= target else " (below target)"
        rate = f"{r['gflops']:.0f}" if r["gflops"] is not None else f"{r['gbytes']:.1f} GB/s"
        npms = f"{r['numpy_ms']:.2f}" if r["numpy_ms"] is not None else "-"
        print(f"| {r['batch']} | {r['layer']} | {r['kernel']} | {r['cpp_ms']:.3f} | {npms} | "
              f"{r['torch_ms']:.3f} | {r['torch_over_cpp']:.2f}{flag} | {rate} |")


if __name__ == "__main__":
    main()
