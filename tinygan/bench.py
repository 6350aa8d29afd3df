"""``python -m tinygan.bench``: tinygan's kernels and DCGAN train step against PyTorch, same process.

    python -m tinygan.bench [--backend B ...] [--batch 64 256] [--threads 2] [--reps 5]
                            [--no-step | --no-kernels] [--json out.json]

Prints a markdown table: for every layer of the DCGAN of CMU 11-695's "GAN II" notes (generator and discriminator) and each
kernel -- forward, input gradient (dgrad), weight gradient (wgrad), BatchNorm forward / backward --
tinygan's time, torch's time and the ratio torch / tinygan (> 1: tinygan is faster), and then the
whole DCGAN train step (D and G, Adam, alternating) in images/s. Both sides run with the same number
of threads, after a warm-up, reporting the median over 3 alternating blocks of ``--reps`` calls per
side (the host's speed drifts); every tinygan kernel result is checked against torch's on the
same inputs. Without torch installed it prints tinygan's figures alone. torch is imported here
only, never by the rest of tinygan.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from . import backends
from .bench_dcgan import BN_LAYERS, CONV_LAYERS, torch_train_step
from .cli import positive_int

def _times_ms(fn, reps: int, warmup: int = 2) -> list[float]:
    # A pause first: the other library's spinning worker threads must not steal our cores
    # (benchmarks/README.md: never interleave the two libraries call by call).
    time.sleep(0.3)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - t0))
    return times


def _median_ms(fn, reps: int, warmup: int = 2) -> float:
    return statistics.median(_times_ms(fn, reps, warmup))


ROUNDS = 3  # blocks per side when tinygan and torch are compared


def _medians_ms(sides: dict, reps: int, warmup: int = 2) -> dict:
    """Median ms of each callable in ``sides``, timed in ``ROUNDS`` alternating blocks of ``reps``
    calls (warm-up and pause after every switch): the host's speed drifts (a shared VM), and a
    side timed all at once would carry whatever the machine did during its turn."""
    times = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, fn in sides.items():
            times[name] += _times_ms(fn, reps, warmup)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _set_threads(threads: int, torch):
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass
    if torch is not None:
        torch.set_num_threads(threads)


def _conv_cases(batch, rng):
    """Per layer: (name, kernel label, tinygan thunk, torch thunk or None, flops, check pair)."""
    for name, kind, cin, cout, h, k, s, p, op in CONV_LAYERS:
        pair = lambda v: (v, v)  # noqa: E731
        params = (pair(s), pair(p), (1, 1), 1)
        if kind == "conv":
            x_shape, w_shape = (batch, cin, h, h), (cout, cin, k, k)
        else:  # a transposed layer = the adjoint of conv from its output (cout) to its input (cin)
            ho = (h - 1) * s - 2 * p + k + op
            x_shape, w_shape = (batch, cout, ho, ho), (cin, cout, k, k)
        ho = (x_shape[2] + 2 * p - k) // s + 1
        y_shape = (batch, w_shape[0], ho, ho)
        x = rng.standard_normal(x_shape, dtype=np.float32)
        w = (rng.standard_normal(w_shape, dtype=np.float32) * 0.05).astype(np.float32)
        dy = rng.standard_normal(y_shape, dtype=np.float32)
        flops = 2.0 * np.prod(y_shape) * np.prod(w_shape[1:])
        fwd, dgrad, wgrad = (backends.get(n) for n in ("conv2d_fwd", "conv2d_dgrad", "conv2d_wgrad"))
        # label -> (tinygan call computing it, the torch reference (fn of torch module)).
        if kind == "conv":
            yield name, "forward (conv2d_fwd)", lambda: fwd(x, w, *params), ("conv", x, w, None), flops
            yield name, "input grad (conv2d_dgrad)", lambda: dgrad(dy, w, x_shape, *params), ("dgrad", dy, w, x), flops
            yield name, "weight grad (conv2d_wgrad)", lambda: wgrad(x, dy, w_shape, *params), ("wgrad", dy, w, x), flops
        else:
            yield name, "forward (conv2d_dgrad)", lambda: dgrad(dy, w, x_shape, *params), ("dgrad", dy, w, x), flops
            yield name, "input grad (conv2d_fwd)", lambda: fwd(x, w, *params), ("conv", x, w, None), flops
            yield name, "weight grad (conv2d_wgrad)", lambda: wgrad(x, dy, w_shape, *params), ("wgrad", dy, w, x), flops


def _torch_conv(torch, spec, s, p):
    """The same computation in torch: conv forward, or one half of convolution_backward."""
    what, a, w, x = spec
    ta, tw = torch.from_numpy(a), torch.from_numpy(w)
    if what == "conv":
        return lambda: torch.nn.functional.conv2d(ta, tw, None, s, p)
    tx = torch.from_numpy(x)
    mask = [what == "dgrad", what == "wgrad", False]
    index = 0 if what == "dgrad" else 1
    return lambda: torch.ops.aten.convolution_backward(ta, tx, tw, None, [s, s], [p, p], [1, 1], False,
                                                       [0, 0], 1, mask)[index]


def bench_kernels(batch: int, reps: int, torch, rng) -> list[dict]:
    rows = []
    for (name, label, ours, spec, flops), layer in zip(_conv_cases(batch, rng),
                                                         [lay for lay in CONV_LAYERS for _ in range(3)]):
        s, p = layer[6], layer[7]
        row = {"batch": batch, "layer": name, "kernel": label, "gflop": flops / 1e9}
        if torch is None:
            row["tinygan_ms"] = _median_ms(ours, reps)
        else:
            ref = _torch_conv(torch, spec, s, p)
            ms = _medians_ms({"tinygan": ours, "torch": ref}, reps)
            row["tinygan_ms"], row["torch_ms"] = ms["tinygan"], ms["torch"]
            expected = ref().numpy()
            row["max_rel_err"] = float(np.abs(ours() - expected).max() / (np.abs(expected).max() + 1e-30))
        rows.append(row)
    rows += bench_batchnorm(batch, reps, torch, rng)
    rows += bench_minibatch(batch, reps, torch, rng)
    return rows


def bench_minibatch(batch: int, reps: int, torch, rng) -> list[dict]:
    """Minibatch discrimination in the default D (100 kernels of 5 dims on 6,272 features): its
    product M = f T, and the pairwise L1 distances of the batch's M per kernel, forward and
    forward + VJP (against torch.cdist and its autograd backward)."""
    mm, dist, vjp = backends.get("matmul"), backends.get("cdist_l1"), backends.get("cdist_l1_vjp")
    f = rng.standard_normal((batch, 6272), dtype=np.float32)
    T = rng.standard_normal((6272, 500), dtype=np.float32) / 80
    M = (f @ T).reshape(batch, 100, 5).transpose(1, 0, 2).copy()
    g = rng.standard_normal((100, batch, batch), dtype=np.float32)
    both = lambda: (dist(M, M), vjp(M, M, g))  # noqa: E731
    cases = [("f T (minibatch disc.)", "matmul", lambda: mm(f, T), 2 * batch * 6272 * 500),
             ("pairwise L1", "cdist p=1 forward", lambda: dist(M, M), 0),
             ("pairwise L1", "cdist p=1 forward + VJP", both, 0)]
    rows = []
    for layer, label, ours, flops in cases:
        row = {"batch": batch, "layer": layer, "kernel": label, "gflop": flops / 1e9}
        if torch is None:
            row["tinygan_ms"] = _median_ms(ours, reps)
            rows.append(row)
            continue
        tf, tT, tg = torch.from_numpy(f), torch.from_numpy(T), torch.from_numpy(g)
        tM = torch.from_numpy(M).requires_grad_()
        if label == "matmul":
            ref, got, expected = (lambda: tf @ tT), ours(), (tf @ tT).numpy()
        elif label.endswith("forward"):
            ref, got = (lambda: torch.cdist(tM, tM, p=1)), ours()
            expected = torch.cdist(tM, tM, p=1).detach().numpy()
        else:
            def ref():
                d = torch.cdist(tM, tM, p=1)
                return torch.autograd.grad(d, tM, tg)[0]
            dx1, dx2 = ours()[1]
            got, expected = dx1 + dx2, ref().numpy()
        ms = _medians_ms({"tinygan": ours, "torch": ref}, reps)
        row["tinygan_ms"], row["torch_ms"] = ms["tinygan"], ms["torch"]
        row["max_rel_err"] = float(np.abs(got - expected).max() / (np.abs(expected).max() + 1e-30))
        rows.append(row)
    return rows


def bench_batchnorm(batch: int, reps: int, torch, rng) -> list[dict]:
    fwd, bwd = backends.get("batchnorm_fwd"), backends.get("batchnorm_bwd")
    rows = []
    for name, shape in BN_LAYERS:
        c = shape[0]
        x = rng.standard_normal((batch,) + shape, dtype=np.float32)
        dy = rng.standard_normal(x.shape, dtype=np.float32)
        w, b = np.ones(c, np.float32), np.zeros(c, np.float32)
        rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
        y, mean, invstd = fwd(x, w, b, rm, rv, True, 0.1, 1e-5)
        cases = [("BatchNorm forward", lambda: fwd(x, w, b, rm, rv, True, 0.1, 1e-5)),
                 ("BatchNorm backward", lambda: bwd(dy, x, w, mean, invstd, True))]
        for label, ours in cases:
            row = {"batch": batch, "layer": name, "kernel": label, "gflop": 0.0}
            if torch is None:
                row["tinygan_ms"] = _median_ms(ours, reps)
            else:
                tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
                tw, tb = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
                trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
                out = torch.ops.aten.native_batch_norm(tx, tw, tb, trm, trv, True, 0.1, 1e-5)
                if label == "BatchNorm forward":
                    ref = lambda: torch.ops.aten.native_batch_norm(tx, tw, tb, trm, trv, True, 0.1, 1e-5)  # noqa: E731
                    expected, got = out[0].numpy(), ours()[0]
                else:
                    ref = lambda: torch.ops.aten.native_batch_norm_backward(  # noqa: E731
                        tdy, tx, tw, trm, trv, out[1], out[2], True, 1e-5, [True, True, True])
                    expected, got = ref()[0].numpy(), ours()[0]
                ms = _medians_ms({"tinygan": ours, "torch": ref}, reps)
                row["tinygan_ms"], row["torch_ms"] = ms["tinygan"], ms["torch"]
                row["max_rel_err"] = float(np.abs(got - expected).max() / (np.abs(expected).max() + 1e-30))
            rows.append(row)
    return rows


def bench_train_step(batch: int, reps: int, torch) -> dict:
    """Images/s of one whole DCGAN step (D then G, Adam 2e-4, betas (0.5, 0.999)), both frameworks
    from the same initial weights and data. The host's speed drifts over a run (a shared VM), so
    the two sides take turns: ``ROUNDS`` blocks of ``reps`` steps each (a warm-up step and a pause
    after every switch), and the median over all of a side's timed steps is reported."""
    from . import Generator as TgGenerator, tensor
    from .models import dcgan
    from .optim import Adam
    from .optim.minimax import AlternatingGDA
    from .trainers.dcgan_step import train_step

    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)
    z = rng.standard_normal((batch, dcgan.Z_DIM), dtype=np.float32)
    G, D = dcgan.build("tf", generator=TgGenerator(0), dropout_generator=TgGenerator(1))
    opt = dict(lr=2e-4, betas=(0.5, 0.999))
    scheme = AlternatingGDA(Adam(G.parameters(), **opt), Adam(D.parameters(), **opt))
    sides = {"tinygan": lambda: train_step(G, D, scheme, tensor(real), tensor(z), "nonsaturating")}
    if torch is not None:
        sides["torch"] = torch_train_step(torch, G, D, real, z)   # copies the initial weights
    result = {"batch": batch, "steps_timed": ROUNDS * reps}
    for name, ms in _medians_ms(sides, reps, warmup=1).items():
        result[f"{name}_images_per_s"] = batch / ms * 1e3
    return result


