"""1-D convolution layers with torch.nn's names, weight layouts and default initialisation:
Conv1d and ConvTranspose1d, the 1-D twins of :class:`tinygan.nn.Conv2d` /
:class:`tinygan.nn.ConvTranspose2d` (same ``_ConvNd`` base, sizes kept as 1-tuples as torch does)
over the ops :func:`tinygan.ops.conv.conv1d` / :func:`conv_transpose1d` (conv2d with H = 1).

Init (torch's): weight ~ U(-b, b), b = 1 / sqrt(fan_in) (kaiming_uniform_ with a = sqrt 5), the
same bound for the bias; fan_in = (C_in / groups) K for Conv1d and (C_out / groups) K for
ConvTranspose1d (the weight's dim 1 times K, as torch computes it). Unbatched (C, L) input
gives (C_out, L_out), as torch.
"""
from __future__ import annotations

from ..ops.conv import conv1d, conv_transpose1d
from ..ops.movement import reshape
from . import functional as F
from .layers import _ConvNd, _ConvTransposeNd

_MODES = ("zeros", "reflect", "replicate", "circular")


def _single(v, name):
    if isinstance(v, int):
        return (v,)
    v = tuple(int(a) for a in v)
    if len(v) != 1:
        raise ValueError(f"{name} must be an int or a 1-tuple, got {v}")
    return v


def _batched(op, x, run):
    """Run ``run`` on (N, C, L); a (C, L) input is a batch of one, as torch."""
    if x.ndim == 2:
        y = run(reshape(x, (1,) + x.shape))
        return reshape(y, y.shape[1:])
    if x.ndim != 3:
        raise RuntimeError(f"{op}: Expected 2D (unbatched) or 3D (batched) input, but got input "
                           f"of shape {x.shape}")
    return run(x)


class Conv1d(_ConvNd):
    """(N, C_in, L) -> (N, C_out, L_out), L_out = (L + 2p - d(k-1) - 1) // s + 1.

    weight (C_out, C_in/groups, K), bias (C_out,); ``padding`` an int, a 1-tuple, "same" or
    "valid"; ``padding_mode`` zeros / reflect / replicate / circular."""
    _ntuple = staticmethod(_single)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None, generator=None):
        if padding_mode not in _MODES:
            raise ValueError(f"Conv1d: padding_mode must be one of {_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if padding == "same" and stride not in (1, (1,)):
            raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, 0, dtype, device, generator)
        self.padding_mode = padding_mode
        # F.pad's (left, right), then an unpadded conv: for the padding modes, and for 'same' with
        # an odd total d(k-1) (torch puts the extra zero at the end; the conv op pads evenly)
        total = (0 if padding == "valid" else self.dilation[0] * (self.kernel_size[0] - 1)
                 if padding == "same" else 2 * self.padding[0])
        self._pad_first = None
        if padding_mode != "zeros" or total % 2:
            mode = "constant" if padding_mode == "zeros" else padding_mode
            self._pad_first = (mode, (total // 2, total - total // 2))

    def extra_repr(self):
        mode = "" if self.padding_mode == "zeros" else f", padding_mode={self.padding_mode}"
        return super().extra_repr() + mode

    def forward(self, x):
        if self._pad_first is not None:
            mode, pads = self._pad_first
            return _batched("Conv1d", x, lambda a: conv1d(
                F.pad(a, pads, mode), self.weight, self.bias, self.stride, 0, self.dilation,
                self.groups))
        return _batched("Conv1d", x, lambda a: conv1d(a, self.weight, self.bias, self.stride,
                                                      self.padding, self.dilation, self.groups))


class ConvTranspose1d(_ConvTransposeNd):
    """(N, C_in, L) -> (N, C_out, L_out), L_out = (L-1)s - 2p + d(k-1) + output_padding + 1: the
    adjoint of Conv1d with the same weight (layout (C_in, C_out/groups, K)), plus bias.
    ``forward(x, output_size=None)``: giving the wanted L_out chooses output_padding."""
    _ntuple = staticmethod(_single)

    def forward(self, x, output_size=None):
        pad = self._output_padding(x, output_size)
        return _batched("ConvTranspose1d", x, lambda a: conv_transpose1d(
            a, self.weight, self.bias, self.stride, self.padding, pad, self.groups, self.dilation))
