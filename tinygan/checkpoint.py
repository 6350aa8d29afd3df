"""Checkpoints without pickle: one ``.npz`` of arrays plus one JSON file of everything else.

A checkpoint ``<dir>/step_0001234`` is two files::

    step_0001234.npz    arrays: "<module>/<state_dict key>" (parameters and buffers) and
                        "state/..." (arrays inside optimizer / scheme states)
    step_0001234.json   {"format", "step", ..., "versions", "shapes": {array key: shape},
                         "states": the optimizer / scheme / RNG states with every array replaced
                         by {"__ndarray__": key}, "npz": "step_0001234.npz", "npz_sha256": digest
                         of the .npz, "record_sha256": digest of this record (canonical JSON,
                         sorted keys, without this field)}

Both are written to temporary files in the same folder and ``os.replace``d into place, the
``.npz`` first: the JSON is the commit record, so a checkpoint whose JSON exists is complete, and
its SHA-256 catches a ``.npz`` damaged later; ``record_sha256`` catches a damaged record (format 2;
format-1 records, which lack it, are still read). Every key and type of the record is checked on
loading, the ``.npz`` name must be a plain file name beside the record, and arrays are loaded with
``allow_pickle=False``; every failure is a :class:`CheckpointError` naming the file. Restoring a
module checks every parameter's name and shape first (the error names the parameter and both
shapes), refuses NaN / Inf values, and copies nothing on a mismatch. Saving refuses non-finite
arrays too (a diverged run has no "last good" checkpoint to offer), files get the usual
permissions (0666 less the umask), and :func:`prune_checkpoints` also removes what a killed save
leaves behind (temporary files, an ``.npz`` whose record was never written).
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

from ._version import __version__
from .devices import device_of, xp_of

FORMAT = "tinygan-checkpoint-2"
READABLE_FORMATS = ("tinygan-checkpoint-1", FORMAT)     # format 1: no record_sha256
_ARRAY = "__ndarray__"
_NAME = re.compile(r"^step_(\d+)\.json$")
_NPZ_NAME = re.compile(r"^step_(\d+)\.npz$")
_TEMP = re.compile(r"^\.step_\d+\.(npz|json)\..*\.tmp$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or does not fit the model it is loaded into."""


def nonfinite_report(arrays: dict) -> list[str]:
    """``["name: 3 NaN, 0 Inf of 12544 values", ...]`` for the float arrays holding NaN or Inf.

    Fast path: one sum per array (float32, or the array's own dtype when wider), added up per
    device and read back once (a NaN or Inf anywhere makes the total non-finite; on the GPU this
    is one synchronisation, not one per array). Only when the total is not finite are the arrays
    examined one by one (min / max first, then counts), so a finite sum that merely overflows
    costs that exact check and reports nothing. (The training loops run this after every step;
    a float64 sum of a float32 array converts every element.)"""
    floats = {name: a for name, a in arrays.items()
              if a is not None and getattr(a, "dtype", None) is not None and a.dtype.kind in "fc"
              and a.size}
    by_device = {}
    with np.errstate(over="ignore", invalid="ignore"):       # an overflow only means: look closer
        for a in floats.values():
            wide = a.dtype if a.dtype.itemsize >= (8 if a.dtype.kind == "c" else 4) else \
                (np.complex64 if a.dtype.kind == "c" else np.float32)
            by_device.setdefault(device_of(a), []).append(a.sum(dtype=wide))
        if all(_isfinite_scalar(xp_of(sums[0]).stack(sums).sum()) for sums in by_device.values()):
            return []
    problems = []
    for name, a in floats.items():
        if bool(_isfinite_scalar(a.min())) and bool(_isfinite_scalar(a.max())):
            continue
        host = np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)
        problems.append(f"{name}: {int(np.isnan(host).sum())} NaN, {int(np.isinf(host).sum())} Inf "
                        f"of {host.size} values")
    return problems


def _isfinite_scalar(x) -> bool:
    return bool(np.isfinite(x.get() if hasattr(x, "get") and not isinstance(x, np.generic) else x))


def _canonical(record: dict) -> bytes:
    """The bytes ``record_sha256`` is taken over: the record without that key, sorted, compact."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


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
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path, write) -> None:
    """Write ``path`` through ``write(binary file)`` into a temporary file beside it, then
    ``os.replace`` it into place: readers see the old file or the new one, never half of one.
    The file gets the permissions of any new file (0666 less the umask), not mkstemp's 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _versions() -> dict:
    return {"tinygan": __version__, "numpy": np.__version__, "python": platform.python_version()}


