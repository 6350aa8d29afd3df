"""ParameterList and ParameterDict with torch.nn's names: Parameters held in a list or a dict and
registered under their index ("0", "1", ...) or key, so ``parameters()``, ``state_dict()``, ``.to``
and the optimisers see them (the module containers are in :mod:`.container`).

As torch, a plain Tensor put into either is wrapped in a Parameter (sharing its array, requiring
grad); anything else is a TypeError naming the container and the slot.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from ..tensor import Tensor
from .module import Module, Parameter


def _as_parameter(value, where: str) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{where}: expected a Parameter or Tensor, got {type(value).__name__}")


def _listing(container, pairs) -> str:
    """torch's layout: one "(key): Parameter containing: [dtype of size AxB]" line per entry."""
    lines = [f"  ({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
             for k, p in pairs]
    name = type(container).__name__
    return f"{name}(\n" + "\n".join(lines) + "\n)" if lines else f"{name}()"


class ParameterList(Module):
    """Parameters in a list, registered as "0", "1", ...: ``p[i]`` (a slice gives a new
    ParameterList of the same Parameters), ``p[i] = t``, ``len``, iteration, ``append``,
    ``extend`` and ``+=``."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, index) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ParameterList: index {index} is out of range for {n} parameters")
        return int(index) % n

    def __getitem__(self, index):
        items = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(items[index])
        return items[self._index(index)]

    def __setitem__(self, index, value) -> None:
        i = self._index(index)
        self.register_parameter(str(i), _as_parameter(value, f"ParameterList[{index}] = ..."))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters.values()))

    def __iadd__(self, values):
        return self.extend(values)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value) -> "ParameterList":
        n = len(self)
        self.register_parameter(str(n), _as_parameter(value, f"ParameterList.append (slot {n})"))
        return self

    def extend(self, values) -> "ParameterList":
        if isinstance(values, Tensor):
            raise TypeError("ParameterList.extend should be called with an iterable of Parameters, "
                            f"but got a Tensor of shape {values.shape}")
        for v in values:
            self.append(v)
        return self

    def __repr__(self):
        return _listing(self, enumerate(self))


class ParameterDict(Module):
    """Parameters by string key, in insertion order: ``d[key]``, ``d[key] = t``, ``del d[key]``,
    ``in``, ``len``, iteration over the keys, ``keys`` / ``values`` / ``items``, ``get``,
    ``update`` (a mapping or (key, value) pairs), ``pop``, ``setdefault`` and ``clear``. A plain
    dict given to the constructor or ``update`` is taken in sorted key order, as torch does."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__}")
        self.register_parameter(key, _as_parameter(value, f"ParameterDict[{key!r}] = ..."))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters))

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        self._parameters.clear()

    def update(self, parameters) -> None:
        """As torch: an OrderedDict or ParameterDict in its order, any other mapping in sorted
        key order, else an iterable of (key, value) pairs in its order."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for i, pair in enumerate(pairs):
            try:
                key, value = pair
            except (TypeError, ValueError):
                raise ValueError(f"ParameterDict.update: element #{i} of the sequence should be a "
                                 f"(key, value) pair, got {pair!r}") from None
            self[key] = value

    def __repr__(self):
        return _listing(self, self.items())
