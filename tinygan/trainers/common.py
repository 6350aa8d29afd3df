"""Pieces every GAN trainer shares: named random streams, the run folder and its metrics log,
minimax schemes by name, the non-finite-loss stop and the Ctrl-C guard."""
from __future__ import annotations

import json
import math
import signal
import time
from pathlib import Path

import numpy as np

from ..optim import AlternatingGDA, SimultaneousGDA
from ..random import Generator

# One independent random stream per purpose, so that (say) drawing a sample grid never shifts
# the data order. Their indices are part of the checkpoint format: append, never reorder.
STREAMS = ("init", "data", "z", "dropout", "samples", "interpolation")
SCHEME_CHOICES = "alternating | simultaneous | ndis=N (N >= 1 discriminator steps per generator step)"


def stream(seed: int, purpose: str) -> Generator:
    """The Generator for ``purpose`` under run seed ``seed`` (a SeedSequence child: independent)."""
    child = np.random.SeedSequence([int(seed) % 2**63, STREAMS.index(purpose)])
    return Generator(int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)))


# ----- minimax schemes ---------------------------------------------------------------------------
def parse_scheme(text: str) -> str:
    """Validate ``--scheme``: "alternating", "simultaneous" or "ndis=N"; returns it normalised."""
    text = str(text).strip().lower().replace("_", "")
    if text in ("alternating", "simultaneous"):
        return text
    if text.startswith("ndis="):
        try:
            n = int(text[5:])
        except ValueError:
            n = 0
        if n >= 1:
            return f"ndis={n}"
    raise ValueError(f"invalid scheme {text!r}; choose from {SCHEME_CHOICES}")


def build_scheme(name: str, g_optimizer, d_optimizer):
    """The minimax optimiser: G is the min player, D the max player (each minimises its own loss)."""
    name = parse_scheme(name)
    if name == "simultaneous":
        return SimultaneousGDA(g_optimizer, d_optimizer)
    n_dis = 1 if name == "alternating" else int(name[5:])
    return AlternatingGDA(g_optimizer, d_optimizer, n_dis=n_dis)


# ----- run folder and metrics ----------------------------------------------------------------------
def new_run_dir(model: str, root="runs") -> Path:
    """``runs/<model>-<YYYYmmdd-HHMMSS>`` (a numbered suffix if it exists already)."""
    base = Path(root) / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = base, 1
    while path.exists():
        path, k = Path(f"{base}-{k}"), k + 1
    return path


def run_folder(checkpoint) -> Path:
    """The run folder a checkpoint belongs to (``<run>/checkpoints/step_*.json`` -> ``<run>``)."""
    folder = Path(checkpoint.path).parent
    return folder.parent if folder.name == "checkpoints" else folder


class MetricsLog:
    """``metrics.jsonl``: one JSON object per training step. Opening it for a run resumed at step
    ``resume_step`` keeps only the lines with ``step <= resume_step`` (later ones belong to a
    future the checkpoint does not have), copying them from ``source`` when the run moved."""

    def __init__(self, path, resume_step: int = 0, source=None):
        self.path = Path(path)
        source = Path(source) if source is not None else self.path
        self.records = []
        if resume_step and source.is_file():
            for line in source.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    if record.get("step", 0) <= resume_step:
                        self.records.append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in self.records)
        self._file = open(self.path, "a")

    def append(self, record: dict) -> None:
        self.records.append(record)
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def series(self, key: str) -> list:
        return [r[key] for r in self.records if key in r]

    def close(self) -> None:
        self._file.close()


def write_json(path, obj) -> Path:
    path = Path(path)
    path.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    return path


# ----- failures ----------------------------------------------------------------------------------
class UsageError(ValueError):
    """A setting that cannot work here (no CuPy for --device cuda, a batch larger than the data...)."""


class NonFiniteLoss(RuntimeError):
    """A loss became NaN or Inf; the message names the step and the last good checkpoint."""


def check_finite(step: int, losses: dict, last_checkpoint) -> None:
    bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
    if bad:
        where = (f"the last good checkpoint is {last_checkpoint} (--resume it with a lower --lr)"
                 if last_checkpoint else "no checkpoint was written yet")
        values = ", ".join(f"{k} = {v}" for k, v in losses.items())
        raise NonFiniteLoss(f"non-finite loss at step {step} ({values}); training stopped: {where}")


class InterruptGuard:
    """``with InterruptGuard() as guard:`` -- the first Ctrl-C only sets ``guard.requested`` (the
    loop finishes its step, saves a checkpoint and stops); a second one interrupts at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:           # not the main thread: no handler, Ctrl-C behaves as usual
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
