"""The containers, as torch.nn's: Sequential, ModuleList, ModuleDict.

Each keeps its children in the Module's ordered table of submodules, so their parameters are
registered under the child's key (``"0.weight"``, ``"fc.bias"``). Assigning to an index or key
that exists replaces the child in place (its position, and so the forward order and the
``state_dict`` order, is kept); deleting from a Sequential or a ModuleList renumbers the rest
"0", "1", ... as torch does.
"""
from __future__ import annotations

from collections import OrderedDict

from .module import Module


def _index(n: int, idx) -> int:
    """idx as a position in 0 .. n - 1 (negative counts from the end); IndexError otherwise."""
    if not hasattr(idx, "__index__") or isinstance(idx, bool):
        raise TypeError(f"indices must be integers or slices, not {type(idx).__name__}")
    idx = idx.__index__()
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range")
    return idx % n


def _check_module(module, where: str) -> None:
    if not isinstance(module, Module):
        raise TypeError(f"{where}: expected a Module, got {type(module).__name__}")


class _Indexed(Module):
    """What Sequential and ModuleList share: children keyed "0", "1", ... by position."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def _key(self, idx) -> str:
        return list(self._modules)[_index(len(self._modules), idx)]

    def __setitem__(self, idx, module) -> None:
        _check_module(module, f"{type(self).__name__}[{idx}] = ...")
        setattr(self, self._key(idx), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)[idx] if isinstance(idx, slice) else [self._key(idx)]
        for key in keys:
            del self._modules[key]
        values = list(self._modules.values())            # renumber, as torch
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(values))

    def append(self, module: Module):
        _check_module(module, f"{type(self).__name__}.append")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index`` (-len .. len), shifting the rest up."""
        _check_module(module, f"{type(self).__name__}.insert")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range")
        index = index + n if index < 0 else index
        values = list(self._modules.values())
        values.insert(index, module)
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(values))

    def pop(self, idx=-1):
        module = self[idx]
        del self[idx]
        return module

    def __iadd__(self, modules):
        return self.extend(modules)


class Sequential(_Indexed):
    """Modules applied in order: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``, or from an
    ``OrderedDict`` of named modules. Indexing gives a module (int) or a Sequential (slice);
    ``seq[i] = m``, ``del seq[i]``, ``append``, ``insert``, ``extend`` and ``pop`` edit it as torch's."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(len(items), index)][1]


class ModuleList(_Indexed):
    """A list of modules whose parameters are registered (``"0.weight"``, ``"1.weight"``...);
    it has no forward (iterate it). Indexing, assignment, ``del``, ``append``, ``insert``,
    ``extend``, ``pop`` and ``+=`` as a list's."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def __getitem__(self, index):
        items = list(self._modules.values())
        return ModuleList(items[index]) if isinstance(index, slice) else items[_index(len(items), index)]


class ModuleDict(Module):
    """Modules by name, in insertion order, registered under their keys (``"enc.weight"``); as
    torch.nn.ModuleDict: ``d[key]``, ``d[key] = m``, ``del d[key]``, ``in``, ``len``, iteration
    over the keys, ``keys`` / ``values`` / ``items``, ``update``, ``pop`` and ``clear``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        _check_module(module, f"ModuleDict[{key!r}] = ...")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()
