"""Checkpoints without pickle: one ``.npz`` of arrays plus one JSON file of everything else.

A checkpoint ``<dir>/step_0001234`` is two files::

    step_0001234.npz    arrays: "<module>/<state_dict key>" (parameters and buffers) and
                        "state/..." (arrays inside optimizer / scheme states)
    step_0001234.json   {"format", "step", ..., "versions", "shapes": {array key: shape},
                         "states": the optimizer / scheme / RNG states with every array replaced
                         by {"__ndarray__": key}, "npz_sha256": digest of the .npz}

Both are written to temporary files in the same folder and ``os.replace``d into place, the
``.npz`` first: the JSON is the commit record, so a checkpoint whose JSON exists is complete, and
its SHA-256 catches a ``.npz`` damaged later. Loading uses ``allow_pickle=False``; every failure is
a :class:`CheckpointError` naming the file, and restoring a module checks every parameter's name
and shape first (the error names the parameter and both shapes) and copies nothing on a mismatch.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "tinygan-checkpoint-1"
_ARRAY = "__ndarray__"
_NAME = re.compile(r"^step_(\d+)\.json$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or does not fit the model it is loaded into."""


# ----- nested states <-> JSON + arrays --------------------------------------------------------------
def flatten_state(tree, prefix: str = "state"):
    """(JSON-safe tree, {key: ndarray}): arrays (anything with shape and dtype) become
    ``{"__ndarray__": key}``; tuples become lists, dict keys strings, numpy scalars Python numbers."""
    arrays = {}

    def walk(node, path):
        if hasattr(node, "shape") and hasattr(node, "dtype") and not isinstance(node, np.generic):
            key = "/".join(path)
            arrays[key] = np.array(node.get() if hasattr(node, "get") and not isinstance(node, np.ndarray)
                                   else node, copy=True)
            return {_ARRAY: key}
        if isinstance(node, dict):
            return {str(k): walk(v, path + [str(k)]) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v, path + [str(i)]) for i, v in enumerate(node)]
        if isinstance(node, np.generic):
            return node.item()
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"checkpoint: cannot store {type(node).__name__} at {'/'.join(path)}")

    return walk(tree, [prefix]), arrays


