"""Data-parallel DCGAN training: images/s of N MPI ranks against one process, and the share of
the step spent in the gradient all-reduce (tinygan.distributed, ``--distributed``).

    PYTHONPATH=. python benchmarks/bench_distributed.py [--steps 30] [--batch 64] [--ranks 1 2 4]

Each configuration runs the real trainer (``python -m tinygan.train dcgan --max-steps S``) in a
fresh folder under --work and reads its metrics.jsonl: images/s is the global batch over the
median step time (the first 3 steps dropped as warm-up); ``comm_s`` is the time inside every
collective (the gradient buckets, sync BN's small reductions, the step values -- waiting for
the slowest rank included), ``allreduce_s`` that of the gradient buckets alone. Configurations:

* one process, 2 threads (the machine's usual way to train, no MPI);
* one process, 1 thread;
* ``mpiexec -n N ... --distributed`` with one thread per rank (N = 1, 2 and, oversubscribed on a
  2-core machine, 4 -- "for the record").

The whole run's wall and CPU seconds (user + sys of every process, start-up and
checkpoints included) are printed too: on a shared machine the CPU time is the steadier number.
It also prints what docs/scaling.md's estimate needs: the parameters all-reduced per step (and
their bytes in float32) and the step's FLOPs (forward + backward of every conv and linear
layer, counted from the layers' shapes). Results belong in benchmarks/README.md.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _env(threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for var in ("OMP_NUM_THREADS", "TINYGAN_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(var, None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run(label, ranks, threads, args) -> dict:
    out = Path(args.work) / label.replace(" ", "_").replace(",", "")
    shutil.rmtree(out, ignore_errors=True)
    train = [sys.executable, "-m", "tinygan.train", "dcgan", "--max-steps", str(args.steps),
             "--batch-size", str(args.batch), "--no-progress", "--out", str(out)]
    if ranks:
        mpiexec = shutil.which("mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        cmd = [mpiexec, "--oversubscribe", "-n", str(ranks), *train, "--distributed"]
    else:
        cmd = train
    start, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=_env(threads), capture_output=True, text=True, timeout=args.timeout)
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{label}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][3:]
    step = np.median([args.batch / r["images_per_s"] for r in rows])
    comm = np.median([r.get("comm_s", 0.0) for r in rows])
    grads = np.median([r.get("allreduce_s", 0.0) for r in rows])
    line = next((s for s in proc.stdout.splitlines() if s.startswith("distributed:")), "")
    return {"label": label, "ranks": ranks or 1, "threads": threads, "images_per_s": args.batch / step,
            "step_ms": 1e3 * step, "comm_ms": 1e3 * comm, "allreduce_ms": 1e3 * grads,
            "wall_s": wall, "cpu_s": cpu, "threads_line": line}


def flops_and_params(batch: int) -> tuple:
    """(parameters all-reduced per step, FLOPs of one alternating DCGAN step at ``batch``)."""
    from tinygan import nn, tensor
    from tinygan.models import dcgan
    from tinygan.random import Generator
    G, D = dcgan.build("tf", generator=Generator(0), dropout_generator=Generator(1))
    macs = {}

    def count(module, name):
        forward = module.forward

        def counted(x):
            y = forward(x)
            if isinstance(module, nn.Linear):
                m = x.numel() * module.out_features
            elif isinstance(module, nn.ConvTranspose2d):       # = the adjoint conv's MACs
                m = x.numel() * module.out_channels * int(np.prod(module.kernel_size))
            else:
                m = y.numel() * module.in_channels * int(np.prod(module.kernel_size)) // module.groups
            macs[name] = macs.get(name, 0) + m
            return y
        object.__setattr__(module, "forward", counted)

    for who, net in (("G", G), ("D", D)):
        for name, m in net.named_modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                count(m, f"{who}.{name}")
    z = tensor(np.zeros((batch, dcgan.Z_DIM), np.float32))
    fake = G(z)
    g_fwd = sum(v for k, v in macs.items() if k.startswith("G"))
    macs.clear()
    D(fake)
    d_fwd = sum(macs.values())
    # one alternating step, in multiples of a layer's forward MACs (a backward is ~2: the input
    # gradient and the weight gradient): D's step on real and on fake (forward + backward, 3x
    # each); G's forward (1x, cached for both players); G's step: D on G(z) with D frozen
    # (forward + input gradient, 2x) and G's backward (2x)
    flops = 2 * (2 * 3 * d_fwd + g_fwd + 2 * d_fwd + 2 * g_fwd)
    params = sum(p.numel() for p in G.parameters()) + sum(p.numel() for p in D.parameters())
    return params, flops


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--work", default="/tmp/bench_distributed")
    p.add_argument("--timeout", type=int, default=1800)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    params, flops = flops_and_params(args.batch)
    print(f"DCGAN (tf) step at batch {args.batch}: {params:,} parameters all-reduced "
          f"({4 * params / 1e6:.1f} MB in float32), {flops / 1e9:.2f} GFLOP")
    load = os.getloadavg()[0]
    results = [run("1 process, 2 threads", 0, 2, args), run("1 process, 1 thread", 0, 1, args)]
    results += [run(f"{n} rank(s) x 1 thread", n, 1, args) for n in args.ranks]
    base = results[0]["images_per_s"]
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, load average {load:.2f} -> "
          f"{os.getloadavg()[0]:.2f}, {args.steps} steps (median of the last {args.steps - 3})\n")
    print("| configuration | images/s | vs 1 process x 2 threads | step ms | all collectives ms "
          "| gradient all-reduce ms (share of step) | whole run: wall s, CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        share = f"{r['allreduce_ms']:.1f} ({100 * r['allreduce_ms'] / r['step_ms']:.1f}%)"
        print(f"| {r['label']} | {r['images_per_s']:.0f} | {r['images_per_s'] / base:.2f} | "
              f"{r['step_ms']:.0f} | {r['comm_ms']:.1f} | {share} | {r['wall_s']:.0f}, {r['cpu_s']:.0f} |")
    for r in results:
        if r["threads_line"]:
            print(f"  {r['label']}: {r['threads_line']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"params": params, "flops": flops, "results": results}, indent=1))


if __name__ == "__main__":
    main()
