"""Write docs/ops.md: every public op, its signature, its PyTorch equivalent and what is not
supported -- generated from the code, so it cannot drift from it.

    python -m tinygan.docs_ops            # rewrite docs/ops.md
    python -m tinygan.docs_ops --check    # exit 1 (and say so) if docs/ops.md is stale

What is listed is found by introspection, so ops added later appear without touching this file:
the public functions of ``tinygan``, ``tinygan.ops`` and ``tinygan.nn.functional``, and every
method, property and operator defined on ``tinygan.Tensor``. For each one:

- **PyTorch**: by default the same name in the matching torch namespace (``torch.X``,
  ``torch.Tensor.X``, ``torch.nn.functional.X``; an op of ``tinygan.ops`` that nn.functional also
  exports maps to ``torch.nn.functional.X``). :data:`NOTES` overrides it (``"-"``: tinygan only).
  tests/test_docs_ops.py checks that every name given here exists in torch.
- **Not supported / differs**: the note in :data:`NOTES`, every line of the op's docstring that
  starts with ``Unsupported:``, and the message of every ``raise NotImplementedError("...")`` in
  its source (found automatically).
"""
from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

import tinygan
from tinygan import ops
from tinygan.nn import functional
from tinygan.tensor import Tensor

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "ops.md"

# Hand-written notes, keyed "<section>.<name>" (sections: tinygan, ops, Tensor, F) or by the bare
# name for every section. "torch": the equivalent (overrides the default; "-" = none).
# "note": what is not supported or differs from torch.
NOTES = {
    "apply_linear": {"torch": "-", "note": "tinygan only: any LinearOperator as an op (VJP = adjoint)"},
    "set_backend": {"torch": "-", "note": "tinygan only: choose the kernel backend"},
    "vector_norm": {"torch": "torch.linalg.vector_norm", "note": ""},
    "grad": {"torch": "torch.autograd.grad", "note": "retain_graph is ignored (graphs are never freed)"},
    "astype": {"torch": "torch.Tensor.to", "note": "numpy's name"},
    "to_device": {"torch": "torch.Tensor.to", "note": "tinygan's name for a device move"},
    "getitem": {"torch": "torch.Tensor.__getitem__", "note": "numpy's indexing rules"},
    "view": {"torch": "torch.Tensor.view", "note": "a copy-free reshape when numpy allows, else a copy"},
    "expand": {"torch": "torch.Tensor.expand"},
    "repeat": {"torch": "torch.Tensor.repeat"},
    "log_sigmoid": {"torch": "torch.nn.functional.logsigmoid"},
    "upsample_nearest2d": {"torch": "torch.nn.functional.upsample_nearest",
                           "note": "integer scale factors only"},
    "tinygan.pad": {"torch": "torch.nn.functional.pad",
                    "note": "numpy-style pad_width ((before, after) per axis), constant mode only; "
                            "tinygan.nn.functional.pad takes torch's arguments"},
    "ops.pad": {"torch": "torch.nn.functional.pad",
                "note": "numpy-style pad_width ((before, after) per axis), constant mode only; "
                        "tinygan.nn.functional.pad takes torch's arguments"},
    "Tensor.pad": {"torch": "torch.nn.functional.pad", "note": "numpy-style pad_width, as tinygan.pad"},
    "clip": {"note": "Tensor bounds are not supported (numbers only)"},
    "clamp": {"note": "Tensor bounds are not supported (numbers only)"},
    "concatenate": {"torch": "torch.cat"},
    "swapaxes": {"torch": "torch.swapaxes"},
    "sum": {"note": "dtype= casts the result"},
    "scatter": {"note": "for a repeated index the last write in C order wins (torch: unspecified)"},
    "save": {"note": "state_dicts only (dicts, lists, tuples, tensors, arrays, numbers, strings): "
                     "an .npz with a JSON manifest, no pickle; a Module or other object raises"},
    "load": {"note": "reads tinygan.save files only (never unpickles); map_location: a device "
                     "name or a dict, not a function; always weights-only"},
    "dropout2d": {"note": "its own Generator stream (masks differ from torch's)"},
    "dropout1d": {"note": "its own Generator stream (masks differ from torch's)"},
    "cross_entropy": {"note": "mixed float32 / float64 input and target raise (no silent upcast)"},
    "einsum": {"note": "all operands must share one dtype (as torch); path optimisation is numpy's"},
    "prod": {"note": "one int dim or none (as torch)"},
    "embedding": {"note": "max_norm, norm_type, scale_grad_by_freq, sparse"},
    "softmax": {"note": "dtype="},
    "log_softmax": {"note": "dtype="},
    "F.softmax": {},                                   # torch.nn.functional's signature, dtype= included
    "F.log_softmax": {},
    "mse_loss": {"note": "weight="},
    "l1_loss": {"note": "weight="},
    "Tensor.leaky_relu": {"torch": "torch.nn.functional.leaky_relu", "note": "a method in tinygan only"},
    "Tensor.softplus": {"torch": "torch.nn.functional.softplus", "note": "a method in tinygan only"},
    "Tensor.T": {"torch": "torch.Tensor.T"},
    "Tensor.mT": {"torch": "torch.Tensor.mT"},
    "Tensor.xp": {"torch": "-", "note": "tinygan only: the array module (numpy or cupy)"},
    "Tensor.numpy": {"note": "shares memory on the CPU, copies from the GPU"},
    "Tensor.astype": {"torch": "torch.Tensor.to", "note": "numpy's name"},
    "Tensor.data": {"note": "the raw numpy / cupy array, not a Tensor"},
    "Tensor.backward": {"note": "retain_graph is ignored; the graph is kept (a second backward adds again)"},
    "Tensor.flip": {"note": "also takes numpy's axis="},
}

