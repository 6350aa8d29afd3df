"""The package's imports run one way, down the layers of docs/architecture.md ("Layers").

Every module of tinygan/ is parsed with ``ast`` (nothing is imported) and mapped to its layer:

    base < linops < core < nn < optim < library < models < api < trainers < programs

A module may import modules of its own layer or of lower layers, never of a higher one; the
imports outside the core layer form no cycle (the core's modules -- Tensor, autograd and the ops
built on them -- may import each other at module level); and the core and linops never hide an
import of a tinygan module inside a function (lazily imported optional packages -- numba, cupy,
scipy, matplotlib, torch... -- are fine, they are not tinygan modules).
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygan"

# Lowest first. A name covers a module or a whole subpackage ("ops" is tinygan/ops/*).
LAYERS = [
    ("base", ["_version", "devices", "dtypes", "cuda", "accelerator", "backends", "kernels", "_C"]),
    ("linops", ["linops"]),
    ("core", ["tensor", "autograd", "ops", "creation", "random"]),
    ("nn", ["nn"]),
    ("optim", ["optim"]),
    ("library", ["serialization", "checkpoint", "testing", "viz", "viz_graph", "utils", "data",
                 "distributed", "metrics"]),
    ("models", ["models"]),
    # the package itself (tinygan/__init__.py): the public names, for the layers above
    ("api", [""]),
    ("trainers", ["trainers", "cli", "games"]),
    ("programs", ["train", "sample", "eval", "bench", "bench_gpu", "bench_dcgan", "demo",
                  "demo_latent", "demo_failures", "study", "docs_ops"]),
]
LAYER_INDEX = {name: i for i, (name, _) in enumerate(LAYERS)}
NO_LAZY_IMPORTS = ("core", "linops")   # no function-level import of a tinygan module here


def _module_names():
    """'tinygan.ops.conv' -> path, for every .py file of the package (and the C extension)."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("tinygan",) + path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    names["tinygan._C"] = None   # the compiled extension (csrc/cpu)
    return names


MODULES = _module_names()


def layer_of(module: str) -> str:
    """The layer of a module name ('tinygan.ops.conv' -> 'core'): its longest listed prefix."""
    rest = module[len("tinygan."):] if module != "tinygan" else ""
    best = None
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if rest == prefix or (prefix and rest.startswith(prefix + ".")):
                if best is None or len(prefix) > len(best[1]):
                    best = (layer, prefix)
    if best is None:
        raise AssertionError(f"{module} has no layer: add it to LAYERS in tests/test_import_graph.py "
                             "and to the graph in docs/architecture.md")
    return best[0]


def _target(name: str) -> str:
    """The tinygan module an imported dotted name lives in (a name imported from a module -> that
    module; a submodule -> the submodule)."""
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str):
    """[(imported tinygan module, line, inside a function?)] for one module."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((_target(a.name), child.lineno, nested) for a in child.names
                             if a.name.split(".")[0] == "tinygan")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - child.level + 1])
                    source = base + ("." + child.module if child.module else "")
                else:
                    source = child.module or ""
                if source.split(".")[0] == "tinygan":
                    found.extend((_target(f"{source}.{a.name}"), child.lineno, nested)
                                 for a in child.names)
            visit(child, nested)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return [(target, line, nested) for target, line, nested in found if target != module]


GRAPH = {m: imports_of(m) for m, path in MODULES.items() if path is not None}


def _where(module, line):
    return f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}"


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_run_down_the_layers():
    upward = [f"{_where(m, line)} ({layer_of(m)}) imports {t} ({layer_of(t)})"
              for m, edges in GRAPH.items() for t, line, _ in edges
              if LAYER_INDEX[layer_of(t)] > LAYER_INDEX[layer_of(m)]]
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_no_function_level_imports_in_the_core_and_linops():
    hidden = [f"{_where(m, line)} imports {t} inside a function"
              for m, edges in GRAPH.items() if layer_of(m) in NO_LAZY_IMPORTS
              for t, line, nested in edges if nested]
    assert not hidden, "\n".join(hidden)


def cycles(graph):
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph.get(succ, ()))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder():
    assert cycles({"a": ["b"], "b": ["a", "c"], "c": []}) == [["a", "b"]]
    assert cycles({"a": ["b"], "b": ["c"], "c": []}) == []


def test_no_cycles_outside_the_core():
    outside = {m: [t for t, _, _ in edges if layer_of(t) != "core"]
               for m, edges in GRAPH.items() if layer_of(m) != "core"}
    found = cycles(outside)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("module, layer", [("tinygan.ops.conv", "core"), ("tinygan", "api"),
                                           ("tinygan.linops.conv", "linops"),
                                           ("tinygan.trainers.loop", "trainers"),
                                           ("tinygan.backends.cpp", "base")])
def test_layer_of(module, layer):
    assert layer_of(module) == layer
