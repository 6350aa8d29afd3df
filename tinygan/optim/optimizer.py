"""Optimizer base: parameter groups, per-parameter state, zero_grad, state_dict / load_state_dict.

An optimizer updates ``p.data`` (the raw array) in place under ``no_grad`` from ``p.grad.data``;
the update rules are the subclasses' ``_update(p, grad, state, group)``, written on arrays (numpy
or cupy) in the order PyTorch computes them, so trajectories agree with torch.optim to rounding.

``state_dict()`` holds only plain values -- numpy arrays, Python numbers, strings, bools, None,
tuples, lists and dicts -- so a checkpoint can be an ``.npz`` (the arrays) plus JSON (the rest);
no pickle. Parameters are referred to by their position across the groups (0, 1, 2, ...), as in
PyTorch. Loading it into an optimizer over the same parameters continues the run exactly.
"""
from __future__ import annotations

import copy

import numpy as np

from ..autograd import enable_grad, no_grad
from ..devices import move
from ..tensor import Tensor


def check_range(value, message: str, high=None) -> None:
    """ValueError ``"<message>: <value>"`` unless 0 <= value (< high); NaN is never in range."""
    if not (0.0 <= value and (high is None or value < high)):
        raise ValueError(f"{message}: {value}")


class Optimizer:
    """Base class: ``Optimizer(params, defaults)`` where params is an iterable of Tensors or of
    dicts ``{"params": [...], "lr": ...}`` (parameter groups: per-group hyperparameters)."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}                 # Parameter -> {name: array or number}
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or dicts, "
                            "got a Tensor (wrap it in a list)")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def _validate(self, group: dict) -> None:
        """Subclasses raise ValueError on invalid hyperparameters, with torch.optim's messages
        ("Invalid learning rate: nan"): each check is written ``not 0.0 <= x`` so NaN fails it."""
        check_range(group["lr"], "Invalid learning rate")

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor (shape {p.shape})")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter (shape {p.shape}) appears in "
                                 "more than one group (or twice)")
            seen.add(id(p))
        group["params"] = params
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else Tensor._make(p.xp.zeros_like(p.data), None)

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) recomputes
        and backpropagates the loss first; its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data
                    if grad.shape != p.data.shape:
                        raise RuntimeError(f"{type(self).__name__}: gradient of shape {grad.shape} "
                                           f"for a parameter of shape {p.shape}")
                    self._update(p, grad, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, p, grad, state: dict, group: dict) -> None:
        raise NotImplementedError

    # ----- state dict ---------------------------------------------------------------------------
    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {name: ndarray | number}}, "param_groups": [{hyper..., "params":
        [index, ...]}]}`` -- copies, plain values only."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {}
        for p, s in self.state.items():
            state[index[id(p)]] = {k: (np.array(move(v, "cpu"), copy=True) if hasattr(v, "shape")
                                       and not isinstance(v, (int, float)) else copy.deepcopy(v))
                                   for k, v in s.items()}
        groups = []
        for g in self.param_groups:
            d = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (keys may be ints or,
        after a JSON round trip, strings). Raises ValueError naming the group / parameter and
        both shapes when they do not match this optimizer's parameters."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state has {len(groups)} "
                             f"parameter groups, this optimizer {len(self.param_groups)}")
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: group {i} has "
                                 f"{len(saved['params'])} parameters in the state, "
                                 f"{len(own['params'])} here")
        params = self._params()
        by_saved = {}
        for saved, own in zip(groups, self.param_groups):
            for idx, p in zip(saved["params"], own["params"]):
                by_saved[int(idx)] = p
        new_state = {}
        for key, s in state_dict["state"].items():
            idx = int(key)
            if idx not in by_saved:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for parameter {idx}, "
                                 f"but there are only {len(params)} parameters")
            p = by_saved[idx]
            restored = {}
            for name, v in s.items():
                if isinstance(v, (np.ndarray, Tensor)) or (hasattr(v, "shape") and hasattr(v, "dtype")):
                    arr = v.data if isinstance(v, Tensor) else v
                    if arr.ndim > 0 and tuple(arr.shape) != p.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state {name!r} of "
                                         f"parameter {idx} has shape {tuple(arr.shape)}, the "
                                         f"parameter has shape {p.shape}")
                    arr = move(np.asarray(arr) if isinstance(arr, np.ndarray) else arr, p.device)
                    dtype = p.dtype if arr.dtype.kind == "f" else arr.dtype
                    restored[name] = p.xp.array(arr, dtype=dtype, copy=True)
                else:
                    restored[name] = copy.deepcopy(v)
            new_state[p] = restored
        for saved, own in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k == "params":
                    continue
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)
                own[k] = copy.deepcopy(v)
        self.state = new_state
