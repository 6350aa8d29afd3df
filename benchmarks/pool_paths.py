"""2x2 average pooling and x2 nearest upsampling (the resampling of `train progan` and `train
lapgan`), forward and adjoint, in milliseconds: tinygan's paths against the plain definitions they
replace and against torch, on ProGAN's 28 x 28 activations (batch 64, 16 channels, float32).

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/pool_paths.py [--reps 50]

Rows: AvgPool's window sums tap by tap (``linops.pool.window_sums``) against the window view
summed over its tap axes; nearest x2 by ``repeat`` / strided-slice sums against the general tap
table (fancy indexing and ``add.reduceat``, forced by weights of 1). Results: benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tinygan import linops
from tinygan.linops.im2col import sliding_windows
from tinygan.linops.separable import AxisTaps


def median_ms(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=50)
    reps = p.parse_args().reps
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16, 28, 28), dtype=np.float32)
    pool = linops.AvgPool(x.shape, 2, dtype=np.float32)
    y = pool.apply(x)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    view = lambda: sliding_windows(x, (2, 2), (2, 2), (1, 1)).sum(axis=(4, 5)) / 4  # noqa: E731
    t_pool_adj = lambda: torch.autograd.grad(  # noqa: E731
        torch.nn.functional.avg_pool2d(tx.requires_grad_(), 2), tx, ty)[0]
    up = linops.Interpolate(y.shape, (28, 28), mode="nearest", dtype=np.float32)
    general = {a: AxisTaps(14, np.arange(28) // 2, weight=np.ones(28)) for a in (2, 3)}
    gather = lambda v: general[3].gather(general[2].gather(v, 2), 3)  # noqa: E731
    scatter = lambda v: general[2].scatter(general[3].scatter(v, 3), 2)  # noqa: E731
    t_up = lambda: torch.nn.functional.interpolate(ty, scale_factor=2, mode="nearest")  # noqa: E731
    t_up_adj = lambda: torch.autograd.grad(  # noqa: E731
        torch.nn.functional.interpolate(ty.requires_grad_(), scale_factor=2, mode="nearest"), ty, tx)[0]
    rows = [("avg_pool2d 2x2 forward", lambda: pool.apply(x), view,
             lambda: torch.nn.functional.avg_pool2d(tx, 2)),
            ("avg_pool2d 2x2 adjoint", lambda: pool.adjoint(y), None, t_pool_adj),
            ("nearest x2 forward", lambda: up.apply(y), lambda: gather(y), t_up),
            ("nearest x2 adjoint", lambda: up.adjoint(x), lambda: scatter(x), t_up_adj)]
    print(f"{'op (64, 16, 28, 28) float32, 1 thread':<28} {'tinygan':>9} {'definition':>11} {'torch':>8}")
    for name, ours, plain, ref in rows:
        cells = [median_ms(ours, reps), median_ms(plain, reps) if plain else None, median_ms(ref, reps)]
        print(f"{name:<28} " + " ".join(f"{c:>{w}.3f}" if c is not None else f"{'-':>{w}}"
                                        for c, w in zip(cells, (9, 11, 8))) + "  ms")


if __name__ == "__main__":
    main()
