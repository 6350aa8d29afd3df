r"""``python -m tinygan.train gan --data ring|grid|mnist``: the original GAN, Algorithm 1 of Goodfellow et al. (2014).

    for number of training iterations:
        for k steps:                                    (--k, default 1)
            draw m noise samples z and m data samples x
            update D by ascending  ∇_θd (1/m) Σ [log D(x_i) + log(1 - D(G(z_i)))]
        draw m noise samples z
        update G by descending ∇_θg (1/m) Σ log(1 - D(G(z_i)))       (--g-loss minimax)
                 or ascending  ∇_θg (1/m) Σ log D(G(z_i))             (--g-loss nonsaturating, default)

written as :class:`tinygan.optim.AlternatingGDA` with ``n_dis = k`` over two Adam optimizers; each
closure draws a fresh minibatch, so each of the k discriminator steps sees its own (x, z), as in
the algorithm. G and D are the MLPs of :mod:`tinygan.models.gan`. ``--loss`` swaps the objective
(wgan, wgan-gp, hinge, lsgan, each with its paper's recipe) and ``--spectral-norm``,
``--feature-matching``, ``--minibatch-discrimination B C``, ``--label-smoothing A`` and ``--pack M``
(PacGAN: D judges packs of M samples; m = M x ``--batch-size`` samples a step) add the
stabilisers (:mod:`tinygan.trainers.objectives`); every step logs G's gradient norm, and on 2-D
data every frame logs the exact EMD of 500 + 500 points beside the critic's estimate mean D(x) -
mean D(G(z)) (``emd.png`` at the end).

2-D data (``ring``: 8 Gaussians, std 0.02; ``grid``: 25 Gaussians, std 0.05; :mod:`tinygan.data.toy`):
every ``--every`` steps a frame ``frames/step_XXXXXX.png`` shows real and generated points over the
contours of the learned D(x) and, beside it, the optimal D*(x) = p(x) / (p(x) + q(x)) for the
current G -- p is the known mixture density, q a Gaussian KDE of G's samples (bandwidth by
validation likelihood). At the end: ``training.gif`` of the frames, and the mode coverage over
2,500 samples (modes captured, % high quality, reverse KL) in ``summary.json``.
MNIST (flattened 784-d digits in [-1, 1]): ``samples/step_XXXXXX.png`` grids from a fixed z.

Defaults for ring / grid: G 2 -> 128 -> 128 -> 128 -> 2 (ReLU), D 2 -> 128 x 3 -> 1 (LeakyReLU 0.2),
z ~ N(0, I_2), batch 256, Adam lr 1e-3, betas (0.5, 0.999), 5,000 steps with the learning rate
decayed linearly to 0 over the second half (``--lr-decay 0.5``). The discs that count as high
quality are only 0.06 wide, so the generator must be precise: measured on seed 0, G with two hidden
layers and a constant lr had only 37% of its points in them at step 5,000 (the rest on the arcs
between modes), with the decay 91%; the third layer gives 95.8% (93.6% without the decay).
Measured on ring-8 with the defaults, seeds 0-4 (2,500 samples each): 8/8 modes captured every
time, high quality 95.8 / 94.4 / 95.7 / 89.8 / 93.8% (mean 93.9%), reverse KL 0.02 / 0.13 / 0.04 /
0.67 / 0.01 (seed 3 leaves three modes nearly empty); ~50 s of CPU per run single-threaded
(``OMP_NUM_THREADS=1``: the matrices are small and BLAS threads only contend). MNIST defaults:
G 100 -> 256 -> 512 -> 1024 -> 784 (LeakyReLU 0.2, tanh), D 784 -> 512 -> 256 -> 1 with dropout
0.3, batch 64, Adam 2e-4, 5,000 steps (~165 s of CPU; measured 2026-11-23, before the dropout masks
changed to 32-bit PCG64 words): LeNet-FID 115.7, IS analog 4.96, all ten
digits (KL to uniform 0.22); a plain ReLU G with no dropout in D collapsed onto one digit.

A run writes ``runs/gan-<time>/``: ``config.json``, ``metrics.jsonl``, ``losses.png``,
``checkpoints/step_*.{npz,json}`` (the format of :mod:`tinygan.checkpoint`, readable by
``python -m tinygan.eval``; one every ``--every`` steps, at the end and on Ctrl-C or SIGTERM, the newest
``--keep`` kept), ``summary.json`` and the pictures above. ``--resume PATH`` continues a run
exactly (same losses, step for step, as an uninterrupted run); ``--max-steps N`` stops early.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from .. import optim
from ..autograd import no_grad
from ..checkpoint import Checkpoint, CheckpointError, prune_checkpoints, save_checkpoint
from ..cli import CLIError, check_backend_env, fail
from ..creation import tensor
from ..data import MNISTFormatError
from ..models import gan
from ..viz import save_curves, save_grid
from .common import (InterruptGuard, MetricsLog, NonFiniteLoss, UsageError, check_finite,
                     check_finite_state, new_run_dir, run_folder, stream, write_json)
from .gan_config import (DATASETS, PROG, loss_of, make_parser,  # noqa: F401 (DATASETS: API)
                         resolve_config, resumed_config, saved_config_rules)
from .gan_data import Sampler  # noqa: F401 (part of this module's API)
from .gan_pictures import generate, save_frame, save_gif, save_transport_plot, transport_check
from .objectives import (OBJECTIVE_DEFAULTS, critic_gap, critic_loss, describe_objective,
                         generator_objective, make_optimizers, spectral_normalize)
from .rundir import check_config, check_same_data, claim_run_dir


# ----- models and data ------------------------------------------------------------------------
def build_models(config: dict, dropout=None):
    """(G, D) for a run config (seeded by its "init" stream); ``dropout``: the Generator of D's
    dropout masks (default: a fresh "dropout" stream)."""
    init = stream(config["seed"], "init")
    dim = 784 if config["data"] == "mnist" else 2
    G = gan.Generator(config["z_dim"], dim, config["g_hidden"],
                      "tanh" if config["data"] == "mnist" else None,
                      config.get("g_activation", "relu"), generator=init)
    D = gan.Discriminator(dim, config["d_hidden"], config.get("d_dropout", 0.0), generator=init,
                          dropout_generator=dropout or stream(config["seed"], "dropout"),
                          minibatch=config.get("minibatch"), pack=config.get("pack", 1))
    if config.get("spectral_norm"):
        spectral_normalize(D, generator=init)
    return G, D


def load_run(path):
    """(G, checkpoint) from a ``gan`` run folder, checkpoints folder or checkpoint file."""
    ckpt = Checkpoint(path, modules=["G"])
    G, _ = build_models(ckpt.meta["config"])
    ckpt.load_module("G", G)
    return G, ckpt


# ----- training -------------------------------------------------------------------------------
def train(config: dict, run_dir, progress: bool = True, checkpoint=None, keep: int = 3,
          max_steps: int | None = None, pictures: bool = True) -> dict:
    """Run Algorithm 1 for ``config["steps"]`` iterations, writing the run folder; returns the
    summary (final losses, seconds, and the mode coverage for 2-D data).

    A checkpoint is written every ``config["every"]`` steps (with each frame / sample grid), at
    the end, and on Ctrl-C or SIGTERM (the step finishes first); the newest ``keep`` are kept. It holds G, D,
    both Adam states, the data, z and dropout streams and the step, so ``checkpoint=`` (a
    :class:`tinygan.checkpoint.Checkpoint` of this run) continues exactly where it stopped: the
    steps after it are bit for bit those of an uninterrupted run. ``max_steps`` stops early (the
    learning-rate schedule still spans ``config["steps"]``). ``summary["status"]`` is "finished",
    "stopped" (``max_steps``) or "interrupted"; the end-of-run pictures and coverage come with
    "finished" only. ``pictures=False`` (the coverage study) skips the frames, sample grids and
    plots; the metrics, checkpoints and coverage are the same."""
    config = {**OBJECTIVE_DEFAULTS, **config, "loss": loss_of(config)}
    zs, drop = stream(config["seed"], "z"), stream(config["seed"], "dropout")
    G, D = build_models(config, dropout=drop)
    sample_real = Sampler(config)
    if checkpoint is not None and sample_real.data is not None:
        data = sample_real.data
        check_same_data(checkpoint.meta.get("data"), data["sha256"], data["n"], data["source"], checkpoint)
    run_dir = claim_run_dir(run_dir, "--out", "python -m tinygan.train gan", checkpoint)
    write_json(run_dir / "config.json", config)
    k, lr = config["k"], config["lr"]
    m = config["batch_size"] * config.get("pack", 1)      # samples per batch: --batch-size packs of --pack
    g_opt, d_opt = make_optimizers(G, D, config, lr)
    scheme = optim.AlternatingGDA(g_opt, d_opt, n_dis=k)
    bce = config["loss"] in ("nonsaturating", "minimax")
    record = {}

    def d_loss():                        # a fresh minibatch (x, z) for each of the k D steps
        x = tensor(sample_real(m))
        with no_grad():
            fake = G(tensor(zs.normal((m, G.z_dim))))
        loss, real_out, fake_out = critic_loss(D, x, fake, config, generator=zs)
        if bce:
            record.setdefault("d_real", float(_sigmoid(real_out.numpy()).mean()))
            record.setdefault("d_fake", float(_sigmoid(fake_out.numpy()).mean()))
        else:
            record.setdefault("critic_gap", critic_gap(real_out, fake_out))
        return loss

    def g_loss():
        x = tensor(sample_real(m)) if config["feature_matching"] else None
        return generator_objective(D, x, G(tensor(zs.normal((m, G.z_dim)))), config)

    start_step, previous_run = 0, None
    if checkpoint is not None:
        checkpoint.load_module("G", G)
        checkpoint.load_module("D", D)
        try:
            g_opt.load_state_dict(checkpoint.state("g_opt"))
            d_opt.load_state_dict(checkpoint.state("d_opt"))
            sample_real.load_state_dict(checkpoint.state("data"))
            zs.set_state(checkpoint.state("rng")["z"])
            drop.set_state(checkpoint.state("rng")["dropout"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {checkpoint.path} does not fit this run: {exc}") from None
        for opt in (g_opt, d_opt):       # --lr given on resume (else the same value); the decay
            for group in opt.param_groups:       # below sets it again from the step
                group["lr"] = lr
        start_step = checkpoint.step
        previous_run = run_folder(checkpoint)
    ckpt_dir = run_dir / "checkpoints"
    last_ckpt = checkpoint.path if checkpoint is not None else None

    def save(step: int, tag: str) -> Path:
        nonlocal last_ckpt
        last_ckpt = save_checkpoint(
            ckpt_dir, step, {"G": G, "D": D},
            states={"g_opt": g_opt.state_dict(), "d_opt": d_opt.state_dict(),
                    "data": sample_real.state_dict(),
                    "rng": {"z": zs.get_state(), "dropout": drop.get_state()}},
            meta={"model": "gan", "config": config, "tag": tag, "data": sample_real.data})
        prune_checkpoints(ckpt_dir, keep)
        return last_ckpt

    mixture = sample_real.mixture
    log = MetricsLog(run_dir / "metrics.jsonl", start_step,
                     previous_run / "metrics.jsonl" if previous_run else None)
    steps, every = config["steps"], config["every"]
    last = min(steps, max_steps) if max_steps else steps
    frames = sorted(p for p in ((previous_run or run_dir) / "frames").glob("step_*.png")
                    if int(p.stem[5:]) <= start_step) if start_step else []    # the GIF's earlier frames
    decay_from = steps * (1.0 - config["lr_decay"])
    start = time.perf_counter()
    bar = _progress(steps, progress, initial=start_step)
    step, status, losses = start_step, "finished", {}
    with InterruptGuard() as guard:
        while step < last:
            step += 1
            if config["lr_decay"] > 0 and step > decay_from:   # linear decay to 0 at the last step
                for opt in (g_opt, d_opt):
                    for group in opt.param_groups:
                        group["lr"] = lr * (steps - step + 1) / (steps - decay_from)
            record.clear()
            values = scheme.step(g_loss, d_loss)
            losses = {"d_loss": values["max_loss"], "g_loss": values["min_loss"]}
            record["g_grad_norm"] = _grad_norm(G)
            check_finite(step, losses, last_ckpt)
            check_finite_state(step, {"G": G, "D": D}, {"G's optimizer": g_opt, "D's optimizer": d_opt}, last_ckpt)
            frame = step % every == 0 or step == steps or step == 1
            if frame and mixture is not None:
                record.update(transport_check(G, D, mixture))
            log.append({"step": step, **losses, **record})
            if frame:
                name = f"step_{step:06d}.png"
                if pictures and mixture is not None:
                    frames.append(save_frame(run_dir / "frames" / name, G, D, mixture, step))
                elif pictures:
                    save_grid(run_dir / "samples" / name, generate(G, 64, 77).reshape(-1, 28, 28))
                if step % every == 0 and step < last:
                    save(step, "every")
            if bar is not None:
                bar.update(1)
                if step % 50 == 0:
                    bar.set_postfix(d=f"{losses['d_loss']:.3f}", g=f"{losses['g_loss']:.3f}")
            if guard.requested:
                status = "interrupted"
                break
        signal_name, exit_code = guard.signal_name, guard.exit_code
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    log.close()
    if status == "finished" and step < steps:
        status = "stopped"                               # --max-steps
    ckpt = save(step, "interrupt" if status == "interrupted" else "end")
    summary = {"steps": step, "status": status, "seconds": round(seconds, 1), "checkpoint": str(ckpt),
               "run_dir": str(run_dir), "signal": signal_name if status == "interrupted" else None,
               "exit_code": exit_code if status == "interrupted" else None,
               "final_d_loss": losses.get("d_loss", math.nan), "final_g_loss": losses.get("g_loss", math.nan)}
    if status == "finished" and pictures:
        save_curves(run_dir / "losses.png", {"L_D": log.series("d_loss"), "L_G": log.series("g_loss")},
                    title=f"original GAN on {config['data']}", xlabel="step", ylabel="loss")
        if mixture is not None:
            save_gif(frames, run_dir / "training.gif")
            rows = [r for r in log.records if "emd" in r]
            save_transport_plot(run_dir / "emd.png", [r["step"] for r in rows], [r["emd"] for r in rows],
                                [r["critic_estimate"] for r in rows], config["loss"])
    if status == "finished" and mixture is not None:
        summary["coverage"] = mixture.coverage(generate(G, 2500, seed=2500))
    write_json(run_dir / "summary.json", summary)
    return summary


def _grad_norm(module) -> float:
    """||grad||_2 over all of ``module``'s parameters (G's gradient of this step's G loss)."""
    return float(math.sqrt(sum(float((p.grad.data.astype(np.float64) ** 2).sum())
                               for p in module.parameters() if p.grad is not None)))


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-np.asarray(a, np.float64)))


