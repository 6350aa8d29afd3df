"""The autograd graph of a Tensor expression as a picture (micrograd's ``draw_dot``, for tensors).

    loss = (tanh(x @ W + b) ** 2).sum()
    graph = trace(loss, names={"x": x, "W": W, "b": b, "loss": loss})
    draw(graph, "graph.png");  Path("graph.dot").write_text(to_dot(graph))

``trace`` walks the graph ``loss`` was recorded on (each op's ``Context``: its Function and
input Tensors), and computes the gradient of ``loss`` at every node with :func:`tinygan.grad` (so
intermediate results get theirs too, not only leaves). Every node shows its shape, value and
gradient; every edge runs from an input to the op that read it and carries the op's VJP rule for
that input: what flows back along the edge, in terms of ``g`` (the gradient at the op's output),
``y`` (the output) and the inputs ``a``, ``b`` (or ``x``, ``w``).

``draw`` lays the graph out top to bottom by depth and writes a PNG with matplotlib (imported
only when drawing); ``to_dot`` writes the same graph in Graphviz's dot language, for those who
have Graphviz. ``python -m tinygan.demo graph`` draws two small examples.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .autograd import grad
from .tensor import Tensor

# The VJP rule of each input of the common ops (by Function name). A Function may state its own
# rules in a ``vjp_rules`` tuple (the conv Functions do); unknown ops fall back to the first line of
# their ``vjp`` docstring, or "<Function>.vjp".
VJP_RULES = {
    "add": ("unbroadcast(g)", "unbroadcast(g)"),
    "sub": ("unbroadcast(g)", "unbroadcast(-g)"),
    "mul": ("unbroadcast(g * b)", "unbroadcast(g * a)"),
    "div": ("unbroadcast(g / b)", "unbroadcast(-g * a / b**2)"),
    "pow": ("g * b * a**(b-1)", "g * log(a) * a**b"),
    "matmul": ("g @ b.T", "a.T @ g"),
    "neg": ("-g",),
    "exp": ("g * y",),
    "log": ("g / x",),
    "sqrt": ("g * 0.5 / y",),
    "tanh": ("g * (1 - y**2)",),
    "sigmoid": ("g * y * (1 - y)",),
    "relu": ("g * (x > 0)",),
    "leaky_relu": ("g * where(x > 0, 1, slope)",),
    "sum": ("broadcast_to(g, x.shape)",),
    "reshape": ("reshape(g, x.shape)",),
    "permute": ("permute(g, inverse axes)",),
    "broadcast_to": ("sum g over the broadcast axes",),
    "getitem": ("scatter g into zeros(x.shape)",),
    "linear_operator": ("A.T(g)   (the adjoint)",),
    "bias_add": ("g", "channel_sum(g)"),
    "channel_sum": ("bias_add(zeros, g)",),
}


@dataclass
class Node:
    key: int
    kind: str                 # "op", "leaf" (requires grad) or "constant"
    label: str                # the op's name ("" for a leaf)
    name: str                 # the tensor's name from ``trace(names=...)``, or ""
    shape: tuple
    value: np.ndarray
    grad: np.ndarray | None = None
    depth: int = 0


@dataclass
class Edge:
    src: int                  # Node.key of the input
    dst: int                  # Node.key of the op
    position: int             # which argument of the op
    rule: str                 # what flows back along the edge (empty for a constant)


@dataclass
class Graph:
    nodes: dict = field(default_factory=dict)   # key -> Node, in topological order
    edges: list = field(default_factory=list)


def _host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") else a)


def vjp_rule(fn, position: int) -> str:
    """The rule for argument ``position`` of Function class ``fn`` (see ``VJP_RULES``)."""
    rules = getattr(fn, "vjp_rules", None) or VJP_RULES.get(fn.op_name())
    if rules and position < len(rules):
        return rules[position]
    doc = (getattr(fn.vjp, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else f"{fn.__name__}.vjp"


def trace(output: Tensor, names: dict | None = None) -> Graph:
    """The graph that computed ``output`` (a Tensor with a graph), with every node's gradient of
    ``output.sum()``. ``names`` maps a label to a Tensor of the expression (leaves or results)."""
    if not isinstance(output, Tensor) or output._node is None:
        raise ValueError("trace: expected a Tensor computed from tensors with requires_grad=True "
                         "(it has no autograd graph)")
    labels = {}
    for name, t in (names or {}).items():
        labels[id(t._node) if t._node is not None else id(t)] = name

    def key(t):
        return id(t._node) if t._node is not None else id(t)

    graph, tensors, order, stack, seen = Graph(), {key(output): output}, [], [(output, False)], set()
    while stack:                                     # post-order DFS: inputs before their op
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if key(t) in seen:
            continue
        seen.add(key(t))
        stack.append((t, True))
        if t._node is not None:
            for inp in t._node.inputs:
                if isinstance(inp, Tensor):
                    tensors.setdefault(key(inp), inp)
                    stack.append((inp, False))
    wanted = [t for t in order if t.requires_grad]
    grads = dict(zip((key(t) for t in wanted), grad(output.sum() if output.numel() != 1 else output,
                                                    wanted, allow_unused=True)))
    for t in order:
        k, node = key(t), t._node
        kind = "op" if node is not None else "leaf" if t.requires_grad else "constant"
        label = node.fn.op_name() if node is not None else ""
        g = grads.get(k)
        depth = 0 if node is None else 1 + max(
            (graph.nodes[key(i)].depth for i in node.inputs if isinstance(i, Tensor)), default=-1)
        graph.nodes[k] = Node(k, kind, label, labels.get(k, ""), tuple(t.shape), _host(t.data),
                              None if g is None else _host(g.data), depth)
        if node is not None:
            for position, inp in enumerate(node.inputs):
                if isinstance(inp, Tensor):
                    rule = vjp_rule(node.fn, position) if inp.requires_grad else ""
                    graph.edges.append(Edge(key(inp), k, position, rule))
    return graph


def _fmt(a) -> str:
    a = np.asarray(a)
    if a.size > 12:
        return f"mean {a.mean():.3g}, min {a.min():.3g}, max {a.max():.3g}"
    return np.array2string(a, precision=3, suppress_small=True, separator=", ",
                           max_line_width=44, floatmode="maxprec")


def node_title(node: Node) -> str:
    """How an edge list names a node: its name, else its op, else its kind."""
    return node.name or node.label or node.kind


def node_text(node: Node) -> str:
    """The lines drawn in a node's box."""
    head = {"op": f"{node.name} = {node.label}" if node.name else node.label,
            "leaf": f"{node.name or 'leaf'}  (leaf)",
            "constant": f"{node.name or 'constant'}  (no grad)"}[node.kind]
    lines = [f"{head}   shape {node.shape}", f"value {_fmt(node.value)}"]
    if node.grad is not None:
        lines.append(f"grad  {_fmt(node.grad)}")
    return "\n".join(lines)


