"""torch.nn.functional.pad: constant, reflect, replicate and circular padding.

``pad`` lists (left, right) widths starting from the LAST axis: ``(l, r)`` pads the last axis,
``(l, r, t, b)`` the last two, and so on. Negative widths crop. Constant padding works on any rank
(:func:`.movement.pad`, whose VJP is the central slice); the other modes are index maps
(:class:`tinygan.linops.BoundaryPad`, VJP = adjoint = the border folded back onto the entries it
copies) and, as in PyTorch, pad the last 1, 2 or 3 axes of a (batched or unbatched) input::

    len(pad) == 2: input (C, W) or (N, C, W)
    len(pad) == 4: input (C, H, W) or (N, C, H, W)
    len(pad) == 6: input (C, D, H, W) or (N, C, D, H, W)
"""
from __future__ import annotations

import numbers

from .. import linops
from ..linops.padding import PAD_MODES
from .linear import apply_linear
from .movement import getitem
from .movement import pad as _constant_pad


def _widths(pad, ndim):
    """torch's flat last-axis-first tuple -> numpy's ((before, after), ...) per axis."""
    width = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        width[ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return width


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad(input, pad, mode='constant', value=None); see the module doc."""
    if not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: padding must be a sequence of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {pad}")
    if len(pad) > 2 * input.ndim:
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    width = _widths(pad, input.ndim)
    if mode == "constant":
        return _pad_constant(input, width, 0.0 if value is None else value)
    if mode not in PAD_MODES:
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"pad: Padding size {len(pad)} is not supported for "
                                  f"{input.ndim}D input tensor (mode {mode!r} pads the last 1, 2 "
                                  f"or 3 axes of a {k + 1}D or {k + 2}D input)")
    if mode != "circular":
        checked = input.shape[1:] if input.ndim == k + 2 else input.shape
        if 0 in checked:
            raise RuntimeError(f"pad: Expected {k + 1}D or {k + 2}D (batch mode) tensor with "
                               f"possibly 0 batch size and other non-zero dimensions for input, "
                               f"but got: {list(input.shape)}")
        outs = [n + b + a for n, (b, a) in zip(input.shape[-k:], width[-k:])]
        if max(outs) < 1 or (k == 1 and min(outs) < 1):   # PyTorch allows some empty axes in 2-D/3-D
            raise RuntimeError(f"pad: input {list(input.shape[-k:])} is too small for padding "
                               f"{pad} (mode {mode!r}): calculated output {outs}")
    op = linops.BoundaryPad(input.shape, width, mode, dtype=input.dtype)
    return apply_linear(op, input)


def _pad_constant(input, width, value):
    """Constant padding; negative widths crop first (PyTorch's constant_pad_nd)."""
    if any(b < 0 or a < 0 for b, a in width):
        for axis, ((b, a), n) in enumerate(zip(width, input.shape)):
            if n + b + a < 0 or n + min(b, 0) + min(a, 0) < 0:
                raise RuntimeError(f"pad: The input size {n}, plus negative padding {b} and {a} "
                                   f"resulted in a negative output size, which is invalid. Check "
                                   f"dimension {axis} of your input.")
        index = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(width, input.shape))
        input = getitem(input, index)
        width = [(max(b, 0), max(a, 0)) for b, a in width]
    if all(w == (0, 0) for w in width):
        return input
    return _constant_pad(input, width, value)
