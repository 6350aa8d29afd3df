"""Where the time of one DCGAN train step goes, on the host: cProfile of ``steps`` steps of
tinygan.trainers.dcgan_step.train_step on a device and backend, the top functions by own time.

    python benchmarks/profile_step.py --device cuda --backend cuda --batch 64 [--steps 20]

On the GPU the kernels run asynchronously, so the host's profile shows what the Python side
costs per step (graph building, launches, allocations, read-backs of the losses) and where it
waits for the device (the read-backs). Results belong in benchmarks/README.md.
"""
import argparse
import cProfile
import io
import pstats
import time

import numpy as np

from tinygan import set_backend, tensor
from tinygan.models import dcgan
from tinygan.optim import Adam, AlternatingGDA
from tinygan.random import Generator
from tinygan.trainers.dcgan_step import train_step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--backend", default=None)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    real = tensor(rng.uniform(-1, 1, (args.batch, 1, 28, 28)).astype(np.float32), device=args.device)
    z = tensor(rng.standard_normal((args.batch, dcgan.Z_DIM), dtype=np.float32), device=args.device)
    with set_backend(args.backend) if args.backend else _nothing():
        G, D = dcgan.build("tf", generator=Generator(0), dropout_generator=Generator(1))
        G.to(args.device), D.to(args.device)
        opt = dict(lr=2e-4, betas=(0.5, 0.999))
        scheme = AlternatingGDA(Adam(G.parameters(), **opt), Adam(D.parameters(), **opt))
        for _ in range(3):                                   # warm-up: compiles, caches
            train_step(G, D, scheme, real, z, "nonsaturating")
        profile = cProfile.Profile()
        t0 = time.perf_counter()
        profile.enable()
        for _ in range(args.steps):
            train_step(G, D, scheme, real, z, "nonsaturating")
        profile.disable()
        ms = 1e3 * (time.perf_counter() - t0) / args.steps
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print(f"{args.steps} steps, batch {args.batch}, device {args.device}, backend "
          f"{args.backend or 'default'}: {ms:.2f} ms per step under the profiler")
    print(out.getvalue())


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
