"""Module and Parameter, with PyTorch's names (the containers: :mod:`.container`).

A Module owns Parameters (Tensors that require grad), buffers (Tensors that do not: BatchNorm's
running statistics) and child Modules, all registered by attribute assignment::

    class MLP(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(2, 8)             # child module  -> "fc.weight", "fc.bias"
            self.scale = Parameter(ones(8))    # parameter     -> "scale"
        def forward(self, x):
            return self.fc(x) * self.scale

``state_dict()`` maps dotted names to detached Tensors sharing the parameters' arrays (as torch);
``load_state_dict`` checks every name and shape before it copies anything, so a failed load leaves
the module untouched.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ..devices import move, normalize_device
from ..dtypes import as_dtype
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter; ``requires_grad=True`` by default.

    ``Parameter(data)`` shares ``data``'s array (a Tensor's or an ndarray's) like torch does."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _HookHandle:
    """``handle.remove()`` unregisters the hook (torch.utils.hooks.RemovableHandle's use)."""

    def __init__(self, hooks, key):
        self.hooks, self.key = hooks, key

    def remove(self) -> None:
        self.hooks.pop(self.key, None)


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and models: subclass, register parts in ``__init__``, define ``forward``."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        for hook in tuple(self.__dict__.get("_forward_pre_hooks", {}).values()):
            result = hook(self, args)            # torch's contract: None, or the new input(s)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in tuple(self.__dict__.get("_forward_hooks", {}).values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:               # torch's contract: None, or the new output
                output = result
        return output

    def _add_hook(self, table: str, entry, prepend: bool) -> _HookHandle:
        hooks = self.__dict__.setdefault(table, OrderedDict())
        key = max(hooks, default=-1) + 1
        hooks[key] = entry
        if prepend:
            hooks.move_to_end(key, last=False)
        return _HookHandle(hooks, key)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False):
        """Call ``hook(module, args)`` before every ``forward`` (as torch; spectral_norm uses
        it to recompute its weight); it may return new input(s). ``prepend``: run it before the
        hooks already registered. Returns a handle whose ``remove()`` unregisters it."""
        return self._add_hook("_forward_pre_hooks", hook, prepend)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False):
        """Call ``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs,
        output)``) after every ``forward``, as torch; a result other than None replaces the
        output (a feature extractor records ``output``). Returns a handle with ``remove()``."""
        return self._add_hook("_forward_hooks", (hook, with_kwargs), prepend)

    # ----- registration -------------------------------------------------------------------------
    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() is called "
                                 f"(call super().__init__() first in {type(self).__name__})")

    def _forget(self, name, keep=None):
        """Drop ``name`` from every table but ``keep`` (and from the plain attributes): assigning
        into the table that already holds it replaces the entry in place, keeping its position
        in the order of ``state_dict``, ``parameters`` and a Sequential's forward, as torch does."""
        for table in ("_parameters", "_buffers", "_modules"):
            if table != keep:
                self.__dict__[table].pop(name, None)
        self.__dict__.pop(name, None)

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._forget(name, keep="_parameters")
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_init("submodules")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is expected)")
            self._parameters[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(a Tensor or None is expected)")
            self._buffers[name] = value
        elif "_modules" in self.__dict__ and name in self._modules and value is None:
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(table, ()):
                del self.__dict__[table][name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_init("parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self._forget(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """A non-trainable state Tensor saved in the state_dict (unless ``persistent=False``)."""
        self._check_init("buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._forget(name, keep="_buffers")
        self._buffers[name] = tensor
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._check_init("submodules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._forget(name, keep="_modules")
        self._modules[name] = module

    register_module = add_module

    # ----- traversal ----------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo=None):
        """(dotted name, module) for this module and every descendant, each module once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def get_submodule(self, target: str) -> "Module":
        """The descendant at the dotted path ``target`` ("" is this module), as torch;
        AttributeError naming the first part that is not a submodule."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part) if isinstance(module, Module) else None
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (in {target!r})")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` ("fc.weight"), as torch."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r} (in {target!r})")
        return module._parameters[name]

    def _named_members(self, table, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, t in mod.__dict__[table].items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter) in registration order; a shared parameter appears once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant (children first), then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients --------------------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (BatchNorm uses batch statistics, Dropout drops); returns self."""
        object.__setattr__(self, "training", bool(mode))
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor._make(p.xp.zeros_like(p.data), None)

    # ----- dtype and device -------------------------------------------------------------------
    def _convert(self, fn):
        for t in list(self.parameters()) + list(self.buffers()):
            t.data = fn(t.data)
            if t.grad is not None:
                t.grad = Tensor._make(fn(t.grad.data), None)
        return self

    def to(self, device_or_dtype=None, dtype=None, device=None):
        """Move / cast every parameter and buffer in place (floating ones only change dtype)."""
        if device_or_dtype is not None:
            if isinstance(device_or_dtype, str) and device_or_dtype.split(":")[0] in ("cpu", "cuda"):
                device = device_or_dtype
            else:
                dtype = device_or_dtype
        dtype = as_dtype(dtype)
        device = None if device is None else normalize_device(device)

        def fn(a):
            if dtype is not None and a.dtype.kind == "f" and a.dtype != dtype:
                a = a.astype(dtype)
            return a if device is None else move(a, device)
        return self._convert(fn)

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    # ----- state dict ---------------------------------------------------------------------------
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Dotted name -> every parameter and persistent buffer as a detached Tensor sharing its
        array, on its device, as torch's (``keep_vars=True``: the Parameters themselves). Keys
        match PyTorch's for the same architecture; ``tinygan.save`` writes it to a file."""
        out = OrderedDict()
        dot = f"{prefix}." if prefix else ""
        for name, p in self._parameters.items():
            if p is not None:
                out[dot + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[dot + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():    # a module used twice appears twice, as in torch
            if child is not None:
                out.update(child.state_dict(dot + name, keep_vars))
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy ``state_dict``'s arrays (numpy arrays, Tensors, anything array-like) into the
        parameters and buffers, in place (dtype and device stay the module's).

        Everything is checked first: a shape mismatch raises a RuntimeError naming the entry and
        both shapes; with ``strict`` missing or unexpected names raise too. Nothing is copied
        unless every check passes."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, pairs = [], []
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            arr = value.data if isinstance(value, Tensor) else value
            if not hasattr(arr, "shape"):
                arr = np.asarray(arr)
            if tuple(arr.shape) != t.shape:
                errors.append(f"size mismatch for {name!r}: the checkpoint has shape "
                              f"{tuple(arr.shape)}, the model has shape {t.shape}")
            else:
                pairs.append((t, arr))
        if strict:
            if missing:
                errors.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                errors.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for t, arr in pairs:
            t.data[...] = move(arr, t.device).astype(t.dtype, copy=False) if hasattr(arr, "astype") \
                else arr
        return IncompatibleKeys(missing, unexpected)

    # ----- printing -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"{extra}" if extra else "")
        return head + "\n" + "\n".join(lines) + "\n)"

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
