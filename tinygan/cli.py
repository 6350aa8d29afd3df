"""What every command-line program shares: checked flag types, output paths checked before any
work, the TINYGAN_BACKEND check, and one-line errors.

A bad flag is an argparse error (exit 2, the usage line and one message naming the flag); a bad
file, folder or environment found after parsing is :class:`CLIError`, which each program's
``main`` prints as one line ``<prog>: <message>`` and turns into exit status 1. Output paths are
checked (created, writable) before anything is computed, so a typo in ``--out`` costs nothing.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from . import backends


class CLIError(Exception):
    """A problem with a file, a folder or the environment, reported as one line (exit 1)."""


def fail(prog: str, error, code: int = 1) -> int:
    """Print ``<prog>: <error>`` (its first line carries the message) and return ``code``."""
    print(f"{prog}: {error}", file=sys.stderr)
    return code


# ----- flag types ---------------------------------------------------------------------------------
def _number(kind, low=None, high=None, low_open=False, high_open=False, what=None):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        ok = ((low is None or (value > low if low_open else value >= low))
              and (high is None or (value < high if high_open else value <= high)))
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    return parse


positive_int = _number(int, 0, low_open=True, what="> 0")
nonnegative_int = _number(int, 0, what=">= 0")
positive_float = _number(float, 0.0, low_open=True, what="> 0")
finite_float = _number(float, what="finite")
probability = _number(float, 0.0, 1.0, high_open=True, what="in [0, 1)")     # betas, dropout


# ----- environment -------------------------------------------------------------------------------
def check_backend_env() -> None:
    """CLIError when ``TINYGAN_BACKEND`` names no backend, or one that cannot load here."""
    try:
        backends.check_env()
    except (ValueError, RuntimeError) as exc:
        raise CLIError(str(exc)) from None


# ----- output paths -------------------------------------------------------------------------------
def _probe(folder: Path, flag: str, shown) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CLIError(f"{flag} {shown}: cannot write in {folder} ({exc.strerror or exc})") from None


def output_dir(path, flag: str = "--out") -> Path:
    """Make sure the folder ``path`` exists (created with its parents) and can be written in."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CLIError(f"{flag} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{flag} {path}: cannot create the folder ({exc.strerror or exc})") from None
    _probe(path, flag, path)
    return path


def output_file(path, flag: str = "--out") -> Path:
    """Make sure the file ``path`` can be written: not a folder, its folder creatable and writable."""
    path = Path(path)
    if path.is_dir():
        raise CLIError(f"{flag} {path} is a folder; give a file name (e.g. {path / 'grid.png'})")
    parent = path.parent
    for above in (parent, *parent.parents):
        if above.exists():
            if not above.is_dir():
                raise CLIError(f"{flag} {path}: {above} is a file, not a folder")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{flag} {path}: cannot create {parent} ({exc.strerror or exc})") from None
    _probe(parent, flag, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise CLIError(f"{flag} {path}: the file exists and is not writable")
    return path
