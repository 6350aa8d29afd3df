r"""``python -m tinygan.study coverage``: which GAN fix keeps a generator on every mode?

Each variant trains ``python -m tinygan.train gan`` (the same code and defaults: G and D MLPs with
three hidden layers of 128, batch 256, the lr decayed linearly over the second half) on ring-8 and
grid-25 (:mod:`tinygan.data.toy`), once per seed, and is scored on 2,500 samples by
:func:`tinygan.metrics.mode_coverage` (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018):
modes captured, % high-quality samples (within 3 standard deviations of a mode), and the reverse
KL of the mode histogram from uniform.

    variant             the flags of ``train gan``
    vanilla             --loss minimax          (Goodfellow et al. 2014, Algorithm 1 as written)
    nonsaturating       --loss nonsaturating    (the same paper's -log D(G(z)))
    wgan                --loss wgan             (Arjovsky et al. 2017: clip 0.01, RMSprop 5e-5, 5 critic steps)
    wgan-gp             --loss wgan-gp          (Gulrajani et al. 2017: lambda 10, Adam 1e-4 (0, 0.9), 5 critic steps)
    feature-matching    --feature-matching      (Salimans et al. 2016)
    minibatch           --minibatch-discrimination 5 3   (Salimans et al. 2016)
    spectral-norm       --spectral-norm         (Miyato et al. 2018)
    pacgan2, pacgan4    --pack 2, --pack 4      (Lin et al. 2018: D judges packs of 2 / 4 samples)

Outputs in ``--out`` (default runs/study-coverage): ``results.json`` (every run's numbers),
``results.md`` (mean +- standard deviation over the seeds), ``samples.png`` (seed 0's samples of
every variant on both mixtures) and ``runs/<data>-<variant>-seed<N>/`` (each run's folder). A run
whose folder already holds a finished summary is not trained again, so an interrupted study
continues where it stopped, and ``--steps``/``--seeds`` size the same code from a smoke test to
the full study.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .checkpoint import Checkpoint, CheckpointError
from .data.toy import get_mixture
from .cli import CLIError, fail, positive_int
from .trainers import gan
from .trainers.gan import load_run
from .trainers.gan_pictures import generate
from .viz import _figure, _save

VARIANTS = {
    "vanilla": ["--loss", "minimax"],
    "nonsaturating": ["--loss", "nonsaturating"],
    "wgan": ["--loss", "wgan"],
    "wgan-gp": ["--loss", "wgan-gp"],
    "feature-matching": ["--feature-matching"],
    "minibatch": ["--minibatch-discrimination", "5", "3"],
    "spectral-norm": ["--spectral-norm"],
    "pacgan2": ["--pack", "2"],
    "pacgan4": ["--pack", "4"],
}
DATA = ("ring", "grid")
PROG = "tinygan.study"


def run_config(data: str, variant: str, steps: int, seed: int) -> dict:
    """The config ``python -m tinygan.train gan`` makes from the variant's flags."""
    flags = ["--data", data, *VARIANTS[variant], "--steps", str(steps), "--every", str(steps),
             "--seed", str(seed)]
    return gan.resolve_config(gan.make_parser("").parse_args(flags))


