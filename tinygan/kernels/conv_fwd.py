"""Triton conv2d forward as an implicit GEMM (no im2col buffer).

Index math
----------
x (N, C, H, W), w (O, Cg, R, S), y (N, O, Ho, Wo), all C-contiguous; G groups, Cg = C/G,
Og = O/G. Per group g the convolution is one GEMM of M = N*Ho*Wo rows (output pixels),
Og columns (output channels) and K = Cg*R*S reduction terms (input channel, tap)::

    Y_g[m, o] = sum_k A[m, k] * B[k, o]
    m = n*Ho*Wo + i*Wo + j                  k = c*R*S + r*S + t
    A[m, k] = x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]   (0 where that is padding)
    B[k, o] = w[g*Og + o, c, r, t]          = w_flat[(g*Og + o)*K + k]
    y[n, g*Og + o, i, j] = Y_g[m, o]

A is gathered tile by tile straight from x: the row part of the input coordinate
(``sh*i - ph``) and the column part (``dh*r``) are added as a broadcast, and the mask that
keeps the tap inside the input is the zero padding.

Tiling: program (pid_m, pid_n, g) owns a BM x BN tile of Y_g and walks K in steps of BK,
accumulating in registers (float32 for float32, float64 for float64); its stores are
contiguous along the output pixels of one channel plane.
"""
import triton
import triton.language as tl


@triton.jit
def conv2d_fwd_kernel(x_ptr, w_ptr, y_ptr,
                      C, H, W, O, Ho, Wo, R, S, Cg, Og, M,
                      sh, sw, ph, pw, dh, dw,
                      BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
                      USE_DOT: tl.constexpr, INPUT_PRECISION: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    g = tl.program_id(2)
    RS = R * S
    K = Cg * RS
    HoWo = Ho * Wo
    HW = H * W

    offs_m = pid_m * BM + tl.arange(0, BM)
    offs_o = pid_n * BN + tl.arange(0, BN)
    m_ok = offs_m < M
    o_ok = offs_o < Og
    n = offs_m // HoWo
    pix = offs_m % HoWo
    h0 = (pix // Wo) * sh - ph          # input row of tap r = 0
    w0 = (pix % Wo) * sw - pw
    x_row = (n * C + g * Cg) * HW       # first channel of group g in sample n

    acc = tl.zeros((BM, BN), dtype=y_ptr.dtype.element_ty)
    for k0 in range(0, K, BK):
        k = k0 + tl.arange(0, BK)
        k_ok = k < K
        c = k // RS
        r = (k % RS) // S
        t = k % S
        hi = h0[:, None] + (r * dh)[None, :]
        wi = w0[:, None] + (t * dw)[None, :]
        a_mask = (m_ok[:, None] & k_ok[None, :] & (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W))
        a = tl.load(x_ptr + x_row[:, None] + (c * HW)[None, :] + hi * W + wi, mask=a_mask, other=0.0)
        b = tl.load(w_ptr + (g * Og + offs_o)[None, :] * K + k[:, None],
                    mask=k_ok[:, None] & o_ok[None, :], other=0.0)
        if USE_DOT:
            acc += tl.dot(a, b, input_precision=INPUT_PRECISION)
        else:
            acc += tl.sum(a[:, :, None] * b[None, :, :], axis=1)

    y_off = ((n * O + g * Og) * HoWo + pix)[:, None] + offs_o[None, :] * HoWo
    tl.store(y_ptr + y_off, acc, mask=m_ok[:, None] & o_ok[None, :])
