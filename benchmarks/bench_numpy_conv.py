"""Time tinygan's NumPy reference conv kernels against PyTorch CPU on the DCGAN-on-MNIST layers.

    PYTHONPATH=. python benchmarks/bench_numpy_conv.py [--threads 2] [--reps 15] [--json out.json]

Both libraries run in this process with the same thread count (OpenBLAS/OMP environment set
before numpy is imported, threadpoolctl when installed, ``torch.set_num_threads``), on the same
float32 inputs, after warm-up. Each number is the median of ``--reps`` back-to-back repetitions;
that block is repeated ``--rounds`` times and the lowest median is kept (see main()).
Every tinygan result is checked against torch's before it is timed.

Each layer is timed as the network uses it. A transpose conv is the adjoint of an ordinary conv,
so its forward is ``conv2d_dgrad``, its input gradient ``conv2d_fwd`` and its weight gradient
``conv2d_wgrad`` with x and dy swapped; torch is timed on ``conv_transpose2d`` and its backward.
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
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both libraries")
    ap.add_argument("--reps", type=int, default=15, help="timed repetitions (median reported), >= 5")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3,
                    help="repeat every timing block this often and keep the quietest round")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args()
    if args.reps < 5:
        ap.error("--reps must be >= 5")
    return args


ARGS = _parse()
# BLAS pools are sized when the library loads, so this must precede importing numpy/torch.
# (OPENBLAS_CORETYPE, if set on the machine, is deliberately left alone.)
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tinygan.backends import numpy as K  # noqa: E402

try:
    from threadpoolctl import threadpool_limits  # noqa: E402
except ImportError:  # the environment variables above already did it
    threadpool_limits = None

# name, kind, x (the layer's input), weight (torch layout), stride, padding, output_padding
LAYERS = [
    ("D conv1 1->64 28x28", "conv", (1, 28, 28), (64, 1, 5, 5), 2, 2, 0),
    ("D conv2 64->128 14x14", "conv", (64, 14, 14), (128, 64, 5, 5), 2, 2, 0),
    ("G tconv1 256->128 7x7", "tconv", (256, 7, 7), (256, 128, 5, 5), 1, 2, 0),
    ("G tconv2 128->64 7x7->14x14", "tconv", (128, 7, 7), (128, 64, 5, 5), 2, 2, 1),
    ("G tconv3 64->1 14x14->28x28", "tconv", (64, 14, 14), (64, 1, 5, 5), 2, 2, 1),
]


def _median_ms(fn, reps, warmup):
    """Median wall time (ms) of ``fn`` over ``reps`` back-to-back calls after ``warmup`` calls.

    Not interleaved with the other library: OpenBLAS's and torch's OpenMP worker threads both
    spin for a while after each call, and on 2 cores alternating calls makes each library's idle
    spinners steal the other's cores (measured: 2-6x slowdowns). The pause before a block lets
    the other library's threads go to sleep.
    """
    time.sleep(0.3)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _cases(name, kind, in_chw, w_shape, s, p, op, batch, rng):
    """Yield (kernel label, tinygan thunk, torch thunk, flops) for one layer's three kernels."""
    st, pd, dl, g = (s, s), (p, p), (1, 1), 1
    x = rng.standard_normal((batch, *in_chw), dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    if kind == "conv":
        y = F.conv2d(xt, wt, stride=s, padding=p)
        dy = rng.standard_normal(tuple(y.shape), dtype=np.float32)
        dyt = torch.from_numpy(dy)
        flops = 2 * y.numel() * w[0].size
        bwd = dict(bias_sizes=None, stride=[s, s], padding=[p, p], dilation=[1, 1], transposed=False,
                   output_padding=[0, 0], groups=1)
        yield ("forward: conv2d_fwd", lambda: K.conv2d_fwd(x, w, st, pd, dl, g),
               lambda: F.conv2d(xt, wt, stride=s, padding=p), flops)
        yield ("input grad: conv2d_dgrad", lambda: K.conv2d_dgrad(dy, w, x.shape, st, pd, dl, g),
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[True, False, False], **bwd)[0],
               flops)
        yield ("weight grad: conv2d_wgrad", lambda: K.conv2d_wgrad(x, dy, w.shape, st, pd, dl, g),
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[False, True, False], **bwd)[1],
               flops)
    else:  # transpose conv: weight (C_in, C_out, R, S); the underlying conv maps its output to its input
        y = F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op)
        dy = rng.standard_normal(tuple(y.shape), dtype=np.float32)
        dyt = torch.from_numpy(dy)
        flops = 2 * x.size * w[0].size
        bwd = dict(bias_sizes=None, stride=[s, s], padding=[p, p], dilation=[1, 1], transposed=True,
                   output_padding=[op, op], groups=1)
        yield ("forward: conv2d_dgrad", lambda: K.conv2d_dgrad(x, w, tuple(y.shape), st, pd, dl, g),
               lambda: F.conv_transpose2d(xt, wt, stride=s, padding=p, output_padding=op), flops)
        yield ("input grad: conv2d_fwd", lambda: K.conv2d_fwd(dy, w, st, pd, dl, g),
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[True, False, False], **bwd)[0],
               flops)
        yield ("weight grad: conv2d_wgrad", lambda: K.conv2d_wgrad(dy, x, w.shape, st, pd, dl, g),
               lambda: torch.ops.aten.convolution_backward(dyt, xt, wt, output_mask=[False, True, False], **bwd)[1],
               flops)


