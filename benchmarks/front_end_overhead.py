"""The Python cost of tinygan's front end: Tensor methods and operators, Function.apply, the
backward walk -- everything but the kernels.

    python benchmarks/front_end_overhead.py [--blocks 7] [--iters 300] [--json out.json]

One iteration builds a small graph on 4 x 4 float32 arrays with methods and operators
(``(x * 2 + b).tanh().exp().reshape(2, 8).sum(dim=1).mean()``, ``sigmoid``, ``square``, ``abs``,
``max``) and runs its backward: 18 ops whose arrays are tiny, so the time is the Python around
them. Prints the minimum and median thread-CPU time of one iteration over ``--blocks`` blocks of
``--iters`` iterations (thread CPU time: a shared machine's other jobs inflate it less than wall
time), as a table and, with ``--json``, as JSON. Run it from a checkout's root to time that
checkout's tinygan (comparing two: alternate them, see benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())          # the checkout this is run from, not an installed tinygan
import tinygan  # noqa: E402


def iteration(x, b):
    y = (x * 2.0 + b).tanh().exp().reshape(2, 8).sum(dim=1).mean()
    z = (x.sigmoid() - x.square()).abs().max() + y
    z.backward()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = tinygan.tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    b = tinygan.tensor(np.ones((1, 4), np.float32), requires_grad=True)
    for _ in range(50):                  # warm-up
        iteration(x, b)
    per_iteration = []
    for _ in range(args.blocks):
        start = time.thread_time()
        for _ in range(args.iters):
            iteration(x, b)
        per_iteration.append((time.thread_time() - start) / args.iters * 1e6)
    result = {"tinygan": os.path.dirname(tinygan.__file__), "min_us": min(per_iteration),
              "median_us": statistics.median(per_iteration), "blocks": args.blocks,
              "iters": args.iters}
    print("| tinygan | min us / iteration | median us / iteration |\n|---|---:|---:|\n"
          f"| {result['tinygan']} | {result['min_us']:.0f} | {result['median_us']:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