def _progress(total: int, enabled: bool, initial: int = 0):
    if not enabled:
        return None
    try:
        from tqdm import tqdm        # third-party: only when a progress bar is shown
    except ImportError:      # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, desc="gan", unit="step", file=sys.stderr, mininterval=1.0)


# ----- command line (flags and settings: gan_config.py) ------------------------------------------
def main(argv=None) -> int:
    parser = make_parser(__doc__)
    args = parser.parse_args(argv)
    checkpoint, previous_run = None, None
    try:
        check_backend_env()
        if args.resume:
            checkpoint = Checkpoint(args.resume)
            if checkpoint.meta.get("model") != "gan":
                raise CLIError(f"--resume {checkpoint.path} is not a checkpoint of `train gan`")
            config = checkpoint.meta.get("config")
            check_config(config, saved_config_rules(config if isinstance(config, dict) else {}), checkpoint)
            previous_run = run_folder(checkpoint)
    except (CheckpointError, CLIError) as exc:
        return fail(PROG, exc)
    if checkpoint is not None:
        config = resumed_config(args, parser, checkpoint)
    else:
        try:
            config = resolve_config(args)
        except ValueError as exc:
            parser.error(str(exc))
    if checkpoint is not None and checkpoint.step >= config["steps"]:
        print(f"tinygan.train gan: {checkpoint.path} is the end of its run ({checkpoint.step} steps): "
              "nothing to resume")
        return 0
    target = Path(args.out or previous_run or new_run_dir("gan"))
    made_here = not target.exists()
    try:
        run_dir = claim_run_dir(target, "--out", "python -m tinygan.train gan", checkpoint)
        verb = f"resuming at step {checkpoint.step}" if checkpoint is not None else "starting"
        print(f"tinygan.train gan: {config['data']}, {config['steps']} steps, k = {config['k']}, "
              f"{describe_objective({**config, 'loss': loss_of(config)})}, {verb} -> {run_dir}")
        summary = train(config, run_dir, progress=not args.no_progress, checkpoint=checkpoint,
                        keep=args.keep, max_steps=args.max_steps)
    except (NonFiniteLoss, CheckpointError, CLIError, UsageError, MNISTFormatError,
            FileNotFoundError) as exc:
        return fail(PROG, exc)
    except OSError as exc:
        return fail(PROG, f"cannot write the run's files: {exc}")
    except MemoryError as exc:       # --g-hidden 2000000000, a --batch-size beyond the machine
        if made_here and target.is_dir() and not any(target.iterdir()):
            target.rmdir()           # made a moment ago by this run, nothing in it yet
        return fail(PROG, f"out of memory ({exc}): the flags that size the networks or the batch "
                          "ask for more than this machine has; the last checkpoint, if any, is intact")
    except KeyboardInterrupt:        # the second Ctrl-C: stop at once, no checkpoint
        return fail(PROG, "interrupted again: stopped at once without saving (the last "
                          "checkpoint, if any, is intact)", 130)
    if summary["status"] != "finished":
        how = f" ({summary['signal']})" if summary.get("signal") else ""
        print(f"{summary['status']}{how} at step {summary['steps']}: checkpoint {summary['checkpoint']}\n"
              f"continue with: python -m tinygan.train gan --resume {summary['checkpoint']}")
        return summary["exit_code"] if summary["status"] == "interrupted" else 0
    line = f"done in {summary['seconds']:.0f} s"
    if "coverage" in summary:
        c = summary["coverage"]
        line += (f": {c['modes_captured']}/{c['num_modes']} modes captured, "
                 f"{100 * c['high_quality']:.1f}% high quality, reverse KL {c['reverse_kl']:.3f}")
    print(line)
    print(f"evaluate: python -m tinygan.eval {run_dir}")
    return 0 if all(math.isfinite(summary[k]) for k in ("final_d_loss", "final_g_loss")) else 1


if __name__ == "__main__":
    sys.exit(main())
