"""What a model gives the shared training loop (:mod:`tinygan.trainers.loop`): a :class:`Job`.

A model module needs three things (see :mod:`tinygan.trainers.dcgan_loop` for a complete one)::

    class MyJob(Job):
        model = "mine"                                # meta["model"], runs/mine-<time>
        DEFAULTS = {"batch_size": 64, "lr": 2e-4, "seed": 0}   # every config key; flags override
        RULES = {"batch_size": POSITIVE_INT, ...}     # what a checkpoint's config must satisfy
        MUTABLE_ON_RESUME = ("lr",)                   # flags a --resume may change (recorded)

        @staticmethod
        def add_flags(parser): ...                    # its own flags, each default=None
        def __init__(self, config, args, checkpoint): # data, modules, optimizers, streams
            self.modules, self.optimizers = {"G": G, "D": D}, {"G's Adam": g, "D's Adam": d}
            self.batch_size, self.steps_per_epoch, self.total_steps = ...
        def states(self) -> dict: ...                 # what else a checkpoint holds
        def load_states(self, states: dict): ...
        def step(self) -> dict: ...                   # one step -> {"d_loss": .., "g_loss": ..}
        def epoch_end(self, run_dir, epoch) -> str    # per-epoch grid; a note for the log
        def finish(self, run_dir, metrics) -> dict    # final pictures and numbers -> summary.json

    def main(argv=None):
        return loop.main(MyJob, argv)

plus its line in :data:`tinygan.train.MODELS` and a ``load_sampler(path)`` for
``python -m tinygan.eval`` / ``python -m tinygan.sample``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import backends
from ..optim.ema import SUFFIX as EMA_SUFFIX
from .common import MetricsLog, UsageError


class Job:
    """One training run's moving parts (subclass per model; see the module docstring)."""

    model = ""
    DEFAULTS: dict = {}
    RULES: dict = {}
    MUTABLE_ON_RESUME: tuple = ("lr",)
    LOSS_KEYS = {"d_loss": "D loss", "g_loss": "G loss"}   # step values checked finite: their names
    EMA_OF: tuple = ()          # modules ``--ema DECAY`` averages (config key "ema"; 0 = off)
    ABSENT: dict = {"ema": 0.0}  # what a key missing from an older checkpoint's config meant
    emas: tuple = ()            # the EMAs of EMA_OF under --ema (set by the loop)

    modules: dict
    optimizers: dict
    batch_size: int
    steps_per_epoch: int
    total_steps: int

    @staticmethod
    def add_flags(parser: argparse.ArgumentParser) -> None:
        """Add the model's own flags (each ``default=None``: a flag not given keeps the config's)."""

    @classmethod
    def given(cls, args) -> dict:
        """The config values the command line sets: every flag of a DEFAULTS key that was given.
        Override to add presets; raise UsageError for values the flag types cannot check alone.
        Adam's ``--betas`` (every GAN trainer's) becomes a tuple, each in [0, 1)."""
        given = {k: getattr(args, k) for k in cls.DEFAULTS if getattr(args, k, None) is not None}
        if "betas" in given:
            given["betas"] = tuple(given["betas"])
            if not all(0.0 <= b < 1.0 for b in given["betas"]):
                raise UsageError(f"--betas must lie in [0, 1), got {given['betas']}")
        return given

    def record(self) -> dict:
        """Extra entries of ``config.json`` (data, device, lengths...)."""
        return {}

    def provenance(self) -> dict:
        """What ``record`` says of the training digits and where they ran, for jobs whose
        ``self.data`` is the digits' description (data.load_digits / mnist_split: n, source,
        data_dir, sha256): a resumed run checks the digest."""
        return {"n_train": self.data["n"], "data": self.data["source"], "data_dir": self.data["data_dir"],
                "data_sha256": self.data["sha256"], "device": self.device,
                "backend": backends.current(self.device)}

    def describe(self, steps: int) -> str:
        """Printed at the start: what is trained, on what, and how long (``steps`` this run will
        take in all, fewer than ``total_steps`` under --max-steps)."""
        length = f"{self.total_steps} steps"
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return f"{self.model}: {length} x {self.batch_size} = {steps * self.batch_size:,} images"

    def drawing(self, name: str = "G"):
        """The network to draw pictures with: the moving average of ``name`` under ``--ema``,
        else ``name`` itself."""
        return self.modules.get(name + EMA_SUFFIX, self.modules[name])

    def states(self) -> dict:
        """Everything a checkpoint holds besides the modules (plain values and arrays)."""
        return {}

    def load_states(self, states: dict) -> None:
        """Restore :meth:`states`; KeyError / TypeError / ValueError mean "does not fit this run"."""

    def meta(self) -> dict:
        """Extra entries of the checkpoint's JSON record (for example the data's digest)."""
        return {}

    def step(self) -> dict:
        """One training step; returns its numbers (floats) for ``metrics.jsonl``."""
        raise NotImplementedError

    def postfix(self, values: dict) -> str:
        """The progress bar's text for a step's values."""
        return " ".join(f"{k.replace('_loss', '')} {v:.3f}" for k, v in values.items()
                        if k in self.LOSS_KEYS)

    def epoch_end(self, run_dir: Path, epoch: int) -> str:
        """Pictures after epoch ``epoch`` (1-based); returns a note for the log ("" for none)."""
        return ""

    def epoch_ends(self) -> tuple:
        """The step counts that end an epoch (pictures and a checkpoint follow each), ascending:
        every ``steps_per_epoch`` steps up to ``total_steps``. ProGAN's phases of unequal
        lengths override it."""
        return tuple(range(self.steps_per_epoch, self.total_steps + 1, self.steps_per_epoch))

    def finish(self, run_dir: Path, metrics: MetricsLog) -> dict:
        """Final pictures and figures; returns entries for ``summary.json``."""
        return {}
