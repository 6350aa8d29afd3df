"""The one training loop every ``python -m tinygan.train MODEL`` runs, and its command line.

A model supplies a :class:`Job` -- its networks, optimizers, data and one training step -- and the
loop does the rest, the same way for every model:

* the run folder ``runs/<model>-<time>/`` (``--out``; never a folder holding someone else's files),
  ``config.json``, ``metrics.jsonl`` (one line per step, continued across ``--resume``);
* a progress bar (images/s, ETA, the step's losses);
* at the end of each epoch: the job's pictures (``Job.epoch_end``) and a checkpoint;
* atomic, checksummed checkpoints (:mod:`tinygan.checkpoint`), the newest ``--keep`` kept; one at
  the end, and one on Ctrl-C or SIGTERM after the step in flight (a second Ctrl-C stops at once);
* exact ``--resume``: the checkpoint holds the modules and everything ``Job.states`` returns
  (optimizers, data order, random streams), so the steps after a resume are bit for bit those of
  an uninterrupted run;
* ``--max-steps N`` stops after N steps in all; a non-finite loss, weight or optimizer state stops
  the run with a message naming the step and the last good checkpoint (nothing non-finite is saved);
* ``--ema DECAY`` (jobs that name their generators in ``EMA_OF``): an exponential moving average
  of each, updated after every step (:class:`tinygan.optim.ema.EMA`), saved as module ``G_ema``
  next to ``G``; the job's pictures (``Job.drawing``), ``tinygan.sample`` and ``tinygan.eval`` use it;
* bad flags, files and checkpoints: one line on stderr naming the flag or file, exit code 1 or 2.

A model supplies its :class:`~tinygan.trainers.job.Job` (:mod:`tinygan.trainers.job` says how).
"""
from __future__ import annotations

import argparse
import bisect
import sys
import time
from pathlib import Path

import numpy as np

from .. import backends
from ..checkpoint import Checkpoint, CheckpointError, prune_checkpoints, save_checkpoint
from ..cli import CLIError, check_backend_env, fail, positive_int
from ..data import MNISTFormatError
from ..devices import array_module
from ..distributed import DataParallel
from . import loop_distributed as dist_cli
from .averaging import attach_ema, decay as _decay
from .common import (InterruptGuard, MetricsLog, NonFiniteLoss, UsageError, check_finite,
                     check_finite_state, new_run_dir, run_folder, write_json)
from .job import Job
from .resume import open_checkpoint, resolve_config
from .rundir import claim_run_dir

# flags every trainer has; they steer the run, they are not part of the model's config
RUN_FLAGS = ("max_steps", "out", "resume", "keep", "no_progress", "device", "backend", "distributed",
             "sync_bn")