def train_one(job) -> dict:
    """Train (or reuse, or finish) one run; returns its coverage record. ``job``: (out, data,
    variant, steps, seed). A run the study stopped (Ctrl-C, SIGTERM: its summary says
    "interrupted") continues from its newest checkpoint, exactly as ``train gan --resume``; its
    CPU time is then unknown (None: left out of the table's CPU column)."""
    out, data, variant, steps, seed = job
    run_dir = _run_dir(out, data, variant, steps, seed)
    summary_file = run_dir / "summary.json"
    config, checkpoint = run_config(data, variant, steps, seed), None
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text())
        if summary.get("status") == "finished" and summary.get("steps") == steps:
            return _record(data, variant, seed, summary)
        checkpoint = _resumable(run_dir, config)
        if checkpoint is None:
            raise CLIError(f"{run_dir} holds a run of {summary.get('steps')} steps ({summary.get('status')}) "
                           f"that is not this study's {steps}-step {variant} run: give another --out")
        print(f"  {run_dir}: {summary.get('status')} at step {checkpoint.step}; resuming it", flush=True)
    elif run_dir.exists():       # the study's own run, stopped before its end (no checkpoint yet)
        print(f"  {run_dir}: unfinished (no summary.json); training it again", flush=True)
        shutil.rmtree(run_dir)
    cpu = time.process_time()
    summary = gan.train(config, run_dir, progress=False, keep=1, pictures=False, checkpoint=checkpoint)
    summary["cpu_seconds"] = round(time.process_time() - cpu, 1) if checkpoint is None else None
    summary["pid"] = os.getpid()
    summary_file.write_text(json.dumps(summary, indent=1))
    if summary.get("status") != "finished":
        raise CLIError(f"{run_dir}: stopped at step {summary.get('steps')} ({summary.get('status')}); "
                       "run the same study again to continue it")
    return _record(data, variant, seed, summary)


def _resumable(run_dir: Path, config: dict):
    """The newest checkpoint of ``run_dir`` if it is a run of exactly ``config``, else None."""
    try:
        checkpoint = Checkpoint(run_dir)
    except (CheckpointError, OSError, ValueError):
        return None
    saved = checkpoint.meta.get("config") or {}
    same = all(saved.get(k) == v for k, v in json.loads(json.dumps(config)).items())
    return checkpoint if same and checkpoint.meta.get("model") == "gan" else None


def _run_dir(out, data, variant, steps, seed) -> Path:
    return Path(out) / "runs" / f"{data}-{variant}-seed{seed}"


def _record(data, variant, seed, summary) -> dict:
    c = summary["coverage"]
    return {"data": data, "variant": variant, "seed": seed, "modes": c["modes_captured"],
            "num_modes": c["num_modes"], "high_quality": c["high_quality"],
            "reverse_kl": c["reverse_kl"], "seconds": summary["seconds"],
            "cpu_seconds": summary.get("cpu_seconds"), "run_dir": summary["run_dir"]}


def _mean_sd(values) -> str:
    values = np.asarray(values, np.float64)
    return f"{values.mean():.2f} ± {values.std():.2f}" if len(values) > 1 else f"{values.mean():.2f}"


def table(records: list, steps: int) -> str:
    """The markdown table: one row per variant, modes / % high quality / reverse KL per mixture."""
    seeds = sorted({r["seed"] for r in records})
    lines = [f"{steps} generator steps, seeds {', '.join(map(str, seeds))}; mean ± standard deviation "
             "over a cell's seeds (n: how many; 2,500 samples each; reverse KL over the runs with "
             "a high-quality sample)", "",
             "| variant | ring-8 n | modes | % HQ | rev. KL | grid-25 n | modes | % HQ | rev. KL "
             "| CPU s / run |", "|---|---|---|---|---|---|---|---|---|---|"]
    for variant in VARIANTS:
        cells = [variant]
        cpu = []
        for data in DATA:
            rows = [r for r in records if r["data"] == data and r["variant"] == variant]
            if not rows:
                cells += ["0"] + ["-"] * 3
                continue
            cells += [str(len(rows)), _mean_sd([r["modes"] for r in rows]),
                      _mean_sd([100 * r["high_quality"] for r in rows]),
                      _mean_sd([r["reverse_kl"] for r in rows if math.isfinite(r["reverse_kl"])] or [math.nan])]
            cpu += [r["cpu_seconds"] for r in rows if r.get("cpu_seconds") is not None]
        cells.append(f"{np.mean(cpu):.0f}" if cpu else "-")
        if any(c not in ("-", "0") for c in cells[1:]):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_samples(path, out: Path, records: list) -> Path:
    """Seed 0's (or the lowest seed's) 2,500 samples per variant (rows) and mixture (columns)."""
    variants = [v for v in VARIANTS if any(r["variant"] == v for r in records)]
    datas = [d for d in DATA if any(r["data"] == d for r in records)]
    figure = _figure(2.6 * len(datas), 2.5 * len(variants))
    for i, variant in enumerate(variants):
        for j, data in enumerate(datas):
            rows = sorted((r for r in records if r["variant"] == variant and r["data"] == data),
                          key=lambda r: r["seed"])
            ax = figure.add_subplot(len(variants), len(datas), i * len(datas) + j + 1)
            if not rows:
                ax.axis("off")
                continue
            r = rows[0]
            G, _ = load_run(r["run_dir"])
            x = generate(G, 2500, seed=2500)
            mixture = get_mixture(data)
            lo, hi = mixture.extent(1.0)
            ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:orange", alpha=0.4)
            ax.scatter(mixture.means[:, 0], mixture.means[:, 1], s=6, c="black", marker="x")
            ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xticks=[], yticks=[])
            ax.set_title(f"{variant}, {data} (seed {r['seed']}): {r['modes']}/{r['num_modes']}, "
                         f"{100 * r['high_quality']:.0f}% HQ", fontsize=7)
    return _save(figure, path)


