"""torch.nn.functional.unfold / fold: the im2col linear operator and its adjoint as ops.

    unfold(x)  = A x,    A = :class:`tinygan.linops.Im2col`: (N, C, H, W) -> (N, C k1 k2, L)
    fold(y)    = A^T y,  A^T = :class:`tinygan.linops.Col2im`: (N, C k1 k2, L) -> (N, C, H, W)

Row c k1 k2 + r k2 + t of column l = i Wo + j holds x_pad[c, s1 i + d1 r, s2 j + d2 t], with the
window grid Ho x Wo, Ho = (H + 2 p1 - d1 (k1 - 1) - 1) // s1 + 1 (Wo alike), L = Ho Wo. fold adds
each column back onto its window (overlaps summed, padding cropped): it *is* unfold's adjoint,
<unfold(x), y> = <x, fold(y)>, not its inverse (fold(unfold(x)) multiplies each pixel by the
number of windows covering it). Both run through :func:`tinygan.ops.apply_linear`, so the VJP of
unfold is fold and that of fold is unfold, and grads of grads close over the pair. Unbatched
inputs ((C, H, W) for unfold, (C k1 k2, L) for fold) are handled as a batch of one, as torch.
"""
from __future__ import annotations

from ..linops import Col2im, Im2col
from ..linops.shapes import pair
from ._util import require_float
from .linear import apply_linear
from .movement import reshape


def _params(op, kernel_size, dilation, padding, stride):
    out = []
    for name, v, low in (("kernel_size", kernel_size, 1), ("dilation", dilation, 1),
                         ("padding", padding, 0), ("stride", stride, 1)):
        if isinstance(v, (tuple, list)) and len(v) != 2:
            raise RuntimeError(f"{op}: It is expected {name} equals to 2, but got size {len(v)}")
        v = pair(v, name, op)
        if min(v) < low:
            raise RuntimeError(f"{op}: {name} should be {'non-negative' if low == 0 else 'greater than zero'}, "
                               f"but got {v}")
        out.append(v)
    return out


def _grid(op, size, k, d, p, s):
    """Window positions along each spatial axis, or torch's error when there are none."""
    grid = tuple((n + 2 * pi - di * (ki - 1) - 1) // si + 1 for n, ki, di, pi, si in zip(size, k, d, p, s))
    if min(grid) < 1:
        raise RuntimeError(f"{op}: Given input with spatial size {tuple(size)}, kernel_size={k}, "
                           f"dilation={d}, padding={p}, calculated shape of the array of sliding "
                           f"blocks as {grid}, but its components must be at least one.")
    return grid


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding k1 x k2 windows of (N, C, H, W) (or (C, H, W)) as columns: (N, C k1 k2, L)."""
    require_float(input, "unfold")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D, shape {input.shape})")
    k, d, p, s = _params("unfold", kernel_size, dilation, padding, stride)
    x = input if input.ndim == 4 else reshape(input, (1,) + input.shape)
    _grid("unfold", x.shape[2:], k, d, p, s)
    out = apply_linear(Im2col(x.shape, k, s, p, d, dtype=x.dtype), x)
    return out if input.ndim == 4 else reshape(out, out.shape[1:])


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns (N, C k1 k2, L) (or (C k1 k2, L)) summed back onto their windows of an image
    (N, C, *output_size): the adjoint of :func:`unfold`."""
    require_float(input, "fold")
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(f"fold: Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: {list(input.shape)}")
    k, d, p, s = _params("fold", kernel_size, dilation, padding, stride)
    size = pair(output_size, "output_size", "fold")
    y = input if input.ndim == 3 else reshape(input, (1,) + input.shape)
    if y.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"fold: Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={y.shape[1]} and "
                           f"kernel_size={k}")
    ho, wo = _grid("fold", size, k, d, p, s)
    if ho * wo != y.shape[2]:
        raise RuntimeError(f"fold: Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to match "
                           f"the calculated number of sliding blocks {ho} * {wo} = {ho * wo}, but got "
                           f"input.size(2)={y.shape[2]}")
    out = apply_linear(Col2im(y.shape, size, k, s, p, d, dtype=y.dtype), y)
    return out if input.ndim == 3 else reshape(out, out.shape[1:])


__all__ = ["unfold", "fold"]