def to_dot(graph: Graph) -> str:
    """The graph in Graphviz's dot language (edges labelled with the VJP rules)."""
    def quote(s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '\\l"'
    lines = ["digraph autograd {", "  node [shape=box, fontname=monospace];"]
    for node in graph.nodes.values():
        style = {"op": "rounded", "leaf": "filled", "constant": "dashed"}[node.kind]
        lines.append(f"  n{node.key} [label={quote(node_text(node))}, style={style}];")
    for e in graph.edges:
        label = f" [label={quote('VJP: ' + e.rule)}]" if e.rule else ""
        lines.append(f"  n{e.src} -> n{e.dst}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _layout(graph: Graph):
    """Rows by depth (leaves just above their first consumer), ordered within a row by the mean
    position of their neighbours (two sweeps of the barycentre heuristic): {key: (row, column)}."""
    consumers: dict = {}
    for e in graph.edges:
        consumers.setdefault(e.src, []).append(e.dst)
    row = {k: n.depth for k, n in graph.nodes.items()}
    for k, n in graph.nodes.items():
        if n.kind != "op" and k in consumers:
            row[k] = min(row[c] for c in consumers[k]) - 1
    rows: dict = {}
    for k in graph.nodes:
        rows.setdefault(row[k], []).append(k)
    inputs: dict = {}
    for e in graph.edges:
        inputs.setdefault(e.dst, []).append(e.src)

    def place():
        return {k: (r, (i + 0.5) / len(ks)) for r, ks in rows.items() for i, k in enumerate(ks)}

    for _ in range(2):
        for order, neighbours in ((sorted(rows), inputs), (sorted(rows, reverse=True), consumers)):
            for r in order:
                pos = place()
                rows[r].sort(key=lambda k: sum(pos[m][1] for m in neighbours.get(k, [k]))
                             / len(neighbours.get(k, [k])))
    return place(), min(rows), max(rows), max(len(ks) for ks in rows.values())


def draw(graph: Graph, path, title: str = "") -> Path:
    """Draw ``graph`` to a PNG at ``path``: forward runs down the page, an arrow from each input
    to the op that read it, labelled (in red) with what backward sends back along it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pos, top, bottom, widest = _layout(graph)
    # a box's half height in inches (8-point monospace lines), rows spaced to leave 0.9 in between
    half = {k: 0.07 * node_text(n).count("\n") + 0.15 for k, n in graph.nodes.items()}
    row_half = {r: max([half[k] for k, (rr, _) in pos.items() if rr == r] + [0.2])
                for r in range(top, bottom + 1)}
    row_y, y = {}, 0.7
    for r in range(top, bottom + 1):
        y += row_half[r]
        row_y[r] = y
        y += row_half[r] + 0.9
    width, height = max(8.0, 3.9 * widest), y - 0.9 + 0.7
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.axis("off")
    where = {k: (c * width, height - row_y[r]) for k, (r, c) in pos.items()}
    colours = {"op": "#dbe9f6", "leaf": "#fde9c4", "constant": "#eeeeee"}
    boxes = {k: ax.text(*where[k], node_text(node), ha="center", va="center", family="monospace",
                        fontsize=8, bbox=dict(boxstyle="round,pad=0.4", fc=colours[node.kind],
                                              ec="#555555"))
             for k, node in graph.nodes.items()}
    parallel: dict = {}
    incoming = [e for e in graph.edges if e.rule]
    for e in graph.edges:
        n = parallel[(e.src, e.dst)] = parallel.get((e.src, e.dst), -1) + 1
        rad = 0.0 if n == 0 else 0.4 * (1 if n % 2 else -1) * ((n + 1) // 2)
        ax.annotate("", xy=(0.5, 0.5), xycoords=boxes[e.dst], xytext=(0.5, 0.5),
                    textcoords=boxes[e.src],
                    arrowprops=dict(arrowstyle="-|>", color="#444444", shrinkA=2, shrinkB=2,
                                    patchA=boxes[e.src].get_bbox_patch(),
                                    patchB=boxes[e.dst].get_bbox_patch(),
                                    connectionstyle=f"arc3,rad={rad}"))
        if e.rule:
            # on the arc (a quadratic Bezier through control point mid + rad * (dy, -dx)), the
            # labels of one op's inputs staggered along their arrows so that they do not collide
            siblings = [f for f in incoming if f.dst == e.dst]
            j = siblings.index(e)
            t = 0.5 if len(siblings) == 1 else 0.25 + 0.5 * j / (len(siblings) - 1)
            (x0, y0), (x1, y1) = where[e.src], where[e.dst]
            rise = max(abs(y0 - y1), 1e-9)     # t along the part between the two boxes
            t = half[e.src] / rise + (1 - (half[e.src] + half[e.dst]) / rise) * t
            cx, cy = 0.5 * (x0 + x1) + rad * (y1 - y0), 0.5 * (y0 + y1) - rad * (x1 - x0)
            px = (1 - t) ** 2 * x0 + 2 * t * (1 - t) * cx + t ** 2 * x1
            py = (1 - t) ** 2 * y0 + 2 * t * (1 - t) * cy + t ** 2 * y1
            rule = e.rule.replace(" = ", "\n= ") if len(e.rule) > 28 else e.rule
            ax.text(px, py, f"VJP: {rule}", ha="center", va="center", fontsize=7.5,
                    color="#b22222", bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none",
                                               alpha=0.9))
    ax.text(0.2, height - 0.3, title or "autograd graph", fontsize=11, weight="bold", va="center")
    ax.text(0.2, 0.25, "arrows: forward.  red: what backward sends back along each arrow "
            "(g: the gradient at the op's output, y: its output, a, b or x, w: its inputs)",
            fontsize=7.5, va="center", color="#b22222")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
