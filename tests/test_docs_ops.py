"""docs/ops.md is generated from the code (python -m tinygan.docs_ops) and must not be stale;
every PyTorch equivalent it names must exist in torch."""
import functools

import pytest

from tinygan import docs_ops


def test_docs_ops_is_up_to_date():
    text = docs_ops.DEFAULT_PATH.read_text() if docs_ops.DEFAULT_PATH.exists() else ""
    assert text == docs_ops.render(), ("docs/ops.md is stale: run `python -m tinygan.docs_ops` "
                                       "and commit the result")


def test_every_public_op_is_listed():
    import tinygan
    from tinygan import ops
    listed = {(s, row[0]) for s, _, _ in docs_ops.SECTIONS for row in docs_ops.rows(s)}
    for name in ("einsum", "gather", "cumsum", "prod", "tril", "eye"):
        assert ("tinygan", name) in listed and callable(getattr(tinygan, name))
    for name in ("repeat", "scatter_add", "cross_entropy", "matmul"):
        assert ("ops", name) in listed and callable(getattr(ops, name))
    for name in ("repeat", "cummax", "diagonal", "__add__", "__getitem__", "shape"):
        assert ("Tensor", name) in listed


def test_torch_equivalents_exist():
    torch = pytest.importorskip("torch")
    missing = []
    for section, _, _ in docs_ops.SECTIONS:
        for name, _, torch_name, _ in docs_ops.rows(section):
            if torch_name == "-":
                continue
            try:
                functools.reduce(getattr, torch_name.split(".")[1:], torch)
            except AttributeError:
                missing.append(f"{section}.{name} -> {torch_name}")
    assert not missing, ("no such torch name; set the equivalent in docs_ops.NOTES: " + ", ".join(missing))


def test_check_flag(tmp_path):
    out = tmp_path / "ops.md"
    assert docs_ops.main(["--check", "--output", str(out)]) == 1
    assert docs_ops.main(["--output", str(out)]) == 0
    assert docs_ops.main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text() + "edited by hand\n")
    assert docs_ops.main(["--check", "--output", str(out)]) == 1
