"""A trainer's run folder: choosing it, claiming it without destroying another run, and writing
its files atomically and as strict JSON.

Rules (what keeps an earlier run's files intact):

* A fresh run refuses a folder that already holds a run (any of :data:`RUN_FILES`): nothing is
  truncated or overwritten; the message says how to resume that run instead.
* A resumed run writes into its own run folder, or into a ``--out`` that holds no run. Resuming
  from a checkpoint older than the newest one of the same folder is refused there (its steps
  would interleave with the later checkpoints' future, and pruning by step would keep the wrong
  ones): resume the newest, or give ``--out`` a new folder.
* ``metrics.jsonl``, ``config.json`` and ``summary.json`` are replaced atomically (temporary file
  plus ``os.replace``); JSON is strict (NaN / Inf are written as ``null``).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

from ..checkpoint import CheckpointError, atomic_write, list_checkpoints
from ..cli import CLIError, output_dir

# What a run writes at its top level; a folder holding any of them holds a run.
RUN_FILES = ("config.json", "metrics.jsonl", "summary.json", "checkpoints", "samples", "frames",
             "losses.png", "interpolation.png", "training.gif", "eval.json", "eval.md")


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


def run_contents(folder) -> list[str]:
    """The run files present in ``folder`` (empty for a missing or run-free folder)."""
    folder = Path(folder)
    return [name for name in RUN_FILES if (folder / name).exists()] if folder.is_dir() else []


def claim_run_dir(out, flag: str, prog: str, checkpoint=None, explicit: bool = True) -> Path:
    """The run folder to write, created and writable, or CLIError (nothing written then).

    ``checkpoint``: the run being resumed (None for a fresh run). ``explicit``: ``out`` came
    from ``flag`` (a default name is never an existing run)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"{flag} {out} is a file, not a folder")
    previous = run_folder(checkpoint) if checkpoint is not None else None
    same = previous is not None and out.exists() and out.resolve() == previous.resolve()
    found = run_contents(out)
    if found and not same:
        what = "another run" if checkpoint is not None else "a run"
        raise CLIError(f"{flag} {out} already holds {what} ({', '.join(found)}); nothing was "
                       f"written. Continue it with `{prog} --resume {out}`, or choose a new "
                       f"{flag} folder")
    if same:
        newer = [p for p in list_checkpoints(Path(checkpoint.path).parent)
                 if int(p.stem[5:]) > checkpoint.step]
        if newer:
            raise CLIError(f"--resume {checkpoint.path}: step {checkpoint.step} is not the newest "
                           f"checkpoint of {previous} ({newer[-1].name} is); resuming it there would "
                           f"mix two runs. Resume the newest, or give {flag} a new folder")
    return output_dir(out, flag)


# ----- files ---------------------------------------------------------------------------------
def strict(obj):
    """``obj`` with every NaN / Inf float replaced by None: valid JSON for any reader."""
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, obj) -> Path:
    """Strict JSON (NaN / Inf -> null), replaced atomically."""
    path = Path(path)
    text = json.dumps(strict(obj), indent=2, default=str, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))
    return path


class MetricsLog:
    """``metrics.jsonl``: one JSON object per training step. Opening it for a run resumed at step
    ``resume_step`` keeps only the lines with ``step <= resume_step`` (later ones belong to a
    future the checkpoint does not have), copying them from ``source`` when the run moved; that
    rewrite is atomic (the old file stays whole until the new one replaces it)."""

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
        text = "".join(json.dumps(strict(r)) + "\n" for r in self.records)
        atomic_write(self.path, lambda f: f.write(text.encode()))
        self._file = open(self.path, "a")

    def append(self, record: dict) -> None:
        self.records.append(record)
        self._file.write(json.dumps(strict(record), allow_nan=False) + "\n")
        self._file.flush()

    def series(self, key: str) -> list:
        return [r[key] for r in self.records if key in r]

    def close(self) -> None:
        self._file.close()


# ----- training data --------------------------------------------------------------------------
def data_digest(images) -> str:
    """SHA-256 of the training images' bytes (uint8, C order): which digits a run trained on."""
    import numpy as np
    images = np.ascontiguousarray(images)
    h = hashlib.sha256(f"{images.dtype.str}{images.shape}".encode())
    h.update(memoryview(images).cast("B"))
    return h.hexdigest()


def check_same_data(saved: dict | None, digest: str, n: int, source: str, checkpoint) -> None:
    """CLIError when a resumed run's training images differ from the checkpoint's (``saved``:
    its ``{"sha256", "n", "source"}``; checkpoints written before digests were kept pass)."""
    if not saved or "sha256" not in saved or saved["sha256"] == digest:
        return
    raise CLIError(f"--resume {checkpoint.path}: the training data differ from the checkpoint's: "
                   f"it trained on {saved.get('n')} images from {saved.get('source')} (SHA-256 "
                   f"{str(saved['sha256'])[:12]}...), this run has {n} from {source} "
                   f"({digest[:12]}...); pass --data-dir with the files it trained on")


# ----- a resumed run's saved settings ----------------------------------------------------------------
def number_rule(low, high=None, kind=(int, float), low_open=False, high_open=False):
    def ok(v):
        return (isinstance(v, kind) and not isinstance(v, bool) and math.isfinite(v)
                and (v > low if low_open else v >= low)
                and (high is None or (v < high if high_open else v <= high)))
    return ok


POSITIVE_INT = number_rule(1, kind=int)
POSITIVE = number_rule(0, low_open=True)
UNIT_OPEN = number_rule(0, 1, high_open=True)          # [0, 1): betas, dropout


def optional(rule):
    """``rule`` for a setting that older records may lack (check_config then skips it)."""
    def check(value):
        return rule(value)
    check.optional = True
    return check


def check_config(config, rules: dict, checkpoint) -> None:
    """CheckpointError naming the first setting of a checkpoint's ``config`` that breaks its rule
    (``rules``: key -> predicate; a missing key breaks it too). Guards the resumed run against a
    record edited by hand (format-1 records carry no digest)."""
    if not isinstance(config, dict):
        raise CheckpointError(f"checkpoint {checkpoint.path} has no config")
    for key, rule in rules.items():
        if key not in config and getattr(rule, "optional", False):
            continue
        if key not in config or not rule(config[key]):
            raise CheckpointError(f"checkpoint {checkpoint.path}: its config has an invalid "
                                  f"{key!r} ({config.get(key, 'missing')!r})")
