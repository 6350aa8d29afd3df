"""Pieces every GAN trainer shares: named random streams, the run folder and its metrics log,
minimax schemes by name, the non-finite stops (losses, weights, optimizer state) and the
Ctrl-C / SIGTERM guard."""
from __future__ import annotations

import math
import signal
from contextlib import contextmanager

import numpy as np

from ..checkpoint import nonfinite_report
from ..optim import AlternatingGDA, SimultaneousGDA
from ..random import Generator
from .rundir import MetricsLog, new_run_dir, run_folder, write_json  # noqa: F401 (the run folder)

# One independent random stream per purpose, so that (say) drawing a sample grid never shifts
# the data order. Their indices are part of the checkpoint format: append, never reorder.
STREAMS = ("init", "data", "z", "dropout", "samples", "interpolation",
           "labels")              # train cgan: fake labels; train sgan: the labelled digits
STREAMS += ("data_b", "pool")        # CycleGAN: its second domain's data order, its image pools
STREAMS += ("penalty",)              # train progan: WGAN-GP's mixing weights of real and fake
STREAMS += ("augment",)              # train dcgan --diffaugment: translations and cut-out squares
STREAMS += ("codes",)                # train dcgan (InfoGAN): the rest of z in samples/codes.png
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


# ----- failures ----------------------------------------------------------------------------------
class UsageError(ValueError):
    """A setting that cannot work here (no CuPy for --device cuda, a batch larger than the data...)."""


class NonFiniteLoss(RuntimeError):
    """A loss, a weight or an optimizer state became NaN or Inf; the message names the step and
    the last good checkpoint (nothing non-finite is ever saved)."""


def _where(last_checkpoint) -> str:
    return (f"the last good checkpoint is {last_checkpoint} (--resume it with a lower --lr)"
            if last_checkpoint else "no checkpoint was written yet (start again with a lower --lr)")


def check_finite(step: int, losses: dict, last_checkpoint) -> None:
    bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
    if bad:
        values = ", ".join(f"{k} = {v}" for k, v in losses.items())
        raise NonFiniteLoss(f"non-finite loss at step {step} ({values}); training stopped: "
                            f"{_where(last_checkpoint)}")


def check_finite_state(step: int, modules: dict, optimizers: dict, last_checkpoint) -> None:
    """NonFiniteLoss when a parameter or buffer of ``modules`` (name -> Module) or an array in the
    state of ``optimizers`` (name -> Optimizer) holds NaN or Inf after ``step``: an update can
    diverge while the step's losses, computed before it, were finite (an infinite gradient makes
    the weights NaN; a huge one makes Adam's second moment Inf, and the weights then freeze).
    Costs two reductions (min, max) per array."""
    arrays, names = {}, {}
    for mname, module in modules.items():
        for key, value in module.state_dict(keep_vars=True).items():
            arrays[f"{mname}.{key}"] = value.data
            names[id(value)] = f"{mname}.{key}"
    bad = nonfinite_report(arrays)
    if not bad:
        for oname, opt in optimizers.items():
            for p, state in opt.state.items():
                for key, value in state.items():
                    if hasattr(value, "dtype"):
                        arrays = {f"{oname} {key} of {names.get(id(p), 'a parameter')}": value}
                        bad += nonfinite_report(arrays)
    if bad:
        raise NonFiniteLoss(f"non-finite values after step {step} ({'; '.join(bad[:3])}"
                            f"{' ...' if len(bad) > 3 else ''}) although its losses were finite "
                            f"(the update diverged); training stopped: {_where(last_checkpoint)}")


class InterruptGuard:
    """``with InterruptGuard() as guard:`` -- the first Ctrl-C (SIGINT) or SIGTERM (what a job
    scheduler or ``docker stop`` sends) only sets ``guard.requested`` and ``guard.signal`` (the
    loop finishes its step, saves a checkpoint and stops); a second one interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self.signal = None
        self._previous = {}

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested, self.signal = True, signum

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 130 for Ctrl-C, 143 for SIGTERM (the shells' convention)."""
        return 128 + int(self.signal or signal.SIGINT)

    @property
    def signal_name(self) -> str:
        return "SIGTERM" if self.signal == signal.SIGTERM else "Ctrl-C"

    def __enter__(self):
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except ValueError:       # not the main thread: no handler, signals behave as usual
                pass
        return self

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}
        return False


@contextmanager
def frozen(module):
    """``module``'s parameters stop requiring grad inside: the generator's step then builds no
    weight-gradient work for the discriminator it is scored by."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
