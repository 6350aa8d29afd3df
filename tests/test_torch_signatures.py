"""torch.nn.functional's and torch.nn's call signatures: every F function and nn module class
that tinygan names as torch does takes torch's positional parameters, in torch's order, under
torch's names (torch's deprecated ``size_average`` / ``reduce`` and private ``_stacklevel`` aside),
so that code written for torch -- positional arguments included -- runs unchanged. tinygan may
add its own parameters after torch's (``generator=``)."""
from __future__ import annotations

import inspect

import pytest

import tinygan.nn as nn
import tinygan.nn.functional as TF

torch = pytest.importorskip("torch")
F = torch.nn.functional
SKIP = {"size_average", "reduce", "_stacklevel"}
# torch parameters tinygan does not offer (say why): embedding's max-norm renormalisation and
# sparse gradients; mse / l1 loss's per-element `weight` (new in torch 2.6)
NOT_OFFERED = {"embedding": "max_norm", "Embedding": "max_norm", "mse_loss": "weight", "l1_loss": "weight"}


def _positional(fn) -> list:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):          # a builtin without a signature
        return None
    return [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD and p.name not in SKIP | {"self"}]


def _pairs(names_of_torch, ours, theirs, init=False):
    for name in sorted(names_of_torch):
        if name.startswith("_") or not hasattr(ours, name):
            continue
        a, b = getattr(ours, name), getattr(theirs, name)
        if init and not (isinstance(a, type) and isinstance(b, type)):
            continue
        if not init and not callable(a):
            continue
        yield name, (a.__init__ if init else a), (b.__init__ if init else b)


def _check(name, ours, theirs):
    mine, torchs = _positional(ours), _positional(theirs)
    if mine is None or torchs is None:
        return None
    if name in NOT_OFFERED:
        torchs = torchs[:torchs.index(NOT_OFFERED[name])]
    return None if mine[:len(torchs)] == torchs else f"{name}: torch {torchs}, tinygan {mine}"


def test_functional_signatures_match_torch():
    bad = [m for n, a, b in _pairs(dir(F), TF, F) if (m := _check(n, a, b))]
    assert not bad, "\n".join(bad)


def test_module_constructor_signatures_match_torch():
    bad = [m for n, a, b in _pairs(dir(torch.nn), nn, torch.nn, init=True) if (m := _check(n, a, b))]
    assert not bad, "\n".join(bad)
