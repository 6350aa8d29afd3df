"""Running tinygan's command-line programs as a user does: ``python -m ...`` in a subprocess."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tinygan.checkpoint import _canonical

ROOT = Path(__file__).resolve().parents[1]


def env(tmp: Path, **extra) -> dict:
    """The environment of a run: this worktree's tinygan, an empty MNIST cache (the shipped
    subset), no inherited TINYGAN_BACKEND, one thread."""
    out = {k: v for k, v in os.environ.items() if k != "TINYGAN_BACKEND"}
    out.update(PYTHONPATH=str(ROOT), TINYGAN_DATA=str(tmp / "empty-cache"), OMP_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    out.update({k: str(v) for k, v in extra.items()})
    return out


def cli(tmp: Path, *argv, timeout: float = 180, **extra) -> subprocess.CompletedProcess:
    """``python -m <argv>`` run in ``tmp`` (so a default ``runs/`` lands there)."""
    return subprocess.run([sys.executable, "-m", *map(str, argv)], cwd=tmp, env=env(tmp, **extra),
                          capture_output=True, text=True, timeout=timeout)


def popen(tmp: Path, *argv, **extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *map(str, argv)], cwd=tmp, env=env(tmp, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot(folder: Path) -> dict:
    """Every file under ``folder``: relative path -> bytes (compare before / after)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line_error(result, *fragments, prog=None) -> str:
    """Assert a failure without a traceback whose last stderr line holds every fragment; returns it."""
    err = result.stderr.strip()
    assert result.returncode != 0, (result.stdout, err)
    assert "Traceback" not in err, err
    line = err.splitlines()[-1] if err else ""
    for fragment in fragments:
        assert fragment in line, (fragment, err)
    if prog is not None:                      # not argparse's usage + error: one line only
        assert err.splitlines() == [line] and line.startswith(prog + ":"), err
    return line


def rewrite_record(record: Path, change) -> None:
    """Change a checkpoint record (``change(meta)`` edits the parsed JSON) and give it a matching
    digest, as a hand edit of a format-1 record, which has none, would be accepted."""
    meta = json.loads(Path(record).read_text())
    change(meta)
    meta["record_sha256"] = hashlib.sha256(_canonical(meta)).hexdigest()
    Path(record).write_text(json.dumps(meta))
