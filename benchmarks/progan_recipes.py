"""Screening `train progan` recipes: LeNet-FID (2,500 samples, z seed 10,000, against the test
split) of G -- as drawn (G's linear output) and clipped to [-1, 1] (as ``python -m tinygan.eval``
draws since 2026-12-07) -- and of a moving average of G, at several image counts of one run.
Any config key of the trainer is set with ``--set KEY=JSON``; rows are appended to ``--out``.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/progan_recipes.py --name small \\
        --set 'loss="nonsaturating"' reg_every=4 'minibatch=[100,5]' \\
              'phase_images=[9856,9856,9856,19712,49280]' --at 59136 78848 98560

Results: benchmarks/README.md, "`train progan` recipes".
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from types import SimpleNamespace

import numpy as np

from tinygan.data import load_mnist, to_model_input
from tinygan.metrics.lenet import confident_fraction, lenet_fid, load_lenet
from tinygan.models import progan
from tinygan.optim.ema import EMA
from tinygan.random import Generator
from tinygan.trainers.progan import DEFAULTS, ProGANJob, draw


def scores(G, stage, alpha, test, model, n=2500, seed=10_000) -> dict:
    images = draw(G, Generator(seed).normal((n, G.z_dim)), stage, alpha)
    clipped = np.clip(images, -1.0, 1.0)
    return {"fid": float(lenet_fid(images, test, model=model)),
            "fid_clipped": float(lenet_fid(clipped, test, model=model)),
            "confident_clipped": confident_fraction(clipped, 0.9, model=model),
            "outside": float(np.mean(np.abs(images) > 1.0))}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True)
    p.add_argument("--set", metavar="KEY=JSON", nargs="*", default=[])
    p.add_argument("--at", type=int, nargs="+", required=True, help="image counts to score at (28x28 stage)")
    p.add_argument("--ema", type=float, nargs="+", default=[0.99], help="decays of the moving averages of G to score")
    p.add_argument("--out", default="benchmarks/progan_recipes.jsonl")
    a = p.parse_args()
    settings = {k: json.loads(v) for k, v in (item.split("=", 1) for item in a.set)}
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        p.error(f"--set: not a setting of train progan: {unknown}")
    config = {**DEFAULTS, **settings}
    config["channels"] = tuple(config["channels"])
    job = ProGANJob(config, SimpleNamespace(device="cpu", data_dir=None, epochs=None))
    emas = {decay: EMA(job.G, decay) for decay in a.ema}
    test, model = to_model_input(load_mnist("test", verbose=False).images), load_lenet()
    B = job.batch_size
    marks = {-(-m // B) for m in a.at}
    cpu0, wall0 = cpu_seconds(), time.time()
    for step in range(1, max(marks) + 1):
        job.step()
        for ema in emas.values():
            ema.update()
        stage, alpha, _ = progan.schedule(step - 1, job.phase_steps)
        if step in marks and stage == progan.FINAL_STAGE:
            row = {"name": a.name, "images": step * B, "set": settings, "config": config,
                   "G": scores(job.G, stage, alpha, test, model),
                   **{f"ema_{d}": scores(ema.module, stage, alpha, test, model) for d, ema in emas.items()},
                   "cpu_s": round(cpu_seconds() - cpu0, 1), "wall_s": round(time.time() - wall0, 1)}
            print(json.dumps(row), flush=True)
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
