"""``--ema DECAY`` on the shared loop: the moving averages of a job's generators
(:class:`tinygan.optim.ema.EMA`), how a checkpoint names them, and the flag's type.

A job lists the modules to average in ``Job.EMA_OF`` (``("G",)``) and has the config key ``ema``
(0 = off). The loop calls :func:`attach_ema` before a checkpoint is loaded, so the shadow copies
are saved and restored with the other modules (as ``G_ema``: a resumed run continues the average
bit for bit), and updates them after every step. ``tinygan.sample`` / ``tinygan.eval`` load the
average in place of ``G`` when a checkpoint has one (:func:`averaged_name`).
"""
from __future__ import annotations

import argparse

from ..optim.ema import EMA, SUFFIX
from .common import UsageError


def attach_ema(job, config: dict) -> None:
    """Under ``config["ema"] > 0``: one :class:`EMA` per module in ``job.EMA_OF``, its shadow
    registered as ``job.modules[name + "_ema"]`` (so checkpoints hold it and resume restores it).
    Call it before the checkpoint's modules are loaded; a second call does nothing."""
    decay = config.get("ema") or 0.0
    if decay and not job.emas:
        names = [name for name in job.EMA_OF if name in job.modules]
        if not names:                                  # sgan --baseline: a classifier alone
            raise UsageError(f"--ema {decay}: this run has no {' or '.join(job.EMA_OF)} to average")
        job.emas = [EMA(job.modules[name], decay) for name in names]
        for name, ema in zip(names, job.emas):
            job.modules[name + SUFFIX] = ema.module


def averaged_name(meta: dict, name: str) -> str:
    """``name + "_ema"`` when the checkpoint (its JSON record ``meta``) holds a moving average of
    module ``name`` (``--ema``), else ``name``."""
    return name + SUFFIX if name + SUFFIX in meta.get("modules", ()) else name


def decay(text):
    """argparse type of ``--ema``: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}")
    return value
