"""Screening the default DCGAN recipe: LeNet-FID (as ``python -m tinygan.eval``: 2,500 samples,
z seed 10,000, against the test split) of G and of EMAs of G at several image counts, for one
variant of the recipe per call. Results are appended as JSON lines to ``--out``.

    python benchmarks/dcgan_recipes.py --name base --images 150000 --at 50000 100000 150000
    python benchmarks/dcgan_recipes.py --name decay --decay 0.5 ...
    python benchmarks/dcgan_recipes.py --name ls --set loss='"lsgan"' real_label=0.9 ...
    python benchmarks/dcgan_recipes.py --name A --checkpoints runs/dcgan-... --at 49280 98560

``--checkpoints RUN``: no training; the same FIDs for G and (when the run has one) G_ema of the
run's checkpoints at the image counts ``--at`` (train with ``--keep`` large enough to have them).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from types import SimpleNamespace

import numpy as np

from tinygan.data import load_mnist, to_model_input
from tinygan.metrics.lenet import confident_fraction, lenet_fid, load_lenet
from tinygan.optim.ema import EMA
from tinygan.random import Generator
from tinygan.trainers.dcgan import DEFAULTS
from tinygan.trainers.dcgan_loop import DCGANJob
from tinygan.trainers.samplers import generate


def scores(G, test, model, n=2500, seed=10_000) -> tuple:
    """(LeNet-FID, confident) of n of G's digits: confident is the fraction that LeNet reads
    with probability >= 0.9, a rough proxy of "readable" (the test digits: see --real)."""
    z = Generator(seed).normal((n, G.z_dim))
    images = np.concatenate([generate(G, z[s:s + 500]) for s in range(0, n, 500)])
    return float(lenet_fid(images, test, model=model)), confident_fraction(images, 0.9, model=model)


def ema_scores(emas, test, model) -> dict:
    both = {str(d): scores(e.module, test, model) for d, e in emas.items()}
    return {"fid_ema": {d: v[0] for d, v in both.items()}, "confident_ema": {d: v[1] for d, v in both.items()}}


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def checkpoints(a) -> None:
    from tinygan.checkpoint import Checkpoint
    from tinygan.models import dcgan
    test, model = to_model_input(load_mnist("test", verbose=False).images), load_lenet()
    for images in a.at:
        ckpt = Checkpoint(f"{a.checkpoints}/checkpoints/step_{images // a.batch_size:07d}.json")
        config = ckpt.meta["config"]
        row = {"name": a.name, "images": ckpt.step * a.batch_size, "run": a.checkpoints,
               "config": {k: config.get(k) for k in ("lr", "g_lr", "betas", "ema", "decay", "batch_size")}}
        for name in ("G", "G_ema"):
            if name in ckpt.meta["modules"]:
                G = dcgan.Generator(config["arch"], config["z_dim"], codes=config.get("info_codes") or 0,
                                    ngf=config.get("ngf", dcgan.NGF), kernel=config.get("g_kernel"))
                ckpt.load_module(name, G)
                key = "" if name == "G" else "_ema"
                row["fid" + key], row["confident" + key] = scores(G, test, model)
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoints", metavar="RUN", help="evaluate this run's checkpoints instead")
    p.add_argument("--start", metavar="CKPT", help="continue from a `train dcgan` checkpoint (its G, D, "
                   "Adam, data and z states; the EMAs start from its G_ema, else its G) with this "
                   "script's settings: a branch of a run")
    p.add_argument("--name", required=True)
    p.add_argument("--images", type=int, default=150_000, help="the run's length (its lr schedule's)")
    p.add_argument("--at", type=int, nargs="+", default=[50_000, 100_000, 150_000])
    p.add_argument("--ema", type=float, nargs="*", default=[0.99, 0.995, 0.999])
    p.add_argument("--lr", type=float, help="as train dcgan --lr: both players' learning rate, D's "
                   "alone with --set g_lr=... (default: train dcgan's)")
    p.add_argument("--decay", type=float, default=0.0, help="as train dcgan --decay")
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/dcgan_recipes.jsonl")
    p.add_argument("--set", metavar="KEY=JSON", nargs="*", default=[],
                   help="other settings of the run config, e.g. loss='\"lsgan\"' minibatch=[50,5]")
    p.add_argument("--save", metavar="DIR", help="write a checkpoint of the end into DIR")
    p.add_argument("--real", action="store_true", help="only print `confident` of the real digits")
    a = p.parse_args()
    if a.real:
        model = load_lenet()
        for split in ("train", "test"):
            print(split, confident_fraction(to_model_input(load_mnist(split, verbose=False).images), 0.9, model))
        return None
    if a.checkpoints:
        return checkpoints(a)
    from tinygan.checkpoint import Checkpoint
    ckpt = Checkpoint(a.start) if a.start else None
    unknown = [item for item in a.set if item.split("=", 1)[0] not in DEFAULTS]
    if unknown:
        p.error(f"--set: not a setting of train dcgan: {unknown}")
    lrs = {} if a.lr is None else {"lr": a.lr, "g_lr": None}
    config = {**DEFAULTS, **lrs, "batch_size": a.batch_size, "seed": a.seed, "decay": a.decay,
              **{k: json.loads(v) for k, v in (item.split("=", 1) for item in a.set)}}
    job = DCGANJob(config, SimpleNamespace(device="cpu", data_dir=None, epochs=1000), ckpt)
    B = a.batch_size
    job.total_steps = total = -(-a.images // B)
    first = 0
    if ckpt is not None:
        ckpt.load_module("G", job.G)
        ckpt.load_module("D", job.D)
        job.load_states(ckpt.states())
        first = ckpt.step
    emas = {d: EMA(job.G, d) for d in a.ema}
    if ckpt is not None and "G_ema" in ckpt.meta["modules"]:
        for e in emas.values():
            ckpt.load_module("G_ema", e.module)
    test = to_model_input(load_mnist("test", verbose=False).images)
    model = load_lenet()
    marks = {-(-m // B): m for m in a.at}
    start, cpu0, train_cpu, train_wall = time.time(), cpu_seconds(), 0.0, 0.0
    for step in range(first, total):
        t0, c0 = time.time(), cpu_seconds()
        job.step()
        for e in emas.values():
            e.update()
        train_wall += time.time() - t0
        train_cpu += cpu_seconds() - c0
        if step + 1 in marks:
            row = {"name": a.name, "images": (step + 1) * B, "start": a.start,
                   "config": {k: v for k, v in vars(a).items() if k not in ("at", "out", "name", "start")},
                   **dict(zip(("fid", "confident"), scores(job.G, test, model))),
                   **ema_scores(emas, test, model),
                   "train_wall_s": round(train_wall, 1), "train_cpu_s": round(train_cpu, 1),
                   "images_per_cpu_s": round((step + 1 - first) * B / train_cpu, 1),
                   "omp": os.environ.get("OMP_NUM_THREADS")}
            print(json.dumps(row), flush=True)
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")
    if a.save:          # a checkpoint `tinygan.sample` / `tinygan.eval` read (G_ema: the first --ema)
        from tinygan.checkpoint import save_checkpoint
        modules = {"G": job.G, "D": job.D, **({"G_ema": emas[a.ema[0]].module} if a.ema else {})}
        print(save_checkpoint(a.save, total, modules, states=job.states(), meta={
            "model": "dcgan", "config": {**config, "ema": a.ema[0] if a.ema else 0.0}, "tag": "end",
            "branched_from": a.start, "images_seen": total * B, "data": job.data}))
    print(f"done in {time.time() - start:.0f} s wall, {cpu_seconds() - cpu0:.0f} s CPU")


if __name__ == "__main__":
    main()
