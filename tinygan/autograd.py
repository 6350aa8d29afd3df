"""Reverse-mode automatic differentiation.

A :class:`Function` has a ``forward`` on backend arrays and a ``vjp`` written with Tensor ops::

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):               # arrays in, array out
            return a * b
        @staticmethod
        def vjp(ctx, g):                      # g: Tensor (the cotangent of the output)
            a, b = ctx.inputs                 # the input Tensors, still on the graph
            return g * b, g * a               # Tensor ops: differentiable again

Calling ``Mul.apply(x, y)`` runs forward and, if an input requires grad, records a graph node.
The node *is* the ``ctx``: it holds the function, the input Tensors and whatever forward saved.

Backward walks the nodes in reverse topological order (an iterative DFS, so a 10,000-op chain
needs no recursion), calling each vjp once its output cotangent is complete and adding (``+=``)
the results into the inputs' cotangents. Without ``create_graph`` the VJPs run under
:func:`no_grad` and build nothing; with ``create_graph=True`` they run with grad enabled and the
gradients are Tensors on a new graph -- so grad of grad (WGAN-GP's penalty) needs no extra code.

Graphs are not freed by backward: calling ``backward`` twice on the same graph works and adds the
gradients again (like torch's ``retain_graph=True``). A graph lives as long as a Tensor on it.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


class set_grad_enabled(contextlib.ContextDecorator):
    """Enable or disable graph recording; a context manager and a decorator."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.prev = is_grad_enabled()
        _state.enabled = self.mode  # like torch: takes effect even as a plain call

    def __enter__(self):
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False


class no_grad(contextlib.ContextDecorator):
    """``with tinygan.no_grad():`` -- ops inside record no graph (inference, optimizer steps)."""

    def __enter__(self):
        self.prev = is_grad_enabled()
        _state.enabled = False
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False


