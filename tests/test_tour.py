"""docs/tour.md stays true: its python blocks run, in order, in one namespace, and every anchor
`tinygan/<file>.py:<line>` `<name>` points at the line where <name> (a def or class, dotted for
a method: `Function.apply`) is defined."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "docs" / "tour.md"
ANCHOR = re.compile(r"`(tinygan/[\w/]+\.py):(\d+)` `([\w.]+)`")
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def definitions(path: Path) -> dict:
    """Dotted name -> line of its ``def`` / ``class`` (methods as ``Class.method``)."""
    found = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(prefix + child.name, child.lineno)
                visit(child, prefix + child.name + ".")

    visit(ast.parse(path.read_text()), "")
    return found


def test_the_tour_has_anchors_and_blocks():
    text = TOUR.read_text()
    assert len(ANCHOR.findall(text)) >= 20 and len(BLOCK.findall(text)) >= 6


def stale_anchors(text: str) -> list:
    """The anchors of ``text`` that do not point at their definition."""
    stale = []
    for path, line, name in ANCHOR.findall(text):
        where = definitions(ROOT / path).get(name)
        if where != int(line):
            stale.append(f"{path}:{line} {name} (defined at line {where})")
    return stale


def test_every_anchor_points_at_its_definition():
    stale = stale_anchors(TOUR.read_text())
    assert not stale, "docs/tour.md: stale anchors:\n" + "\n".join(stale)


def test_every_block_runs_in_order():
    namespace = {"__name__": "tour"}
    for number, code in enumerate(BLOCK.findall(TOUR.read_text()), 1):
        try:
            exec(compile(code, f"docs/tour.md block {number}", "exec"), namespace)
        except Exception as exc:  # name the block that failed
            pytest.fail(f"docs/tour.md block {number} raised {type(exc).__name__}: {exc}")


def test_stale_anchor_is_caught():
    line = definitions(ROOT / "tinygan/autograd.py")["Function.apply"]
    assert stale_anchors(f"`tinygan/autograd.py:{line}` `Function.apply`") == []
    assert stale_anchors(f"`tinygan/autograd.py:{line + 1}` `Function.apply`")
    assert stale_anchors(f"`tinygan/autograd.py:{line}` `Function.no_such_method`")
