"""The DCGAN training run: set up (or restore) everything, loop over steps, write the outputs.

Exact resume: a checkpoint holds G and D (parameters and BatchNorm buffers), both Adam states (via
the scheme's state_dict), the data loader's epoch, position and epoch-start RNG state, the z and
dropout RNG states and the step; restoring all of them makes the steps after a resume bit-for-bit
those of an uninterrupted run with the same seed.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .. import backends
from ..checkpoint import CheckpointError, prune_checkpoints, save_checkpoint
from ..data import BatchLoader, load_mnist, to_model_input
from ..devices import array_module
from ..models import dcgan
from ..optim import Adam
from ..sample import generate, save_grid
from ..tensor import tensor
from ..viz import save_curves
from .common import (InterruptGuard, MetricsLog, UsageError, build_scheme, check_finite,
                     check_finite_state, new_run_dir, run_folder, stream, write_json)
from .dcgan import default_epochs, images_per_second, train_step
from .rundir import check_same_data, claim_run_dir, data_digest

N_SAMPLES = 64                 # the per-epoch grid: 8 x 8 digits from one fixed z
N_PAIRS, N_INTERP = 8, 10      # interpolation.png: 8 rows, 10 steps from z_a to z_b


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def run(config: dict, args, checkpoint=None) -> int:
    """Train with ``config`` (resolved settings) and ``args`` (run-level flags); returns an exit code."""
    try:
        if args.device == "cuda":
            array_module("cuda")       # "device 'cuda' needs CuPy: pip install ..." without it
        if args.backend:
            backends.set_backend(args.backend)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None
    device, seed, B = args.device, config["seed"], config["batch_size"]

    saved_data = checkpoint.meta.get("data") if checkpoint is not None else None
    data_dir = args.data_dir
    if data_dir is None and saved_data and saved_data.get("data_dir"):
        data_dir = saved_data["data_dir"]          # resume on the digits the run trained on
        print(f"resuming with the checkpoint's --data-dir {data_dir}")
    data = load_mnist("train", data_dir=data_dir, verbose=True)
    images = data.images[:config["n_train"]] if config["n_train"] else data.images
    if B > len(images):
        raise UsageError(f"--batch-size {B} is larger than the {len(images)} training digits")
    digest = data_digest(images)
    if checkpoint is not None:
        check_same_data(saved_data, digest, len(images), data.source, checkpoint)

    rngs = {name: stream(seed, name) for name in ("init", "data", "z", "dropout")}
    G, D = dcgan.build(config["arch"], config["z_dim"], generator=rngs["init"],
                       dropout_generator=rngs["dropout"])
    G.to(device), D.to(device)
    opt = dict(lr=config["lr"], betas=tuple(config["betas"]), eps=config["eps"])
    optimizers = {"G's Adam": Adam(G.parameters(), **opt), "D's Adam": Adam(D.parameters(), **opt)}
    scheme = build_scheme(config["scheme"], *optimizers.values())
    loader = BatchLoader(images, B, rngs["data"])
    steps_per_epoch = len(loader)
    epochs = args.epochs or (checkpoint.meta.get("epochs") if checkpoint else None) \
        or default_epochs(steps_per_epoch * B)
    total = epochs * steps_per_epoch
    if args.max_steps:
        total = min(total, args.max_steps)

    step = 0
    if checkpoint is not None:
        checkpoint.load_module("G", G)
        checkpoint.load_module("D", D)
        try:
            scheme.load_state_dict(checkpoint.state("scheme"))
            loader.load_state_dict(checkpoint.state("loader"))
            for name in ("z", "dropout"):
                rngs[name].set_state(checkpoint.state("rng")[name])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {checkpoint.path} does not fit this run: {exc}") from None
        for optimizer in optimizers.values():      # --lr given on resume (else the same value)
            for group in optimizer.param_groups:
                group["lr"] = config["lr"]
        step = checkpoint.step
    previous_run = run_folder(checkpoint) if checkpoint is not None else None
    run_dir = claim_run_dir(args.out or previous_run or new_run_dir("dcgan"), "--out",
                            "python -m tinygan.train dcgan", checkpoint)
    ckpt_dir = run_dir / "checkpoints"
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    metrics = MetricsLog(run_dir / "metrics.jsonl", step,
                         previous_run / "metrics.jsonl" if previous_run else None)
    data_record = {"source": data.source, "data_dir": str(Path(data_dir).resolve()) if data_dir else None,
                   "n": len(images), "sha256": digest}
    write_json(run_dir / "config.json", {
        **config, "epochs": epochs, "steps_per_epoch": steps_per_epoch, "total_steps": total,
        "images_per_epoch": steps_per_epoch * B, "n_train": len(images), "data": data.source,
        "data_dir": data_record["data_dir"], "data_sha256": digest,
        "device": device, "backend": backends.current(device), "keep": args.keep,
        "resumed_from": str(checkpoint.path) if checkpoint else None, "argv": list(sys.argv)})
    verb = f"resuming at step {step} in" if checkpoint else "writing to"
    length = f"{epochs} epochs x {steps_per_epoch} steps"
    if total < epochs * steps_per_epoch:
        length = f"{total} steps (--max-steps; a full run is {length})"
    print(f"DCGAN ({config['arch']}): {verb} {run_dir}\n  {len(images):,} training digits, {length} "
          f"x {B} = {total * B:,} images; {config['scheme']}, "
          f"G loss {config['g_loss']}, Adam lr {config['lr']} betas {tuple(config['betas'])}")

    fixed_z = stream(seed, "samples").normal((N_SAMPLES, config["z_dim"]))
    last_ckpt = checkpoint.path if checkpoint else None
    saved_step = step if checkpoint else None

    def save(tag: str) -> Path:
        nonlocal last_ckpt, saved_step
        path = save_checkpoint(
            ckpt_dir, step, {"G": G, "D": D},
            states={"scheme": scheme.state_dict(), "loader": loader.state_dict(),
                    "rng": {name: rngs[name].get_state() for name in ("z", "dropout")}},
            meta={"model": "dcgan", "config": {**config, "betas": list(config["betas"])},
                  "epochs_done": step / steps_per_epoch, "epochs": epochs, "tag": tag,
                  "images_seen": step * B, "run_dir": str(run_dir), "data": data_record})
        prune_checkpoints(ckpt_dir, args.keep)
        last_ckpt, saved_step = path, step
        return path

    from tqdm.auto import tqdm
    bar = tqdm(total=total * B, initial=step * B, unit="img", unit_scale=True, dynamic_ncols=True,
               disable=args.no_progress, smoothing=0.1)
    seconds, status = [], "finished"
    try:
        with InterruptGuard() as guard:
            while step < total:
                epoch = step // steps_per_epoch
                if step % steps_per_epoch == 0 or not seconds:
                    bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
                start = time.perf_counter()
                real = tensor(to_model_input(loader.next_batch()), device=device)
                z = tensor(rngs["z"].normal((B, config["z_dim"])), device=device)
                values = train_step(G, D, scheme, real, z, config["g_loss"])
                elapsed = time.perf_counter() - start
                check_finite(step + 1, {"D loss": values["d_loss"], "G loss": values["g_loss"]}, last_ckpt)
                check_finite_state(step + 1, {"G": G, "D": D}, optimizers, last_ckpt)
                step += 1
                seconds.append(elapsed)
                metrics.append({"step": step, "epoch": epoch + 1, **values,
                                "images_per_s": B / elapsed, "time": time.time()})
                bar.set_postfix_str(f"D {_fmt(values['d_loss'])} G {_fmt(values['g_loss'])} "
                                    f"D(x) {_fmt(values['d_real'])} D(G(z)) {_fmt(values['d_fake'])}",
                                    refresh=False)
                bar.update(B)
                if step % steps_per_epoch == 0:
                    # Training-mode BatchNorm (batch statistics of these 64 z) under no_grad:
                    # the digits look as G draws them while it trains; the running statistics
                    # (eval mode) lag G early on. generate() leaves the running stats untouched.
                    grid = save_grid(run_dir / "samples" / f"epoch_{step // steps_per_epoch:03d}.png",
                                     generate(G, fixed_z), nrow=8)
                    bar.write(f"epoch {step // steps_per_epoch}: {grid}, checkpoint {save('epoch')}")
                if guard.requested:
                    status = "interrupted"
                    break
            signal_name, exit_code = guard.signal_name, guard.exit_code
    except BaseException:
        bar.close()
        metrics.close()
        raise
    bar.close()
    metrics.close()
    if status == "interrupted":
        path = save("interrupt")
        print(f"interrupted ({signal_name}) at step {step}: checkpoint {path}\n"
              f"continue with: python -m tinygan.train dcgan --resume {path}")
        return exit_code
    if saved_step != step:
        save("end")
    finish(run_dir, G, metrics, seed, config["z_dim"])
    rate = images_per_second(seconds, B)
    print(f"done: {step} steps ({step * B:,} images) at {rate:.0f} images/s. Outputs in {run_dir}")
    return 0


def finish(run_dir: Path, G, metrics: MetricsLog, seed: int, z_dim: int) -> None:
    """losses.png, interpolation.png (training-mode BatchNorm, as the grids) and samples/final.png."""
    d, g = metrics.series("d_loss"), metrics.series("g_loss")
    if d:
        save_curves(run_dir / "losses.png", {"D loss": d, "G loss": g}, title="DCGAN losses",
                    xlabel="step", ylabel="BCE")
    rng = stream(seed, "interpolation")
    za, zb = rng.normal((N_PAIRS, z_dim)), rng.normal((N_PAIRS, z_dim))
    t = np.linspace(0.0, 1.0, N_INTERP, dtype=np.float32)[None, :, None]
    z = ((1 - t) * za[:, None] + t * zb[:, None]).reshape(-1, z_dim)   # row i: z_a[i] -> z_b[i]
    save_grid(run_dir / "interpolation.png", generate(G, z), nrow=N_INTERP)
    save_grid(run_dir / "samples" / "final.png",
              generate(G, stream(seed, "samples").normal((N_SAMPLES, z_dim))), nrow=8)
