"""What a resumed run keeps, and reading a Job's checkpoints (the shared loop's, :mod:`.loop`).

* :func:`resolve_config`: a new run's config is the Job's ``DEFAULTS`` < the flags given; a resumed
  run's is its checkpoint's, where a flag may change only ``MUTABLE_ON_RESUME`` (each change kept
  in ``<key>_history``) and any other difference is a one-line error naming the flags; a key an
  older checkpoint lacks means what the Job's ``ABSENT`` says.
* :func:`open_checkpoint` (``--resume``) and :func:`load_checkpoint_modules` (``sample`` / ``eval``):
  a checkpoint of ``train MODEL`` whose config satisfies the Job's ``RULES``.
"""
from __future__ import annotations

from ..checkpoint import Checkpoint, CheckpointError
from ..cli import CLIError
from ..optim.ema import SUFFIX as EMA_SUFFIX
from .averaging import averaged_name
from .common import UsageError
from .rundir import check_config


def _same(a, b) -> bool:
    norm = lambda v: list(v) if isinstance(v, (tuple, list)) else v  # noqa: E731
    return norm(a) == norm(b)


def resolve_config(job_class, args, saved: dict | None = None, step: int = 0) -> dict:
    """Defaults < flags for a new run. On resume the checkpoint's config, where a flag may change
    only ``MUTABLE_ON_RESUME`` (each change appended to the config's ``<key>_history``); any other
    difference is a UsageError naming the flags."""
    defaults = job_class.DEFAULTS
    given = job_class.given(args)
    if saved is None:
        return {**defaults, **given}
    saved = {**{k: v for k, v in job_class.ABSENT.items() if k in defaults}, **saved}
    changed = [f"--{k.replace('_', '-')} {given[k]} (checkpoint: {saved.get(k, defaults[k])})"
               for k in given if k not in job_class.MUTABLE_ON_RESUME
               and not _same(given[k], saved.get(k, defaults[k]))]
    if changed:
        raise UsageError("a resumed run keeps its checkpoint's settings; these differ: " + ", ".join(changed))
    config = {k: saved.get(k, v) for k, v in defaults.items()}
    for k in job_class.MUTABLE_ON_RESUME:
        history = list(saved.get(f"{k}_history", []))
        if k in given and not _same(given[k], config[k]):
            history.append({"step": int(step), "from": config[k], "to": given[k]})
            config[k] = given[k]
        config[f"{k}_history"] = history
    return config


def _checked(checkpoint: Checkpoint, model: str, rules: dict, error, absent=None) -> Checkpoint:
    if checkpoint.meta.get("model") != model or not isinstance(checkpoint.meta.get("config"), dict):
        raise error(f"{checkpoint.path} is not a checkpoint of `train {model}`")
    check_config({**(absent or {}), **checkpoint.meta["config"]}, rules, checkpoint)
    ema = checkpoint.meta["config"].get("ema", 0.0)      # absent: a run from before --ema
    if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0.0 <= ema < 1.0:
        raise error(f"checkpoint {checkpoint.path}: its config has an invalid 'ema' ({ema!r})")
    return checkpoint


def open_checkpoint(path, model: str, rules: dict, absent=None) -> Checkpoint:
    """The checkpoint at ``path`` (file, checkpoints folder or run folder) for ``--resume``,
    checked to be one of ``train {model}`` with a config that satisfies ``rules`` (a key it
    lacks, from a run older than the key, taken from ``absent``)."""
    try:
        return _checked(Checkpoint(path), model, rules, CLIError, absent)
    except CLIError as exc:
        raise CLIError(f"--resume {exc}") from None


def load_checkpoint_modules(path, model: str, rules: dict, build, names=None, averaged: bool = True) -> tuple:
    """(modules, checkpoint) for ``eval`` / ``sample``: ``build(config) -> {name: Module}`` on the
    CPU, each filled from the checkpoint (which must be one of ``train {model}``); ``names``
    limits what is read (for example ``["G"]``). ``averaged``: a module with a moving average in
    the checkpoint (``--ema``) gets the average's weights."""
    wanted = None if names is None else [*names, *(n + EMA_SUFFIX for n in names)]
    checkpoint = _checked(Checkpoint(path, modules=wanted), model, rules, CheckpointError)
    try:
        modules = build(checkpoint.meta["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {checkpoint.path}: cannot rebuild its networks from its "
                              f"config ({type(exc).__name__}: {exc})") from None
    for name, module in modules.items():
        checkpoint.load_module(averaged_name(checkpoint.meta, name) if averaged else name, module)
    return modules, checkpoint
