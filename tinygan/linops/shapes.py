"""Shape logic and validation for the convolution family (conv2d, conv_transpose2d).

Layouts are PyTorch's: input ``x`` is ``(N, C, H, W)``; a conv weight is ``(C_out, C_in/groups,
kH, kW)``; a transpose-conv weight is ``(C_in, C_out/groups, kH, kW)``. Output sizes are exactly
PyTorch's, per spatial dimension::

    conv:       out = (size + 2p - d(k-1) - 1) // s + 1
    transpose:  out = (size - 1)s - 2p + d(k-1) + output_padding + 1

Every configuration PyTorch rejects raises ``ValueError`` here, with a message that names the op
and ends with the input and weight shapes, so the kernels (``tinygan.backends``) never see one.
A few corner cases that some PyTorch code path lets through are rejected too: 3-D (unbatched)
input, a transpose-conv output with a 0-sized dimension, dilation 0 with a 1x1 kernel, and
``padding="same"`` with an even effective kernel (PyTorch pads those asymmetrically).
"""
from __future__ import annotations

import numbers

__all__ = ["pair", "conv_output_shape", "conv_transpose_output_shape", "same_padding",
           "conv_transpose_output_padding"]


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def pair(value, name: str, op: str) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(2, 1) -> (2, 1)``; anything else is a ValueError naming ``op``/``name``."""
    if _is_int(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def _shape(shape, what: str, op: str) -> tuple[int, ...]:
    try:
        out = tuple(shape)
    except TypeError:
        raise ValueError(f"{op}: {what} shape must be a sequence of ints, got {shape!r}") from None
    if not all(_is_int(v) for v in out):
        raise ValueError(f"{op}: {what} shape must be a sequence of ints, got {shape!r}")
    return tuple(int(v) for v in out)


class _Checker:
    """Raises ValueError("<op>: <problem> (input shape ..., weight shape ...)")."""

    def __init__(self, op: str, x_shape, w_shape):
        self.op = op
        self.x = _shape(x_shape, "input", op)
        self.w = _shape(w_shape, "weight", op)

    def fail(self, problem: str):
        raise ValueError(f"{self.op}: {problem} (input shape {self.x}, weight shape {self.w})")

    def common(self, stride, padding, dilation, groups=1):
        """Checks shared by conv and transpose conv; returns (stride, padding, dilation) pairs."""
        op = self.op
        if len(self.x) != 4:
            self.fail(f"input must be 4-D (N, C, H, W), got {len(self.x)}-D")
        if len(self.w) != 4:
            self.fail(f"weight must be 4-D, got {len(self.w)}-D")
        if min(self.x) < 0 or min(self.w) < 0:
            self.fail("shapes must not have negative sizes")
        if min(self.x[2:]) < 1:
            self.fail(f"input spatial size {self.x[2:]} must be positive")
        if min(self.w[2:]) < 1:
            self.fail(f"kernel size {self.w[2:]} must be positive")
        if self.w[0] < 1:
            self.fail("weight dim 0 must be >= 1")
        if not _is_int(groups) or groups < 1:
            self.fail(f"groups must be a positive int, got {groups!r}")
        s, p, d = pair(stride, "stride", op), pair(padding, "padding", op), pair(dilation, "dilation", op)
        if min(s) < 1:
            self.fail(f"stride {s} must be >= 1")
        if min(p) < 0:
            self.fail(f"padding {p} must be >= 0 (negative padding is not supported)")
        if min(d) < 1:
            self.fail(f"dilation {d} must be >= 1")
        return s, p, d


def same_padding(kernel_hw, dilation, op: str = "conv2d", *, stride=1) -> tuple[int, int]:
    """Padding for ``padding="same"``: ``d(k-1)//2`` per dimension (output size == input size).

    Only for stride 1 and odd effective kernels ``d(k-1)+1`` (symmetric padding); PyTorch pads an
    even one asymmetrically, which these kernels do not support.
    """
    k, d, s = pair(kernel_hw, "kernel size", op), pair(dilation, "dilation", op), pair(stride, "stride", op)
    if s != (1, 1):
        raise ValueError(f"{op}: padding='same' needs stride 1, got stride {s}")
    if min(k) < 1 or min(d) < 1:
        raise ValueError(f"{op}: padding='same' needs kernel >= 1 and dilation >= 1, got kernel {k}, dilation {d}")
    eff = tuple(d[a] * (k[a] - 1) + 1 for a in range(2))
    if eff[0] % 2 == 0 or eff[1] % 2 == 0:
        raise ValueError(f"{op}: padding='same' needs an odd effective kernel d*(k-1)+1, got {eff} "
                         f"for kernel {k} with dilation {d}")
    return d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2


def conv_output_shape(x_shape, w_shape, stride, padding, dilation, groups,
                      op: str = "conv2d") -> tuple[int, int, int, int]:
    """(N, C_out, H_out, W_out) of ``conv2d(x, w)``; ValueError for anything PyTorch rejects.

    ``padding`` may also be ``"valid"`` (0) or ``"same"`` (see :func:`same_padding`).
    """
    chk = _Checker(op, x_shape, w_shape)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if len(chk.w) == 4:
                padding = same_padding(chk.w[2:], dilation, op, stride=stride)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    s, p, d = chk.common(stride, padding, dilation, groups)
    (n, c, h, w), (c_out, c_in_g, kh, kw) = chk.x, chk.w
    if c_out % groups:
        chk.fail(f"weight's {c_out} output channels are not divisible by groups={groups}")
    if c != c_in_g * groups:
        chk.fail(f"input has {c} channels, expected {c_in_g * groups} "
                 f"(weight's {c_in_g} input channels x groups={groups})")
    eff = (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1)
    padded = (h + 2 * p[0], w + 2 * p[1])
    if eff[0] > padded[0] or eff[1] > padded[1]:
        chk.fail(f"kernel {(kh, kw)} with dilation {d} is larger than the padded input {padded}")
    # eff <= padded makes both sizes >= 1: no separate "non-positive output" case for conv.
    return n, c_out, (padded[0] - eff[0]) // s[0] + 1, (padded[1] - eff[1]) // s[1] + 1


def _check_output_padding(chk: _Checker, op_pad, s, d) -> tuple[int, int]:
    op_pad = pair(op_pad, "output_padding", chk.op)
    if min(op_pad) < 0:
        chk.fail(f"output_padding {op_pad} must be >= 0")
    for a in range(2):
        # PyTorch's rule: smaller than the stride OR than the dilation.
        if not (op_pad[a] < s[a] or op_pad[a] < d[a]):
            chk.fail(f"output_padding {op_pad} must be smaller than either stride {s} or dilation {d}")
    return op_pad


def _transpose_min_size(chk: _Checker, s, p, d) -> tuple[int, int]:
    """Transpose-conv output size with output_padding 0."""
    (_, _, h, w), (_, _, kh, kw) = chk.x, chk.w
    return ((h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + 1,
            (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + 1)


def conv_transpose_output_shape(x_shape, w_shape, stride, padding, output_padding, dilation, groups,
                                op: str = "conv_transpose2d") -> tuple[int, int, int, int]:
    """(N, C_out, H_out, W_out) of ``conv_transpose2d(x, w)``, w being (C_in, C_out/groups, kH, kW)."""
    chk = _Checker(op, x_shape, w_shape)
    s, p, d = chk.common(stride, padding, dilation, groups)
    opad = _check_output_padding(chk, output_padding, s, d)
    (n, c, _, _), (c_in, c_out_g, _, _) = chk.x, chk.w
    if c_in % groups:
        chk.fail(f"weight's {c_in} input channels are not divisible by groups={groups}")
    if c != c_in:
        chk.fail(f"input has {c} channels, expected {c_in} (weight dim 0)")
    lo = _transpose_min_size(chk, s, p, d)
    out = (lo[0] + opad[0], lo[1] + opad[1])
    if min(out) < 1:
        chk.fail(f"output size {out} is not positive")
    return n, c_out_g * groups, out[0], out[1]


def conv_transpose_output_padding(x_shape, w_shape, out_hw, stride, padding, dilation,
                                  op: str = "conv_transpose2d") -> tuple[int, int]:
    """The output_padding that makes ``conv_transpose2d`` produce spatial size ``out_hw``.

    ``out_hw`` is (H, W) or a full (N, C, H, W). Reachable sizes per dimension are
    ``lo .. lo + max(s, d) - 1`` with ``lo`` the size at output_padding 0, because
    conv_transpose2d accepts any output_padding smaller than the stride or the dilation.
    (``nn.ConvTranspose2d(output_size=...)`` in PyTorch only allows up to ``lo + s - 1``.)
    Channel counts are not checked here; :func:`conv_transpose_output_shape` does that.
    """
    chk = _Checker(op, x_shape, w_shape)
    s, p, d = chk.common(stride, padding, dilation)
    if isinstance(out_hw, (tuple, list)) and len(out_hw) == 4:
        out_hw = tuple(out_hw[2:])
    target = pair(out_hw, "output size", op)
    lo = _transpose_min_size(chk, s, p, d)
    hi = (lo[0] + max(s[0], d[0]) - 1, lo[1] + max(s[1], d[1]) - 1)
    if not all(max(lo[a], 1) <= target[a] <= hi[a] for a in range(2)):
        chk.fail(f"output size {target} is unreachable with stride {s}, padding {p}, dilation {d}: "
                 f"valid sizes are {(max(lo[0], 1), max(lo[1], 1))} to {hi} per dimension")
    return target[0] - lo[0], target[1] - lo[1]