def main():
    torch.set_num_threads(ARGS.threads)
    limits = threadpool_limits(ARGS.threads) if threadpool_limits else None
    rng = np.random.default_rng(0)
    load_before = os.getloadavg()[0]
    rows = []
    for layer in LAYERS:
        for label, ours, theirs, flops in _cases(*layer, ARGS.batch, rng):
            got, want = ours(), theirs().numpy()
            err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
            if got.shape != want.shape or err > 1e-4:
                sys.exit(f"{layer[0]} {label}: mismatch vs torch (shape {got.shape} vs {want.shape}, "
                         f"max rel err {err:.2e})")
            # On a shared machine a block that overlaps someone else's job is slow as a whole;
            # the quietest of a few rounds of per-block medians is the number that reproduces.
            t_ours = t_torch = float("inf")
            for _ in range(ARGS.rounds):
                t_ours = min(t_ours, _median_ms(ours, ARGS.reps, ARGS.warmup))
                t_torch = min(t_torch, _median_ms(theirs, ARGS.reps, ARGS.warmup))
            rows.append(dict(layer=layer[0], kernel=label, tinygan_ms=t_ours, torch_ms=t_torch,
                             ratio=t_torch / t_ours, gflops=flops / t_ours / 1e6, max_rel_err=err))
    if limits is not None:
        limits.unregister()
    meta = dict(date=datetime.date.today().isoformat(), machine=platform.machine(), rounds=ARGS.rounds,
                loadavg_before=load_before, loadavg_after=os.getloadavg()[0],
                cpus=os.cpu_count(), threads=ARGS.threads, batch=ARGS.batch, reps=ARGS.reps,
                numpy=np.__version__, torch=torch.__version__, python=platform.python_version(),
                openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"), dtype="float32")
    print(f"{meta['date']}, {meta['cpus']} CPUs, {ARGS.threads} threads, numpy {np.__version__}, "
          f"torch {torch.__version__}, float32, batch {ARGS.batch}, best of {ARGS.rounds} rounds of "
          f"median of {ARGS.reps}, load average {load_before:.2f} -> {meta['loadavg_after']:.2f}\n")
    print("| layer | kernel | tinygan ms | torch ms | ratio torch/tinygan | tinygan GFLOP/s |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        flag = "" if r["ratio"] >= 1 / 3 else " (below 0.33)"
        print(f"| {r['layer']} | {r['kernel']} | {r['tinygan_ms']:.2f} | {r['torch_ms']:.2f} | "
              f"{r['ratio']:.2f}{flag} | {r['gflops']:.0f} |")
    if ARGS.json:
        with open(ARGS.json, "w") as fh:
            json.dump(dict(meta=meta, rows=rows), fh, indent=2)


if __name__ == "__main__":
    main()