# ----- the loop ----------------------------------------------------------------------------------
def run_job(job: Job, config: dict, run_dir: Path, *, prog: str, checkpoint: Checkpoint | None = None,
            keep: int = 3, max_steps: int | None = None, progress: bool = True,
            argv: list | None = None, dist=None) -> dict:
    """Train ``job`` in the claimed folder ``run_dir``, from ``checkpoint`` if given; returns the
    summary ({"status": "finished" | "stopped" | "interrupted", "steps", "checkpoint", ...}).
    ``dist``: a :class:`tinygan.distributed.DataParallel` over the job's modules and optimizers
    (``--distributed``): each step runs on this rank's slice of the batch, its values are the
    global batch's, and only rank 0 writes (see :mod:`.loop_distributed`)."""
    step = 0
    writer = dist is None or dist.comm.rank == 0
    attach_ema(job, config)
    if checkpoint is not None:
        for name, module in job.modules.items():
            checkpoint.load_module(name, module)
        try:
            job.load_states(checkpoint.states())
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CheckpointError(f"checkpoint {checkpoint.path} does not fit this run: {exc}") from None
        step = checkpoint.step
    if dist is not None:               # rank 0's weights, optimizer, data and random states
        states = dist.broadcast(job.states() if writer else None)
        if not writer:
            job.load_states(states)
    total = min(job.total_steps, max_steps) if max_steps else job.total_steps
    previous_run = run_folder(checkpoint) if checkpoint is not None else None
    ckpt_dir = run_dir / "checkpoints"
    world = {} if dist is None else {"distributed": {
        "world_size": dist.comm.size, "backend": dist.comm.backend, "sync_bn": dist.sync_bn}}
    if writer:
        metrics = MetricsLog(run_dir / "metrics.jsonl", step,
                             previous_run / "metrics.jsonl" if previous_run else None)
        write_json(run_dir / "config.json", {
            **config, "model": job.model, "total_steps": job.total_steps,
            "steps_per_epoch": job.steps_per_epoch, "batch_size": job.batch_size, "keep": keep,
            **job.record(), **world, "resumed_from": str(checkpoint.path) if checkpoint else None,
            "argv": list(argv or sys.argv)})
    else:
        metrics = dist_cli.NullMetrics()
    scratch = dist_cli.Scratch(dist.comm.rank if dist is not None else 0)
    last_ckpt = checkpoint.path if checkpoint else None
    ends = job.epoch_ends()
    spans = ends if ends and ends[-1] >= job.total_steps else ends + (job.total_steps,)
    saved_step = step if checkpoint else None

    def save(tag: str) -> Path:
        nonlocal last_ckpt, saved_step
        if writer:
            last_ckpt = save_checkpoint(
                ckpt_dir, step, job.modules, states=job.states(),
                meta={"model": job.model, "config": config, "tag": tag, "run_dir": str(run_dir),
                      "epochs_done": epochs_done(spans, step),
                      "images_seen": step * job.batch_size, **world, **job.meta()})
            prune_checkpoints(ckpt_dir, keep)
        saved_step = step
        return last_ckpt

    from tqdm.auto import tqdm
    epochs = len(spans)
    bar = tqdm(total=total * job.batch_size, initial=step * job.batch_size, unit="img",
               unit_scale=True, dynamic_ncols=True, disable=not (progress and writer), smoothing=0.1)
    seconds, status, values = [], "finished", {}
    try:
        with InterruptGuard() as guard:
            while step < total:
                epoch = bisect.bisect_right(ends, step) + 1
                if step == 0 or step in ends or not seconds:
                    bar.set_description(f"epoch {epoch}/{epochs}", refresh=False)
                start = time.perf_counter()
                if dist is None:
                    values, stop = job.step(), guard.requested
                else:
                    comm_start, grads_start = dist.comm.seconds, dist.allreduce_seconds
                    with dist.step():
                        values = job.step()
                    values, stop = dist.reduce_values(values, guard.requested)
                for ema in job.emas:
                    ema.update()
                elapsed = time.perf_counter() - start
                check_finite(step + 1, {name: values[k] for k, name in job.LOSS_KEYS.items()
                                        if k in values}, last_ckpt)
                check_finite_state(step + 1, job.modules, job.optimizers, last_ckpt)
                step += 1
                seconds.append(elapsed)
                metrics.append({"step": step, "epoch": epoch, **values,
                                "images_per_s": job.batch_size / elapsed, "time": time.time(),
                                **({} if dist is None else {
                                    "comm_s": dist.comm.seconds - comm_start,
                                    "allreduce_s": dist.allreduce_seconds - grads_start})})
                bar.set_postfix_str(job.postfix(values), refresh=False)
                bar.update(job.batch_size)
                if step in ends:
                    note = job.epoch_end(run_dir if writer else scratch.get(), epoch)
                    path = save("epoch")
                    if writer:
                        bar.write(f"epoch {epoch}: "
                                  f"{note + ', ' if note else ''}checkpoint {path}")
                if stop:
                    status = "interrupted"
                    break
            signal_name, exit_code = guard.signal_name, guard.exit_code
    finally:
        bar.close()
        metrics.close()
        scratch.close()
    summary = {"status": status, "steps": step, "images": step * job.batch_size,
               "images_per_s": images_per_second(seconds, job.batch_size), "run_dir": str(run_dir),
               **{f"final_{k}": v for k, v in values.items() if k in job.LOSS_KEYS}}
    if status == "interrupted":
        summary.update(checkpoint=str(save("interrupt")), signal=signal_name, exit_code=exit_code)
        return summary
    if step < job.total_steps:
        summary["status"] = "stopped"                    # --max-steps
    if saved_step != step:
        save("end")
    summary["checkpoint"] = str(last_ckpt)
    if writer:
        summary.update(job.finish(run_dir, metrics))
        write_json(run_dir / "summary.json", summary)
    return summary


