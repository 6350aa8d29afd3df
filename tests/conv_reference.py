"""Direct-loop conv2d reference for tests (small shapes only).

Deliberately shares nothing with tinygan's kernels: no im2col, no padding buffer, no GEMM. Each
function loops over output positions (i, j) and kernel taps (r, t), skips taps that fall in the
zero padding, and vectorises only over the batch and channel axes (an einsum per tap).

* ``conv2d_ref``:        y[n, o, i, j] = sum_{c, r, t} w[o, c, r, t] x[n, g*Cg + c, s*i + d*r - p, s*j + d*t - p]
* ``conv2d_dgrad_ref``:  the same loop with every multiply-add reversed: it scatters
  ``w[o, c, r, t] * dy[n, o, i, j]`` into ``dx[n, g*Cg + c, s*i + d*r - p, ...]`` (the adjoint in x).
* ``conv2d_wgrad_ref``:  the same loop accumulating ``dy[n, o, i, j] * x[n, ...]`` into
  ``dw[o, c, r, t]`` (the adjoint in w).

Shapes: x (N, C, H, W), w (O, C/groups, R, S), y/dy (N, O, Ho, Wo); stride/padding/dilation are
(h, w) pairs.
"""
from __future__ import annotations

import numpy as np


def _taps(x_hw, y_hw, k_hw, stride, padding, dilation):
    """Yield (i, j, r, t, hi, wi): output pixel, tap, and the input pixel it reads (in bounds only)."""
    (h, w), (ho, wo), (kr, ks) = x_hw, y_hw, k_hw
    for i in range(ho):
        for j in range(wo):
            for r in range(kr):
                hi = stride[0] * i + dilation[0] * r - padding[0]
                if not 0 <= hi < h:
                    continue
                for t in range(ks):
                    wi = stride[1] * j + dilation[1] * t - padding[1]
                    if 0 <= wi < w:
                        yield i, j, r, t, hi, wi


def _group_views(c_total, o_total, groups):
    cg, og = c_total // groups, o_total // groups
    return [(slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)) for g in range(groups)]


def out_hw(x_shape, w_shape, stride, padding, dilation):
    return tuple((x_shape[2 + a] + 2 * padding[a] - dilation[a] * (w_shape[2 + a] - 1) - 1)
                 // stride[a] + 1 for a in range(2))


def conv2d_ref(x, w, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o = w.shape[0]
    ho, wo = out_hw(x.shape, w.shape, stride, padding, dilation)
    y = np.zeros((n, o, ho, wo), dtype=np.result_type(x, w))
    for c_sl, o_sl in _group_views(c, o, groups):
        for i, j, r, t, hi, wi in _taps((h, wd), (ho, wo), w.shape[2:], stride, padding, dilation):
            y[:, o_sl, i, j] += np.einsum("oc,nc->no", w[o_sl, :, r, t], x[:, c_sl, hi, wi])
    return y


def conv2d_dgrad_ref(dy, w, x_shape, stride, padding, dilation, groups):
    n, c, h, wd = x_shape
    o = w.shape[0]
    ho, wo = dy.shape[2:]
    dx = np.zeros(x_shape, dtype=np.result_type(dy, w))
    for c_sl, o_sl in _group_views(c, o, groups):
        for i, j, r, t, hi, wi in _taps((h, wd), (ho, wo), w.shape[2:], stride, padding, dilation):
            dx[:, c_sl, hi, wi] += np.einsum("oc,no->nc", w[o_sl, :, r, t], dy[:, o_sl, i, j])
    return dx


def conv2d_wgrad_ref(x, dy, w_shape, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o = w_shape[0]
    ho, wo = dy.shape[2:]
    dw = np.zeros(w_shape, dtype=np.result_type(x, dy))
    for c_sl, o_sl in _group_views(c, o, groups):
        for i, j, r, t, hi, wi in _taps((h, wd), (ho, wo), w_shape[2:], stride, padding, dilation):
            dw[o_sl, :, r, t] += np.einsum("no,nc->oc", dy[:, o_sl, i, j], x[:, c_sl, hi, wi])
    return dw