SECTIONS = (
    ("tinygan", "tinygan", "torch"),
    ("ops", "tinygan.ops", "torch"),
    ("Tensor", "tinygan.Tensor", "torch.Tensor"),
    ("F", "tinygan.nn.functional", "torch.nn.functional"),
)
# Tensor's protocol methods that are plumbing, not ops
_TENSOR_SKIP = {"__init__", "__repr__", "__hash__", "__slots__", "__weakref__", "__module__",
                "__doc__", "__array_priority__", "__array__", "__len__", "__bool__", "__float__",
                "__int__", "_make", "_check_inplace"}


def _public_functions(module):
    names = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if inspect.isfunction(obj) and getattr(obj, "__module__", "").startswith("tinygan"):
            names.append(name)
    return sorted(names)


def _tensor_members():
    names = []
    for name, obj in vars(Tensor).items():
        if name in _TENSOR_SKIP or (name.startswith("_") and not name.startswith("__")):
            continue
        if callable(obj) or isinstance(obj, property):
            names.append(name)
    return sorted(names, key=lambda n: (n.startswith("__"), n))


def _signature(obj) -> str:
    if isinstance(obj, property):
        return "(property)"
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    # annotations dropped: their text varies with Python versions, the arguments do not
    empty = inspect.Parameter.empty
    return str(sig.replace(parameters=[p.replace(annotation=empty) for p in sig.parameters.values()],
                           return_annotation=inspect.Signature.empty))


_NIE = re.compile(r'raise NotImplementedError\(\s*f?"((?:[^"\\]|\\.)*)"')


def _unsupported_from_code(obj):
    """Messages of NotImplementedError raised in the op's source, and 'Unsupported:' doc lines."""
    if isinstance(obj, property):
        obj = obj.fget
    found = []
    doc = inspect.getdoc(obj) or ""
    found += [line.split(":", 1)[1].strip() for line in doc.splitlines()
              if line.strip().startswith("Unsupported:")]
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        source = ""
    for msg in _NIE.findall(source):
        msg = re.sub(r"\{[^}]*\}", "...", msg)
        found.append(msg.split(": ", 1)[1] if re.match(r"^[\w.]+: ", msg) else msg)
    return found


def _note(section, name):
    return NOTES.get(f"{section}.{name}", NOTES.get(name, {}))


def torch_name(section, name) -> str:
    """The PyTorch equivalent of ``name`` in ``section`` ("-" when there is none)."""
    note = _note(section, name)
    if "torch" in note:
        return note["torch"]
    if section == "Tensor":
        return f"torch.Tensor.{name}"
    if section == "F" or (section == "ops" and name in _public_functions(functional)):
        return f"torch.nn.functional.{name}"
    return f"torch.{name}"


def rows(section):
    """(name, signature, torch equivalent, not supported) for every public op of ``section``."""
    if section == "Tensor":
        members = [(n, vars(Tensor)[n]) for n in _tensor_members()]
    else:
        module = {"tinygan": tinygan, "ops": ops, "F": functional}[section]
        members = [(n, getattr(module, n)) for n in _public_functions(module)]
    out = []
    for name, obj in members:
        notes = []
        if _note(section, name).get("note"):
            notes.append(_note(section, name)["note"])
        notes += [m for m in _unsupported_from_code(obj) if m not in notes]
        out.append((name, _signature(obj), torch_name(section, name), "; ".join(notes)))
    return out


def _cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    lines = ["# Operators and their PyTorch equivalents", "",
             "Generated by `python -m tinygan.docs_ops` from the code (do not edit by hand; "
             "tests/test_docs_ops.py fails when this file is stale). Hand-written notes live in "
             "`NOTES` in tinygan/docs_ops.py; `raise NotImplementedError(...)` messages and "
             "`Unsupported:` docstring lines are collected automatically.", "",
             "Conventions everywhere: PyTorch's names, argument names and dtype rules; `dim=` and "
             "numpy's `axis=` are both accepted where tinygan's reductions take them; mixing float32 "
             "and float64 tensors raises instead of upcasting.", ""]
    for section, title, _ in SECTIONS:
        table = rows(section)
        lines += [f"## `{title}` ({len(table)})", "",
                  "| op | signature | PyTorch | not supported / differs |", "|---|---|---|---|"]
        for name, sig, torch_eq, note in table:
            ref = "(none)" if torch_eq == "-" else f"`{torch_eq}`"
            lines.append(f"| `{_cell(name)}` | `{_cell(sig)}` | {ref} | {_cell(note)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.docs_ops", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help=f"default {DEFAULT_PATH}")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m tinygan.docs_ops", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