def save_checkpoint(directory, step: int, modules: dict, states: dict | None = None,
                    meta: dict | None = None, allow_nonfinite: bool = False) -> Path:
    """Write ``<directory>/step_<step>.{npz,json}`` atomically; returns the JSON's path.

    ``modules``: name -> Module (its state_dict: parameters and buffers); ``states``: name ->
    nested dict of plain values and arrays (optimizer.state_dict(), RNG states...); ``meta``:
    JSON-safe extras (config, epoch...). A NaN or Inf in any float array is a CheckpointError
    (nothing is written) unless ``allow_nonfinite``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"step_{int(step):07d}"
    arrays = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            arrays[f"{name}/{key}"] = value.to("cpu").numpy()
    json_states, state_arrays = flatten_state(states or {}, "state")
    arrays.update(state_arrays)
    if not allow_nonfinite:
        bad = nonfinite_report(arrays)
        if bad:
            raise CheckpointError(f"refusing to save step {int(step)} to {directory}: non-finite "
                                  f"values in {'; '.join(bad[:4])}" + (" ..." if len(bad) > 4 else ""))
    npz_path, json_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    atomic_write(npz_path, lambda f: np.savez(f, **arrays))
    record = {"format": FORMAT, "step": int(step), **(meta or {}), "modules": sorted(modules),
              "versions": _versions(),
              "shapes": {k: list(v.shape) for k, v in arrays.items()},
              "states": json_states,
              "npz": npz_path.name,
              "npz_sha256": hashlib.sha256(npz_path.read_bytes()).hexdigest()}
    record["record_sha256"] = hashlib.sha256(_canonical(record)).hexdigest()
    atomic_write(json_path, lambda f: f.write(json.dumps(record, indent=1).encode()))
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
    JSON paths deleted. Also removes what killed saves leave behind: temporary ``.step_*.tmp``
    files and ``step_*.npz`` files whose JSON record does not exist (a save is committed by its
    record, so such an ``.npz`` belongs to no checkpoint). One writer per folder is assumed."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    old = list_checkpoints(directory)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
        path.with_suffix(".npz").unlink(missing_ok=True)
    for path in Path(directory).iterdir() if Path(directory).is_dir() else ():
        if _TEMP.match(path.name) or (_NPZ_NAME.match(path.name)
                                      and not path.with_suffix(".json").exists()):
            path.unlink(missing_ok=True)
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
        _validate_record(self.meta, self.path)
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

    def load_module(self, name: str, module, allow_nonfinite: bool = False) -> None:
        """Copy the saved ``name`` module into ``module`` after checking every name and shape
        and (unless ``allow_nonfinite``) that every value is finite."""
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
        if not problems and not allow_nonfinite:
            bad = nonfinite_report({f"{name}.{k}": v for k, v in saved.items()})
            if bad:
                raise CheckpointError(f"checkpoint {self.path} holds non-finite weights ("
                                      + "; ".join(bad[:3]) + (" ..." if len(bad) > 3 else "")
                                      + "): it was saved from a diverged run; use an earlier checkpoint")
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
        try:
            return unflatten_state(self.meta["states"][name], self.arrays)
        except (KeyError, TypeError) as exc:
            raise CheckpointError(f"checkpoint {self.path} is corrupt: state {name!r} refers to "
                                  f"an array its .npz does not hold ({exc})") from None


    def states(self) -> dict:
        """Every saved state, name -> value (what ``save_checkpoint(states=...)`` was given)."""
        return {name: self.state(name) for name in self.meta["states"]}


def _validate_record(meta, path) -> None:
    """Every key and type a checkpoint record must have; a CheckpointError names the first fault."""
    def bad(what):
        return CheckpointError(f"checkpoint {path} is corrupt: {what}")

    if not isinstance(meta, dict):
        raise bad(f"the record is a JSON {type(meta).__name__}, not an object")
    fmt = meta.get("format")
    if fmt not in READABLE_FORMATS:
        raise CheckpointError(f"{path} is not a tinygan checkpoint (format {fmt!r}, expected "
                              f"{FORMAT!r})")
    if fmt == FORMAT:
        digest = meta.get("record_sha256")
        if not isinstance(digest, str) or hashlib.sha256(_canonical(meta)).hexdigest() != digest:
            raise bad("the record's SHA-256 does not match its contents (modified after it was "
                      "written)")
    types = {"step": int, "npz": str, "npz_sha256": str, "modules": list, "shapes": dict,
             "states": dict}
    for key, kind in types.items():
        value = meta.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise bad(f"{key!r} is {'missing' if key not in meta else type(value).__name__}, "
                      f"expected {kind.__name__}")
    if meta["step"] < 0:
        raise bad(f"step {meta['step']} < 0")
    if not _NPZ_NAME.match(meta["npz"]):
        raise bad(f"npz {meta['npz']!r} is not a step_N.npz file name beside the record")
    if not _HEX64.match(meta["npz_sha256"]):
        raise bad("npz_sha256 is not a SHA-256 hex digest")
    if not all(isinstance(m, str) for m in meta["modules"]):
        raise bad("modules is not a list of names")
    if not all(isinstance(v, list) and all(isinstance(n, int) and n >= 0 for n in v)
               for v in meta["shapes"].values()):
        raise bad("shapes is not a map of array shapes")
    if "config" in meta and not isinstance(meta["config"], dict):
        raise bad(f"config is a {type(meta['config']).__name__}, expected an object")
