"""tinygan.viz_graph: the traced graph's structure, its gradients (against torch, the oracle),
the VJP rule on each edge, the dot text and the PNG."""
from __future__ import annotations

import numpy as np
import pytest

import tinygan as tg
import tinygan.nn.functional as F
from tinygan import viz_graph


def _layer():
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    W = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)
    h = (x @ W + b).tanh()
    loss = (h * h).sum()
    return loss, {"x": x, "W": W, "b": b, "h": h, "loss": loss}


def test_structure_and_rules():
    loss, names = _layer()
    g = viz_graph.trace(loss, names)
    assert [n.label for n in g.nodes.values() if n.kind == "op"] == ["matmul", "add", "tanh", "mul", "sum"]
    assert sorted(n.name for n in g.nodes.values() if n.kind == "leaf") == ["W", "b", "x"]
    assert len(g.edges) == 8                          # h * h: two edges from tanh to mul
    key = {n.name or n.label: k for k, n in g.nodes.items()}
    rules = {(g.nodes[e.src].name or g.nodes[e.src].label, g.nodes[e.dst].label, e.position): e.rule
             for e in g.edges}
    assert rules[("x", "matmul", 0)] == "g @ b.T" and rules[("W", "matmul", 1)] == "a.T @ g"
    assert rules[("add", "tanh", 0)] == "g * (1 - y**2)"
    assert g.nodes[key["loss"]].depth == 5 and g.nodes[key["x"]].depth == 0
    dot = viz_graph.to_dot(g)
    assert dot.startswith("digraph") and dot.count("->") == 8 and "VJP: g @ b.T" in dot


def test_gradients_at_every_node_match_torch():
    torch = pytest.importorskip("torch")
    loss, names = _layer()
    g = viz_graph.trace(loss, names)
    t = {k: torch.tensor(names[k].numpy(), requires_grad=True) for k in ("x", "W", "b")}
    th = torch.tanh(t["x"] @ t["W"] + t["b"])
    th.retain_grad()
    (th * th).sum().backward()
    by_name = {n.name: n for n in g.nodes.values() if n.name}
    for k in ("x", "W", "b"):
        np.testing.assert_allclose(by_name[k].grad, t[k].grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(by_name["h"].grad, th.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(by_name["h"].value, th.detach().numpy(), rtol=1e-12)
    assert by_name["loss"].grad == 1.0


def test_constants_conv_rules_and_picture(tmp_path):
    x = tg.tensor(np.linspace(-1, 1, 16).reshape(1, 1, 4, 4), requires_grad=True)
    w = tg.tensor(np.ones((2, 1, 3, 3)))              # a constant: no grad, no rule on its edge
    out = (F.conv2d(x, w, padding=1) * 2.0).sum()
    g = viz_graph.trace(out, {"x": x, "w": w})
    kinds = sorted(n.kind for n in g.nodes.values())
    assert kinds.count("constant") == 2 and kinds.count("leaf") == 1
    conv_edges = {e.position: e.rule for e in g.edges if g.nodes[e.dst].label == "conv2d"}
    assert conv_edges == {0: "Conv(w).T(g) = conv_transpose2d(g, w)", 1: ""}
    path = viz_graph.draw(g, tmp_path / "g.png", "conv")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_trace_refuses_a_tensor_without_graph():
    with pytest.raises(ValueError, match="trace: .*no autograd graph"):
        viz_graph.trace(tg.tensor([1.0, 2.0]))
