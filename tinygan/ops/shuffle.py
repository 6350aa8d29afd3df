"""Sub-pixel rearrangements with torch.nn.functional's names: pixel_shuffle and its inverse
pixel_unshuffle (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
Efficient Sub-Pixel Convolutional Neural Network").

    pixel_shuffle   (*, C r^2, H, W) -> (*, C, H r, W r),  out[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w]
    pixel_unshuffle (*, C, H r, W r) -> (*, C r^2, H, W),  its inverse

Each is a reshape, a permutation of axes and a reshape: a permutation of the entries, so its VJP
(from reshape's and permute's) is the inverse permutation -- pixel_shuffle's adjoint is
pixel_unshuffle with the same factor, and the reverse. Any dtype; grads of grads come for free.
"""
from __future__ import annotations

from .movement import permute, reshape


def _check(op, input, factor, what):
    if input.ndim < 3:
        raise RuntimeError(f"{op}: expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s) (shape {input.shape})")
    if int(factor) != factor or factor <= 0:
        raise RuntimeError(f"{op}: expects a positive {what}, but got {factor}")
    return int(factor)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r) for r = ``upscale_factor``."""
    r = _check("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)={c} is not "
                           f"divisible by {r * r} (shape {input.shape})")
    b = len(batch)
    x = reshape(input, tuple(batch) + (c // (r * r), r, r, h, w))
    x = permute(x, tuple(range(b)) + tuple(b + k for k in (0, 3, 1, 4, 2)))
    return reshape(x, tuple(batch) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W) for r = ``downscale_factor``."""
    r = _check("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *batch, c, h, w = input.shape
    for name, k, n in (("height", -2, h), ("width", -1, w)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle: expects {name} to be divisible by "
                               f"downscale_factor, but input.size({k})={n} is not divisible by {r} "
                               f"(shape {input.shape})")
    b = len(batch)
    x = reshape(input, tuple(batch) + (c, h // r, r, w // r, r))
    x = permute(x, tuple(range(b)) + tuple(b + k for k in (0, 2, 4, 1, 3)))
    return reshape(x, tuple(batch) + (c * r * r, h // r, w // r))


__all__ = ["pixel_shuffle", "pixel_unshuffle"]
