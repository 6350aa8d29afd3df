"""``python -m tinygan.sample CKPT --n 64 --out grid.png``: digits from a trained generator.

Loads only the generator from a checkpoint (no optimizer state, no discriminator, no training
data), on the CPU, and writes an image grid: its moving average ``G_ema`` when the run kept one
(``--ema``). ``CKPT`` is a checkpoint's ``.json`` or ``.npz``, a
``checkpoints/`` folder or a run folder (the newest checkpoint in it).

BatchNorm: by default G runs in training mode under ``no_grad`` -- each BatchNorm normalises with
the statistics of the batch being drawn, exactly as the training-time sample grids were made
(batches smaller than 64 are drawn as 64 and cut, since batch statistics of a handful of samples
are noisy). ``--eval-bn`` uses the running statistics instead (eval mode), which lag G early in
training.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from .checkpoint import Checkpoint, CheckpointError
from .cli import CLIError, check_backend_env, fail, output_file
from .random import Generator
from .trainers.samplers import generate, load_generator, load_sampler, model_kind
from .viz import save_grid

MIN_BATCH = 64


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="checkpoint .json/.npz, checkpoints folder or run folder")
    parser.add_argument("--n", type=int, default=64, help="number of digits (default 64)")
    parser.add_argument("--out", default="grid.png", help="PNG to write (default grid.png)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors z")
    parser.add_argument("--nrow", type=int, default=None, help="digits per row (default ~sqrt n)")
    parser.add_argument("--eval-bn", action="store_true",
                        help="BatchNorm with running statistics (eval mode) instead of batch statistics")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 10000:
        parser.error(f"--n must be in 1..10000, got {args.n}")
    if args.nrow is not None and args.nrow < 1:
        parser.error(f"--nrow must be >= 1, got {args.nrow}")
    try:
        check_backend_env()
        output_file(args.out, "--out")      # before any work: a folder, a path under a file...
        kind = model_kind(Checkpoint(args.checkpoint, modules=["G"]).meta)
        if kind == "dcgan":
            G, ckpt = load_generator(args.checkpoint)
            n_draw = args.n if args.eval_bn else max(args.n, MIN_BATCH)
            z = Generator(args.seed).normal((n_draw, G.z_dim))
            images = generate(G, z, train_mode_bn=not args.eval_bn)[:args.n]
        else:                    # any other trainer's generator, through its load_sampler
            if args.eval_bn:     # its load_sampler draws as its training grids do; no switch to honour
                raise CLIError(f"--eval-bn applies to `train dcgan` checkpoints; {args.checkpoint} is "
                               f"`train {kind}`'s, drawn as its training grids are")
            try:
                sample, meta, data = load_sampler(args.checkpoint)
            except ValueError as exc:        # a model nothing here can draw from
                raise CLIError(str(exc)) from None
            if data != "mnist":
                raise CLIError(f"{args.checkpoint} is a checkpoint of `train {kind}` on {data}: "
                               "points, not digits (see its frames, or python -m tinygan.eval)")
            ckpt = Checkpoint(args.checkpoint, modules=["G"])
            images = np.asarray(sample(args.n, args.seed)).reshape(args.n, 1, 28, 28)
        out = save_grid(args.out, images, nrow=args.nrow)
    except (CheckpointError, CLIError) as exc:
        return fail("tinygan.sample", exc)
    except (OSError, ValueError) as exc:     # PIL: an unknown extension, a full disk
        return fail("tinygan.sample", f"--out {args.out}: cannot write the grid ({exc})")
    average = ", the moving average of G (--ema)" if any(
        m.endswith("_ema") for m in ckpt.meta.get("modules", ())) else ""
    drawn = (f"{'eval' if args.eval_bn else 'training'}-mode BatchNorm" if kind == "dcgan"
             else f"drawn as `train {kind}` draws its grids")
    print(f"wrote {out}: {args.n} digits from {ckpt.path} (step {ckpt.step}, {drawn}{average})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
