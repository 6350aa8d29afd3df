"""``tinygan.save`` / ``tinygan.load``: torch.save / torch.load for state_dicts, without pickle.

    tinygan.save({"model": model.state_dict(), "opt": opt.state_dict()}, "ckpt.pt")
    ckpt = tinygan.load("ckpt.pt", map_location="cpu")
    model.load_state_dict(ckpt["model"]); opt.load_state_dict(ckpt["opt"])

What can be saved: nested dicts (OrderedDicts too; keys may be str, int, float, bool, None or
tuples of those), lists, tuples, Tensors, NumPy arrays and scalars, Python numbers, strings, bools
and None -- everything a model's, an optimizer's or a scheduler's state_dict holds. The file is a
``.npz`` (a zip of ``.npy`` arrays) whose entry ``__manifest__`` holds a UTF-8 JSON description of
the tree, each array replaced by a reference to its entry; it is read with
``allow_pickle=False``, so loading a file can never run code. A Module, an Optimizer or any other
object is refused (PyTorch pickles it; pickle runs arbitrary code on load): save its
``state_dict()``. Files written by ``torch.save`` are pickles and are refused by ``load`` with an
error saying so.

``map_location``: None (each tensor back on the device it was saved from), a device name ("cpu",
"cuda", "cuda:0", or anything whose ``str`` is one), or a dict mapping saved device names to
new ones. ``weights_only`` is accepted and changes nothing: loading is always weights-only.
"""
from __future__ import annotations

import json
import os
import zipfile
from collections import OrderedDict

import numpy as np

from .checkpoint import atomic_write
from .devices import move, normalize_device
from .tensor import Tensor

FORMAT = "tinygan-save-1"
_MANIFEST = "__manifest__"


def _where(path):
    return "/".join(str(p) for p in path) or "<root>"


def _encode(obj, arrays: dict, path: list):
    """(JSON-safe tree): JSON scalars as themselves, everything else as {"t": tag, ...}."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and type(obj) in (int, float):
        return obj
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = np.array(move(obj.data, "cpu"), copy=True)
        return {"t": "tensor", "k": key, "device": obj.device, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"t": "scalar", "k": key}
    if isinstance(obj, np.ndarray) or (hasattr(obj, "__cuda_array_interface__") and hasattr(obj, "get")):
        key = f"a{len(arrays)}"
        arrays[key] = np.array(move(obj, "cpu"), copy=True)
        if arrays[key].dtype.hasobject:
            raise TypeError(f"tinygan.save: the array at {_where(path)} has dtype object, which "
                            "cannot be stored without pickle")
        return {"t": "ndarray", "k": key}
    if isinstance(obj, dict):
        tag = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {"t": tag, "v": [[_encode_key(k, path), _encode(v, arrays, path + [k])]
                                for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, path + [i]) for i, v in enumerate(obj)]
        return {"t": "tuple" if isinstance(obj, tuple) else "list", "v": items}
    if callable(getattr(obj, "state_dict", None)):
        raise TypeError(f"tinygan.save: cannot save a {type(obj).__name__} object"
                        f"{'' if not path else ' at ' + _where(path)}: tinygan does not pickle "
                        f"objects; save its state_dict() instead (tinygan.save(obj.state_dict(), "
                        f"path)) and restore it with load_state_dict(tinygan.load(path))")
    raise TypeError(f"tinygan.save: cannot save {type(obj).__name__} at {_where(path)}; only dicts, "
                    "lists, tuples, Tensors, arrays, numbers, strings, bools and None (a state_dict) "
                    "can be saved")


def _encode_key(key, path):
    if key is None or isinstance(key, (bool, int, float, str)):
        return _encode(key, {}, path)
    if isinstance(key, tuple):
        return {"t": "tuple", "v": [_encode_key(k, path) for k in key]}
    raise TypeError(f"tinygan.save: dict key {key!r} ({type(key).__name__}) at {_where(path)} "
                    "cannot be saved; keys must be str, int, float, bool, None or tuples of those")


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` (a state_dict or a nest of them) to ``f`` (a path, written atomically, or a
    binary file object). torch.save's other arguments are accepted and ignored."""
    arrays: dict = {}
    tree = _encode(obj, arrays, [])
    manifest = json.dumps({"format": FORMAT, "tree": tree}).encode()
    payload = {_MANIFEST: np.frombuffer(manifest, np.uint8), **arrays}
    if isinstance(f, (str, os.PathLike)):
        atomic_write(f, lambda fh: np.savez(fh, **payload))
    else:
        np.savez(f, **payload)


class _Reader:
    def __init__(self, npz, where, map_location):
        self.npz, self.where, self.map_location = npz, where, map_location

    def array(self, key):
        if not isinstance(key, str) or key == _MANIFEST or key not in self.npz.files:
            raise RuntimeError(f"tinygan.load: {self.where} is corrupt (manifest refers to a "
                               f"missing array {key!r})")
        return self.npz[key]

    def device(self, saved):
        m = self.map_location
        if m is None:
            return normalize_device(saved)
        if isinstance(m, dict):
            return normalize_device(m.get(saved, saved))
        return normalize_device(m)

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "t" not in node:
            raise RuntimeError(f"tinygan.load: {self.where} is corrupt (unexpected manifest entry "
                               f"{type(node).__name__})")
        tag = node["t"]
        if tag == "tensor":
            t = Tensor(move(self.array(node["k"]), self.device(node.get("device", "cpu"))))
            return t.requires_grad_(True) if node.get("requires_grad") and t.dtype.kind in "fc" else t
        if tag == "ndarray":
            return self.array(node["k"])
        if tag == "scalar":
            return self.array(node["k"])[()]
        if tag in ("list", "tuple"):
            items = [self.decode(v) for v in node["v"]]
            return tuple(items) if tag == "tuple" else items
        if tag in ("dict", "odict"):
            pairs = [(self.decode(k), self.decode(v)) for k, v in node["v"]]
            return OrderedDict(pairs) if tag == "odict" else dict(pairs)
        raise RuntimeError(f"tinygan.load: {self.where} is corrupt (unknown entry type {tag!r})")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **kwargs):
    """Read what :func:`save` wrote from ``f`` (a path or a binary file object); tensors go to
    ``map_location`` (see the module docstring). Never unpickles."""
    if callable(map_location) and not isinstance(map_location, dict):
        raise TypeError("tinygan.load: map_location must be None, a device name or a dict of "
                        "device names (a function is not supported)")
    where = os.fspath(f) if isinstance(f, (str, os.PathLike)) else "<file object>"
    try:
        npz = np.load(f, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise RuntimeError(f"tinygan.load: cannot read {where}: {exc}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile) or _MANIFEST not in npz.files:
        kind = "a torch.save pickle (not readable without pickle)" if isinstance(
            npz, np.lib.npyio.NpzFile) and any(n.endswith("data.pkl") for n in npz.zip.namelist()) \
            else "not a file written by tinygan.save"
        raise RuntimeError(f"tinygan.load: {where} is {kind}")
    with npz:
        try:
            meta = json.loads(bytes(npz[_MANIFEST]).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise RuntimeError(f"tinygan.load: {where} is corrupt (manifest: {exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise RuntimeError(f"tinygan.load: {where} has format "
                               f"{meta.get('format') if isinstance(meta, dict) else None!r}, "
                               f"expected {FORMAT!r}")
        return _Reader(npz, where, map_location).decode(meta["tree"])


__all__ = ["save", "load"]