def unflatten_state(tree, arrays):
    """Inverse of :func:`flatten_state` (lists stay lists; optimizers accept that)."""
    if isinstance(tree, dict):
        if set(tree) == {_ARRAY}:
            return arrays[tree[_ARRAY]]
        return {k: unflatten_state(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unflatten_state(v, arrays) for v in tree]
    return tree


# ----- writing ------------------------------------------------------------------------------------
def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _versions() -> dict:
    from . import __version__
    return {"tinygan": __version__, "numpy": np.__version__, "python": platform.python_version()}


def save_checkpoint(directory, step: int, modules: dict, states: dict | None = None,
                    meta: dict | None = None) -> Path:
    """Write ``<directory>/step_<step>.{npz,json}`` atomically; returns the JSON's path.

    ``modules``: name -> Module (its state_dict: parameters and buffers); ``states``: name ->
    nested dict of plain values and arrays (optimizer.state_dict(), RNG states...); ``meta``:
    JSON-safe extras (config, epoch...)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"step_{int(step):07d}"
    arrays = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            arrays[f"{name}/{key}"] = value
    json_states, state_arrays = flatten_state(states or {}, "state")
    arrays.update(state_arrays)
    npz_path, json_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    _atomic_write(npz_path, lambda f: np.savez(f, **arrays))
    record = {"format": FORMAT, "step": int(step), **(meta or {}), "modules": sorted(modules),
              "versions": _versions(),
              "shapes": {k: list(v.shape) for k, v in arrays.items()},
              "states": json_states,
              "npz": npz_path.name,
              "npz_sha256": hashlib.sha256(npz_path.read_bytes()).hexdigest()}
    _atomic_write(json_path, lambda f: f.write(json.dumps(record, indent=1).encode()))
    return json_path


def list_checkpoints(directory) -> list[Path]:
    """The JSON records in ``directory``, oldest (lowest step) first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def prune_checkpoints(directory, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints (JSON first, then its .npz); returns the
    JSON paths deleted."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    old = list_checkpoints(directory)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
        path.with_suffix(".npz").unlink(missing_ok=True)
    return old


def resolve(path) -> Path:
    """A checkpoint's JSON path from the JSON, its .npz, its stem, its folder, or a run folder
    (``<run>/checkpoints``): the newest one in a folder."""
    path = Path(path)
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        found = list_checkpoints(folder)
        if not found:
            raise CheckpointError(f"no checkpoint (step_*.json) in {folder}")
        return found[-1]
    json_path = path.with_suffix(".json") if path.suffix in (".npz", "") else path
    if not json_path.is_file():
        raise CheckpointError(f"checkpoint {path}: {json_path} does not exist")
    return json_path


# ----- reading ------------------------------------------------------------------------------------
class Checkpoint:
    """A loaded checkpoint: ``meta`` (the JSON record) and the arrays, read on demand.

    ``load_module(name, module)`` restores one module; ``state(name)`` rebuilds one saved state
    (optimizer, RNG...). ``Checkpoint(path, modules=["G"])`` reads only G's arrays."""

    def __init__(self, path, modules=None):
        self.path = resolve(path)
        try:
            self.meta = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"checkpoint {self.path} is corrupt (unreadable JSON: {exc})") from exc
        if not isinstance(self.meta, dict) or self.meta.get("format") != FORMAT:
            raise CheckpointError(f"{self.path} is not a tinygan checkpoint (format "
                                  f"{self.meta.get('format') if isinstance(self.meta, dict) else None!r}, "
                                  f"expected {FORMAT!r})")
        self.npz_path = self.path.with_name(self.meta["npz"])
        try:
            blob = self.npz_path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"checkpoint {self.path}: cannot read {self.npz_path}: {exc}") from exc
        if hashlib.sha256(blob).hexdigest() != self.meta["npz_sha256"]:
            raise CheckpointError(f"checkpoint {self.npz_path} is corrupt: its SHA-256 differs from "
                                  f"the one recorded in {self.path.name} (truncated or modified "
                                  "after it was written)")
        wanted = None if modules is None else tuple(f"{m}/" for m in modules)
        self.arrays = {}
        try:
            with np.load(self.npz_path, allow_pickle=False) as npz:
                for key in npz.files:
                    if wanted is None or key.startswith(wanted):
                        self.arrays[key] = npz[key]
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise CheckpointError(f"checkpoint {self.npz_path} is corrupt: {exc}") from exc

    @property
    def step(self) -> int:
        return int(self.meta["step"])

    def module_state(self, name: str) -> dict:
        prefix = f"{name}/"
        state = {k[len(prefix):]: v for k, v in self.arrays.items() if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f"checkpoint {self.path} has no module {name!r} "
                                  f"(it has {', '.join(self.meta.get('modules', []))})")
        return state

    def load_module(self, name: str, module) -> None:
        """Copy the saved ``name`` module into ``module`` after checking every name and shape."""
        saved, own = self.module_state(name), module.state_dict(keep_vars=True)
        params = {key for key, _ in module.named_parameters()}
        problems = []
        for key, tensor in own.items():
            what = f"{'parameter' if key in params else 'buffer'} {name}.{key}"
            if key not in saved:
                problems.append(f"{what} (shape {tuple(tensor.shape)}) is missing from the checkpoint")
            elif tuple(saved[key].shape) != tuple(tensor.shape):
                problems.append(f"{what} has shape {tuple(saved[key].shape)} in the checkpoint "
                                f"but {tuple(tensor.shape)} in the model")
        problems += [f"the checkpoint has {name}.{k}, which the model does not"
                     for k in saved if k not in own]
        if problems:
            arch = self.meta.get("config", {}).get("arch")
            raise CheckpointError(f"checkpoint {self.path} does not fit this {type(module).__name__}"
                                  + (f" (it was saved from arch {arch!r})" if arch else "") + ":\n  "
                                  + "\n  ".join(problems[:8])
                                  + (f"\n  ... and {len(problems) - 8} more" if len(problems) > 8 else ""))
        module.load_state_dict(saved)

    def state(self, name: str):
        """The saved state ``name`` (as passed to ``save_checkpoint(states=...)``)."""
        if name not in self.meta["states"]:
            raise CheckpointError(f"checkpoint {self.path} has no state {name!r}")
        return unflatten_state(self.meta["states"][name], self.arrays)
