"""Triton conv2d input gradient (dgrad) as an implicit GEMM per stride phase.

Index math
----------
dy (N, O, Ho, Wo), w (O, Cg, R, S), dx (N, C, H, W), C-contiguous; the adjoint of
``y[n, o, i, j] = sum w[o, c, r, t] x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]`` is the
gather::

    dx[n, g*Cg + c, h, v] = sum_{o, r, t} w[g*Og + o, c, r, t] * dy[n, g*Og + o, i, j]
        over the taps with  sh*i = h + ph - dh*r,  sw*j = v + pw - dw*t,  0 <= i < Ho, 0 <= j < Wo

Whether tap r can reach row h depends only on h's stride phase a = h mod sh, so dx is split
into sh*sw phases (one launch each, ``phase_taps`` below runs on the host). For phase a the
taps that reach it are ``r = r0 + rr*step`` (rr < nr, ``step = sh / gcd(sh, dh)``) and for
``h = a + sh*u``::

    i = u + i0 - rr*di        i0 = (a + ph - dh*r0) / sh,   di = dh*step / sh   (exact)

(likewise t0, nt, j0, dj along the width). Per phase and group it is a GEMM with
M = N*Hu*Wu rows (dx pixels of the phase, Hu = ceil((H - a)/sh)), Cg columns and
K = Og*nr*nt terms; no multiply is spent on a tap that misses (no zero-inserted dy). A dy row
out of range (padding, or a dy smaller than conv's natural output: transpose conv with
output_padding >= stride) reads as 0. A phase with no taps writes zeros (K = 0). Every dx
element belongs to exactly one phase and is written once: no atomics, no memset.

    A[m, k] = dy[n, g*Og + o, u + i0 - rr*di, v + j0 - tt*dj]      m = (n, u, v), k = (o, rr, tt)
    B[k, c] = w[g*Og + o, c, r0 + rr*step_h, t0 + tt*step_w]

Tiling: program (pid_m, pid_n, g) owns a BM x BN tile (dx pixels x input channels) of one
phase and walks K in steps of BK, accumulating in registers.
"""
import math

import triton
import triton.language as tl


def phase_taps(a, stride, pad, dil, k):
    """Taps of a kernel of size ``k`` that reach output rows ``a + stride*u``, along one axis:
    ``(r0, step, count, i0, di)`` as in the module docstring (count 0: no tap reaches them)."""
    step = stride // math.gcd(stride, dil)
    for r0 in range(min(k, step)):
        if (a + pad - dil * r0) % stride == 0:
            count = (k - r0 + step - 1) // step
            return r0, step, count, (a + pad - dil * r0) // stride, dil * step // stride
    return 0, step, 0, 0, 0


@triton.jit
def conv2d_dgrad_kernel(dy_ptr, w_ptr, dx_ptr,
                        C, H, W, O, Ho, Wo, R, S, Cg, Og,
                        a_h, a_w, Hu, Wu, M, sh, sw,
                        r0, r_step, nr, i0, di,
                        t0, t_step, nt, j0, dj,
                        BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
                        USE_DOT: tl.constexpr, INPUT_PRECISION: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    g = tl.program_id(2)
    taps = nr * nt
    K = Og * taps
    HoWo = Ho * Wo
    HW = H * W

    offs_m = pid_m * BM + tl.arange(0, BM)
    offs_c = pid_n * BN + tl.arange(0, BN)
    m_ok = offs_m < M
    c_ok = offs_c < Cg
    n = offs_m // (Hu * Wu)
    u = (offs_m % (Hu * Wu)) // Wu
    v = offs_m % Wu
    dy_row = (n * O + g * Og) * HoWo    # first channel of group g in sample n

    acc = tl.zeros((BM, BN), dtype=dx_ptr.dtype.element_ty)
    for k0 in range(0, K, BK):
        k = k0 + tl.arange(0, BK)
        k_ok = k < K
        o = k // taps
        rr = (k % taps) // nt
        tt = k % nt
        i = u[:, None] + i0 - (rr * di)[None, :]
        j = v[:, None] + j0 - (tt * dj)[None, :]
        a_mask = m_ok[:, None] & k_ok[None, :] & (i >= 0) & (i < Ho) & (j >= 0) & (j < Wo)
        a = tl.load(dy_ptr + dy_row[:, None] + (o * HoWo)[None, :] + i * Wo + j, mask=a_mask, other=0.0)
        tap = (r0 + rr * r_step) * S + t0 + tt * t_step
        b_off = ((g * Og + o)[:, None] * Cg + offs_c[None, :]) * (R * S) + tap[:, None]
        b = tl.load(w_ptr + b_off, mask=k_ok[:, None] & c_ok[None, :], other=0.0)
        if USE_DOT:
            acc += tl.dot(a, b, input_precision=INPUT_PRECISION)
        else:
            acc += tl.sum(a[:, :, None] * b[None, :, :], axis=1)

    dx_pix = (a_h + sh * u) * W + a_w + sw * v
    dx_off = ((n * C + g * Cg) * HW + dx_pix)[:, None] + offs_c[None, :] * HW
    tl.store(dx_ptr + dx_off, acc, mask=m_ok[:, None] & c_ok[None, :])