def coverage(args) -> int:
    out = Path(args.out)
    variants = args.variants or list(VARIANTS)
    jobs = [(str(out), data, variant, args.steps, seed)      # seed by seed: a study cut short
            for seed in args.seeds for data in args.data for variant in variants]   # has whole seeds
    if args.collect:                  # tabulate the runs that finished, train nothing
        jobs = [job for job in jobs if _finished(_run_dir(*job), job[3])]
    print(f"{PROG} coverage: {len(jobs)} runs ({', '.join(args.data)} x {len(variants)} variants x "
          f"seeds {' '.join(map(str, args.seeds))}), {args.steps} steps each, {args.jobs} at a time -> {out}")
    if args.jobs > 1:
        # spawned, not forked: GNU OpenMP (the C++ kernels' threads) hangs in a forked child
        # whose parent has run a parallel region, as soon as the child starts one of its own
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            records = []
            for record in pool.map(train_one, jobs):
                records.append(record)
                _report(record)
    else:
        records = [_report(train_one(job)) for job in jobs]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"steps": args.steps, "runs": records}, indent=1))
    text = table(records, args.steps)
    (out / "results.md").write_text(text)
    print(text)
    if not args.no_plot:
        print(f"samples: {save_samples(out / 'samples.png', out, records)}")
    return 0


def _finished(run_dir: Path, steps: int) -> bool:
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    return summary.get("status") == "finished" and summary.get("steps") == steps


def _report(r: dict) -> dict:
    print(f"  {r['data']:4s} {r['variant']:16s} seed {r['seed']}: {r['modes']}/{r['num_modes']} modes, "
          f"{100 * r['high_quality']:5.1f}% HQ, reverse KL {r['reverse_kl']:.3f} ({r['seconds']:.0f} s)",
          flush=True)
    return r


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinygan.study", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="study", required=True)
    c = sub.add_parser("coverage", help="mode coverage of the GAN fixes on ring-8 and grid-25")
    c.add_argument("--steps", type=positive_int, default=2000, help="generator steps per run (default 2000)")
    c.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="default 0 1 2 3 4")
    c.add_argument("--data", nargs="+", choices=DATA, default=list(DATA), help="default ring grid")
    c.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="default: all nine")
    c.add_argument("--jobs", type=positive_int, default=1, help="runs in parallel (processes; default 1)")
    c.add_argument("--out", default="runs/study-coverage", help="study folder (default runs/study-coverage)")
    c.add_argument("--no-plot", action="store_true", help="no samples.png")
    c.add_argument("--collect", action="store_true",
                   help="train nothing: tabulate the runs of --out that have finished")
    args = p.parse_args(argv)
    try:
        return coverage(args)
    except (CLIError, OSError) as exc:
        return fail(PROG, exc)


if __name__ == "__main__":
    sys.exit(main())
