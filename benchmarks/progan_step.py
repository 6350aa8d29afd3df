"""CPU seconds of one training step of `train progan` in each of its five phases, next to one
step of the default `train dcgan`, batch 64, the jobs' own ``step()`` on the shipped digits.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/progan_step.py [--channels 64 32 16] [--steps 4]
        [--set loss='"nonsaturating"' reg_every=4 minibatch=[100,5]]

CPU time (``time.process_time``), not wall time: on a shared machine the wall clock measures the
neighbours. A number is the median of ``--steps`` steps after one warm-up step. Results:
benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

import numpy as np

from tinygan.models import progan
from tinygan.trainers.dcgan import DEFAULTS as DCGAN_DEFAULTS
from tinygan.trainers.dcgan_loop import DCGANJob
from tinygan.trainers.progan import DEFAULTS, ProGANJob


def _median_cpu(step, n: int, cycle: int = 1) -> float:
    """Median over n samples of the CPU seconds per step of ``cycle`` consecutive steps (one
    period of --reg-every, so that lazy regularisation is counted at its average)."""
    step()
    seconds = []
    for _ in range(n):
        start = time.process_time()
        for _ in range(cycle):
            step()
        seconds.append((time.process_time() - start) / cycle)
    return float(np.median(seconds))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, nargs=3, default=list(DEFAULTS["channels"]))
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--set", metavar="KEY=JSON", nargs="*", default=[], help="other config values")
    a = p.parse_args()
    args = SimpleNamespace(device="cpu", data_dir=None, epochs=None)
    job = ProGANJob({**DEFAULTS, "channels": tuple(a.channels),
                     **{k: json.loads(v) for k, v in (item.split("=", 1) for item in a.set)}}, args)
    cycle, starts = job.config["reg_every"], np.cumsum((0,) + job.lengths)
    per_phase = []
    for phase in range(progan.PHASES):
        middle = int(starts[phase] + job.lengths[phase] // 2) // cycle * cycle
        per_phase.append(_median_cpu(lambda: (job.step(), setattr(job, "done", middle + (job.done - middle) % cycle)),
                                     a.steps, cycle))
    dcgan = DCGANJob(dict(DCGAN_DEFAULTS), args)
    dc = _median_cpu(dcgan.step, a.steps)
    names = ["7x7", "14x14 fade-in", "14x14", "28x28 fade-in", "28x28"]
    for name, s in zip(names, per_phase):
        print(f"progan {name:>14}: {s:.3f} s CPU / step")
    mean = float(np.mean(per_phase))
    run = float(np.dot(job.lengths, per_phase))
    print(f"progan mean over the phases: {mean:.3f} s; dcgan: {dc:.3f} s; ratio {mean / dc:.2f}")
    print(f"a whole run, by these: progan {run:.0f} s CPU ({sum(job.lengths)} steps), default dcgan "
          f"{dcgan.total_steps * dc:.0f} s CPU ({dcgan.total_steps} steps); ratio {run / (dcgan.total_steps * dc):.2f}")


if __name__ == "__main__":
    main()