class inference_mode(no_grad):
    """``torch.inference_mode(mode=True)``: here the same as ``no_grad`` when ``mode`` is true, and
    nothing when false. A context manager and a decorator (``@inference_mode()`` or bare)."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):   # bare @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = is_grad_enabled()
        if self.mode:
            _state.enabled = False
        return self


class enable_grad(no_grad):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __enter__(self):
        self.prev = is_grad_enabled()
        _state.enabled = True
        return self


class Context:
    """State of one Function call, and the graph node of its output.

    Attributes: ``fn`` (the Function class), ``inputs`` (the call's arguments, Tensors included),
    ``needs_input_grad`` (one bool per argument), ``out_data`` (the output array). Forward may
    store anything else on it (``ctx.stride = ...``) or use :meth:`save_for_backward`.
    """

    __slots__ = ("fn", "inputs", "needs_input_grad", "out_data", "saved_arrays", "__dict__")

    def save_for_backward(self, *arrays):
        self.saved_arrays = arrays

    def output(self):
        """The output as a Tensor on the graph (a view sharing this node), for VJPs like
        ``d exp(x) = exp(x) dx`` that reuse it. Keeping the array, not the Tensor, avoids a cycle."""
        return Tensor._make(self.out_data, self)

    @property
    def name(self) -> str:
        return self.fn.op_name() if getattr(self, "fn", None) else "?"


class Function:
    """Base class of differentiable ops: subclass and define ``forward`` and ``vjp``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def vjp(ctx, grad_out):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        device, dtype, requires = None, None, False
        for a in args:
            if isinstance(a, Tensor):
                d = a.data
                dev = "cpu" if type(d) is np.ndarray else a.device
                if device is None:
                    device = dev
                elif dev != device:
                    raise RuntimeError(f"{cls.op_name()}: tensors on different devices "
                                       f"({_describe(args)}); move them with .to(device)")
                if d.dtype.kind == "f":
                    if dtype is None:
                        dtype = d.dtype
                    elif d.dtype != dtype:
                        raise TypeError(f"{cls.op_name()}: dtypes differ ({_describe(args)}); "
                                        f"cast one with .to(dtype)")
                requires = requires or a.requires_grad
        ctx = Context()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        out = cls.forward(ctx, *arrays, **kwargs)
        if isinstance(out, np.generic):   # numpy reductions return scalars: keep 0-d arrays
            out = np.asarray(out)
        if requires and is_grad_enabled():
            ctx.fn = cls
            ctx.inputs = args
            ctx.out_data = out
            return Tensor._make(out, ctx)
        return Tensor._make(out, None)

    @classmethod
    def op_name(cls) -> str:
        return getattr(cls, "name", cls.__name__.lower())


def _describe(args) -> str:
    parts = [f"{tuple(a.shape)} {a.dtype} on {a.device}" for a in args if isinstance(a, Tensor)]
    return ", ".join(parts)


def _topological_order(roots):
    """Nodes reachable from ``roots``, every node after all nodes it depends on (post-order DFS)."""
    order, visited = [], set()
    stack = [(node, False) for node in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for inp in node.inputs:
            if isinstance(inp, Tensor) and inp._node is not None and id(inp._node) not in visited:
                stack.append((inp._node, False))
    return order


def _accumulate(old, new):
    if old is None:
        return new
    if is_grad_enabled():
        return old + new
    return Tensor._make(old.data + new.data, None)


def run_backward(outputs, grad_outputs, inputs=None, create_graph=False):
    """The engine behind ``Tensor.backward`` (``inputs=None``: add into every leaf's ``.grad``)
    and :func:`grad` (returns the cotangents of ``inputs``, leaving ``.grad`` alone)."""
    grads = {}                 # id(node) -> cotangent of that node's output
    captured = {}              # id(target) -> cotangent, for grad()
    leaf_targets = {id(t) for t in inputs if t._node is None} if inputs is not None else set()
    node_targets = {id(t._node) for t in inputs if t._node is not None} if inputs is not None else set()
    seen_arrays = set()        # arrays already handed to a leaf's .grad: copy before reusing

    roots = []
    for out, g in zip(outputs, grad_outputs):
        seen_arrays.add(id(g.data))
        if out._node is not None:
            grads[id(out._node)] = _accumulate(grads.get(id(out._node)), g)
            roots.append(out._node)
        elif inputs is not None and id(out) in leaf_targets:
            captured[id(out)] = _accumulate(captured.get(id(out)), g)
        elif inputs is None and out.requires_grad:
            _add_to_leaf(out, g, seen_arrays)
    order = _topological_order(roots)

    relevant = None
    if inputs is not None:     # grad(): skip VJPs that cannot reach a requested input
        relevant = set()
        for node in order:
            for inp in node.inputs:
                if isinstance(inp, Tensor) and inp.requires_grad and (
                        id(inp) in leaf_targets or (inp._node is not None and (
                            id(inp._node) in node_targets or id(inp._node) in relevant))):
                    relevant.add(id(node))
                    break

    with set_grad_enabled(create_graph):
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if id(node) in node_targets:
                captured[id(node)] = _accumulate(captured.get(id(node)), g)
            if relevant is not None and id(node) not in relevant:
                continue
            in_grads = node.fn.vjp(node, g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for inp, ig in zip(node.inputs, in_grads):
                if ig is None or not isinstance(inp, Tensor) or not inp.requires_grad:
                    continue
                if ig.shape != inp.shape:
                    raise RuntimeError(f"{node.name}.vjp returned a gradient of shape {ig.shape} "
                                       f"for an input of shape {inp.shape}")
                if inp._node is not None:
                    grads[id(inp._node)] = _accumulate(grads.get(id(inp._node)), ig)
                elif inputs is None:
                    _add_to_leaf(inp, ig, seen_arrays)
                elif id(inp) in leaf_targets:
                    captured[id(inp)] = _accumulate(captured.get(id(inp)), ig)
    return captured


def _add_to_leaf(leaf, g, seen_arrays):
    if leaf.grad is None:
        if not is_grad_enabled() and id(g.data) in seen_arrays:
            g = type(g)._make(g.data.copy(), None)   # never alias one array into two .grad slots
        seen_arrays.add(id(g.data))
        leaf.grad = g if is_grad_enabled() else g.detach()
    else:
        leaf.grad = leaf.grad + g


def _default_grad_outputs(outputs, grad_outputs, op):
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"{op}: got {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    result = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; "
                                   f"got an output of shape {out.shape}. Pass a gradient of that shape.")
            g = Tensor._make(out.xp.ones(out.shape, dtype=out.dtype), None)
        elif not isinstance(g, Tensor):
            g = Tensor(out.xp.asarray(g, dtype=out.dtype), device=out.device)
        if g.shape != out.shape:
            raise ValueError(f"{op}: gradient of shape {g.shape} for an output of shape {out.shape}")
        result.append(g)
    return result


def backward(tensor, grad=None, create_graph=False):
    """d tensor / d leaf for every leaf that requires grad, added into ``leaf.grad``."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no graph "
                           "(did you compute it under no_grad, or from tensors without requires_grad?)")
    (g,) = _default_grad_outputs([tensor], grad, "backward")
    run_backward([tensor], [g], None, create_graph)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False,
         retain_graph=None):
    """Gradients of ``outputs`` w.r.t. ``inputs`` (mirrors ``torch.autograd.grad``).

    Returns a tuple with one Tensor per input (None for an unused input when ``allow_unused``).
    With ``create_graph=True`` the results are on a graph and can be differentiated again.
    ``retain_graph`` is accepted for torch compatibility; graphs are never freed.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    for o in outputs:
        if not o.requires_grad:
            raise RuntimeError(f"grad: an output of shape {o.shape} does not require grad "
                               "(it is not connected to any input that does)")
    gouts = _default_grad_outputs(outputs, grad_outputs, "grad")
    captured = run_backward(outputs, gouts, inputs, create_graph)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(id(t) if t._node is None else id(t._node))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


# Tensor (tensor.py) is built on this module: its grad mode and backward live here. Imported
# last, after everything above is defined, so either module may be imported first.
from .tensor import Tensor  # noqa: E402