def epochs_done(ends: tuple, step: int) -> float:
    """Epochs done after ``step`` steps, with the fraction of the current one (``ends``: the step
    counts that end an epoch, as ``Job.epoch_ends``, the last one ``total_steps``)."""
    done = bisect.bisect_right(ends, step)
    start = ends[done - 1] if done else 0
    if done == len(ends):
        return float(done)
    return done + (step - start) / (ends[done] - start)


def images_per_second(seconds: list, batch_size: int) -> float:
    """Median throughput of the steps timed (the first, warm-up step excluded when there are more)."""
    seconds = seconds[1:] if len(seconds) > 1 else seconds
    return batch_size / float(np.median(seconds)) if seconds else float("nan")


# ----- the command line --------------------------------------------------------------------------
def _backend(name):
    known = backends.names()              # no import: one that cannot load is refused by main()
    if name not in known:
        raise argparse.ArgumentTypeError(f"invalid choice: {name!r} (choose from {', '.join(known)})")
    return name


def make_parser(job_class, description: str | None = None) -> argparse.ArgumentParser:
    """The model's flags (``job_class.add_flags``) and the run flags every trainer has."""
    model = job_class.model
    p = argparse.ArgumentParser(prog=f"python -m tinygan.train {model}", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    job_class.add_flags(p)
    run = p.add_argument_group("run")
    if job_class.EMA_OF:
        run.add_argument("--ema", type=_decay, metavar="DECAY",
                         help=f"keep an exponential moving average of {', '.join(job_class.EMA_OF)}'s weights "
                              f"(theta_ema <- DECAY theta_ema + (1 - DECAY) theta after each step; e.g. "
                              f"0.999) and draw or score with it; 0 = off (default {job_class.DEFAULTS.get('ema', 0)})")
    if not any(a.dest == "seed" for a in p._actions):
        run.add_argument("--seed", type=int, help="seeds weights, data order and noise (default 0)")
    run.add_argument("--max-steps", type=positive_int, help="stop after this many steps in total")
    run.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    run.add_argument("--backend", type=_backend, help="kernel backend (tinygan.backends.available())")
    run.add_argument("--out", help=f"run folder (default runs/{model}-<time>; resuming: the checkpoint's)")
    run.add_argument("--resume", metavar="PATH", help="checkpoint, checkpoints folder or run folder")
    run.add_argument("--keep", type=positive_int, default=3, help="checkpoints to keep (default 3)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--distributed", action="store_true",
                     help="data-parallel over the processes of mpiexec -n N (pip install -e "
                          "\".[mpi]\"); --batch-size stays the global batch")
    run.add_argument("--sync-bn", action=argparse.BooleanOptionalAction, default=None,
                     help="batch norm over the global batch under --distributed (default on; "
                          "--no-sync-bn: each rank's own slice, not exact)")
    return p


def main(job_class, argv=None, description: str | None = None) -> int:
    """``python -m tinygan.train MODEL``: parse, open the checkpoint to resume, build the job, run it
    (under ``--distributed`` on every rank of the MPI job; see :mod:`.loop_distributed`)."""
    prog = f"tinygan.train {job_class.model}"
    parser = make_parser(job_class, description)
    args = parser.parse_args(argv)
    if args.sync_bn is not None and not args.distributed:
        parser.error("--sync-bn / --no-sync-bn need --distributed")
    if not args.distributed:
        return _main(job_class, args, parser, prog, None)
    comm = dist_cli.join(args, prog)
    if isinstance(comm, int):
        return comm
    try:
        return _main(job_class, args, parser, prog, comm)
    except SystemExit:                 # argparse's errors: the same on every rank
        raise
    except BaseException as exc:       # one rank failing alone must not leave the others waiting
        if comm.size == 1:
            raise
        return dist_cli.abort(comm, prog, exc, 130 if isinstance(exc, KeyboardInterrupt) else 1)


def _setup(job_class, args, parser, prog, comm):
    """(job, config, checkpoint, run_dir) or raises; run_dir is None on ranks other than 0."""
    check_backend_env()
    checkpoint = (open_checkpoint(args.resume, job_class.model, job_class.RULES, job_class.ABSENT)
                  if args.resume else None)
    try:
        config = resolve_config(job_class, args, checkpoint.meta["config"] if checkpoint else None,
                                checkpoint.step if checkpoint else 0)
    except UsageError as exc:
        parser.error(str(exc))
    if args.device == "cuda":
        array_module("cuda")           # "device 'cuda' needs CuPy: pip install ..." without it
    if args.backend:
        backends.set_backend(args.backend)
    job = job_class(config, args, checkpoint)
    attach_ema(job, config)            # before DataParallel rewires the modules
    if checkpoint is not None and checkpoint.step >= job.total_steps:
        return job, config, checkpoint, None
    run_dir = None
    if comm is None or comm.rank == 0:
        previous = run_folder(checkpoint) if checkpoint is not None else None
        run_dir = claim_run_dir(args.out or previous or new_run_dir(job_class.model), "--out",
                                f"python -m {prog}", checkpoint)
    return job, config, checkpoint, run_dir


_SETUP_ERRORS = (CheckpointError, CLIError, RuntimeError, NonFiniteLoss, MNISTFormatError,
                 FileNotFoundError, UsageError)


def _main(job_class, args, parser, prog, comm) -> int:
    error = None
    try:
        job, config, checkpoint, run_dir = _setup(job_class, args, parser, prog, comm)
        dist = None
        if comm is not None:
            dist = DataParallel(comm, job.modules, job.optimizers, job.batch_size,
                                sync_bn=args.sync_bn is not False)
    except _SETUP_ERRORS as exc:       # no CuPy, an unloadable backend, bad data, --out taken...
        error = exc
    except MemoryError as exc:         # --ngf 200000, --minibatch-discrimination 5000000 5 ...
        error = (f"out of memory building the networks ({exc}): the flags that size them "
                 "(widths, kernels, batch size) ask for more than this machine has")
    except OSError as exc:
        error = f"cannot write the run's files: {exc}"
    if comm is not None:               # every rank stops if one cannot start
        code = dist_cli.agree(comm, prog, error)
        if code is not None:
            return code
        run_dir = comm.broadcast_object(None if run_dir is None else str(run_dir))
        run_dir = None if run_dir is None else Path(run_dir)
    elif error is not None:
        return fail(prog, error)
    if run_dir is None:
        print(f"{prog}: {checkpoint.path} is the end of its run ({checkpoint.step} steps): "
              "nothing to resume")
        return 0
    verb = f"resuming at step {checkpoint.step} in" if checkpoint else "writing to"
    steps = min(job.total_steps, args.max_steps) if args.max_steps else job.total_steps
    print(f"{job.describe(steps)}\n  {verb} {run_dir}", flush=True)
    try:
        summary = run_job(job, config, run_dir, prog=prog, checkpoint=checkpoint, keep=args.keep,
                          max_steps=args.max_steps, progress=not args.no_progress, dist=dist)
    except NonFiniteLoss as exc:       # the step's values are all-reduced: every rank stops here
        return fail(prog, exc) if comm is None or comm.rank == 0 else 1
    except (CheckpointError, MNISTFormatError, FileNotFoundError, UsageError, CLIError) as exc:
        if comm is not None and comm.size > 1:
            raise
        return fail(prog, exc)
    except OSError as exc:           # a full disk, a folder that vanished...
        if comm is not None and comm.size > 1:
            raise
        return fail(prog, f"cannot write the run's files: {exc}")
    except MemoryError as exc:       # a --batch-size too large for this machine
        if comm is not None and comm.size > 1:
            raise
        return fail(prog, f"out of memory while training ({exc}); the last checkpoint, if any, is "
                          "intact")
    except KeyboardInterrupt:        # the second Ctrl-C: stop at once, no checkpoint
        if comm is not None and comm.size > 1:
            raise
        return fail(prog, "interrupted again: stopped at once without saving (the last "
                          "checkpoint, if any, is intact)", 130)
    code = 0
    if summary["status"] == "interrupted":
        print(f"interrupted ({summary['signal']}) at step {summary['steps']}: checkpoint "
              f"{summary['checkpoint']}\ncontinue with: python -m {prog} --resume {summary['checkpoint']}")
        code = summary["exit_code"]
    else:
        more = (f"\ncontinue with: python -m {prog} --resume {summary['checkpoint']}"
                if summary["status"] == "stopped" else "")
        print(f"done: {summary['steps']} steps ({summary['images']:,} images) at "
              f"{summary['images_per_s']:.0f} images/s. Outputs in {run_dir}{more}")
    if comm is not None:               # no rank leaves before rank 0 has saved and said so
        sys.stdout.flush()             # (mpiexec ends the job when a rank exits non-zero)
        comm.barrier()
    return code