def _compile(name: str):
    """Seconds a JIT backend spends compiling its kernels (numba: ``compile_all``), else None."""
    if name != "numba":
        return None
    import importlib
    return importlib.import_module("tinygan.backends.numba_cpu").compile_all()


def _fmt(value, spec=".2f"):
    return "" if value is None else format(value, spec)


def _table(rows, backend) -> str:
    lines = [f"| batch | layer | kernel | tinygan ({backend}) ms | torch ms | torch/tinygan | GFLOP/s (tinygan) |",
             "|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        t, ours = r.get("torch_ms"), r["tinygan_ms"]
        ratio = None if t is None else t / ours
        gflops = r["gflop"] / ours * 1e3 if r["gflop"] else None
        lines.append(f"| {r['batch']} | {r['layer']} | {r['kernel']} | {ours:.2f} | {_fmt(t)} | "
                     f"{_fmt(ratio)} | {_fmt(gflops, '.0f')} |")
    return "\n".join(lines)


def _step_table(steps, backend) -> str:
    lines = [f"| batch | tinygan ({backend}) images/s | torch images/s | tinygan/torch |", "|---:|---:|---:|---:|"]
    for s in steps:
        t, ours = s.get("torch_images_per_s"), s["tinygan_images_per_s"]
        lines.append(f"| {s['batch']} | {ours:.0f} | {_fmt(t, '.0f')} | {_fmt(None if t is None else ours / t)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", nargs="+", default=None, help="CPU backends to time (default: the active one)")
    parser.add_argument("--batch", nargs="+", type=positive_int, default=[64, 256])
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1)
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions (median reported; >= 5)")
    parser.add_argument("--no-step", action="store_true", help="skip the whole-train-step benchmark")
    parser.add_argument("--no-kernels", action="store_true", help="skip the per-kernel table")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    if args.reps < 5:
        parser.error("--reps must be at least 5")
    from .cli import CLIError, check_backend_env, fail, output_file
    try:
        check_backend_env()
        if args.json:
            output_file(args.json, "--json")
    except CLIError as exc:
        return fail("tinygan.bench", exc)
    for name in args.backend or []:
        if name not in backends.names(args.device):
            parser.error(f"argument --backend: invalid choice: {name!r} (choose from "
                         f"{', '.join(backends.names(args.device))})")
        try:
            with backends.set_backend(name):      # loads it (only the ones asked for)
                pass
        except RuntimeError as exc:
            return fail("tinygan.bench", f"--backend {name}: {exc}")
    if args.device == "cuda":
        from .bench_gpu import main as gpu_main
        return gpu_main(argv)
    try:
        import torch
    except ImportError:
        torch = None
        print("torch is not installed: printing tinygan's figures alone (pip install -e '.[bench]')")
    _set_threads(args.threads, torch)
    names = args.backend or [backends.current("cpu")]
    report = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpus": os.cpu_count(), "threads": args.threads, "numpy": np.__version__,
                          "torch": None if torch is None else torch.__version__, "python": sys.version.split()[0]},
              "backends": {}}
    print(f"threads: {args.threads}; numpy {np.__version__}; torch {report['machine']['torch']}")
    for name in names:
        compile_s = _compile(name)
        with backends.set_backend(name):
            rows = [] if args.no_kernels else [
                r for b in args.batch for r in bench_kernels(b, args.reps, torch, np.random.default_rng(0))]
            steps = [] if args.no_step else [bench_train_step(b, args.reps, torch) for b in args.batch]
        report["backends"][name] = {"kernels": rows, "train_step": steps, "compile_seconds": compile_s}
        print(f"\n## backend: {name}\n")
        if compile_s is not None:
            print(f"JIT compilation (or loading numba's on-disk cache) before timing: {compile_s:.1f} s, "
                  "not included in the times below.\n")
        if rows:
            print(_table(rows, name))
        if steps:
            print(f"\nDCGAN train step (D + G, Adam, alternating):\n\n{_step_table(steps, name)}")
        bad = [r for r in rows if r.get("max_rel_err", 0) > 1e-3]
        if bad:
            print(f"\nWARNING: {len(bad)} results differ from torch by more than 1e-3 (relative to max |y|)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
