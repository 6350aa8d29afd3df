"""Triton conv2d weight gradient (wgrad) as an implicit GEMM, split over output pixels.

Index math
----------
x (N, C, H, W), dy (N, O, Ho, Wo), dw (O, Cg, R, S), C-contiguous. The adjoint of
``w -> conv2d(x, w)`` contracts over every output pixel p = (n, i, j) of dy::

    dw_g[o, k] = sum_p A[o, p] * B[p, k]        p = n*Ho*Wo + i*Wo + j,   k = c*R*S + r*S + t
    A[o, p] = dy[n, g*Og + o, i, j]
    B[p, k] = x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]      (0 where that is padding)
    dw[g*Og + o, c, r, t] = dw_g[o, k]

(Ho, Wo) are dy's: a dy smaller than conv's natural output (transpose conv with
output_padding >= stride) simply has fewer pixels to sum.

Tiling: the output is small (Og x Cg*R*S) and the reduction long (P = N*Ho*Wo pixels), so the
reduction is split: program (pid_m, pid_n, g*SPLITS + s) owns a BM x BN tile of dw_g and sums
the pixels ``[s*chunk, (s+1)*chunk)`` in steps of BK, writing its partial sum to
``partial[s, g*Og + o, k]`` (shape (SPLITS, O, Cg*R*S)); the launcher adds the SPLITS partials
(a fixed-order sum: deterministic, unlike atomics). With SPLITS = 1 ``partial`` is dw itself.
The (c, r, t) decomposition of a program's columns is computed once, outside the loop.
"""
import triton
import triton.language as tl


@triton.jit
def conv2d_wgrad_kernel(x_ptr, dy_ptr, partial_ptr,
                        C, H, W, O, Ho, Wo, R, S, Cg, Og, P, chunk, SPLITS,
                        sh, sw, ph, pw, dh, dw,
                        BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
                        USE_DOT: tl.constexpr, INPUT_PRECISION: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    g = tl.program_id(2) // SPLITS
    split = tl.program_id(2) % SPLITS
    RS = R * S
    K = Cg * RS
    HoWo = Ho * Wo
    HW = H * W

    offs_o = pid_m * BM + tl.arange(0, BM)
    offs_k = pid_n * BN + tl.arange(0, BN)
    o_ok = offs_o < Og
    k_ok = offs_k < K
    c = offs_k // RS
    dh_r = ((offs_k % RS) // S) * dh
    dw_t = (offs_k % S) * dw

    p_begin = split * chunk
    p_end = tl.minimum(P, p_begin + chunk)
    acc = tl.zeros((BM, BN), dtype=partial_ptr.dtype.element_ty)
    for p0 in range(p_begin, p_end, BK):
        p = p0 + tl.arange(0, BK)
        p_ok = p < p_end
        n = p // HoWo
        pix = p % HoWo
        a_off = ((n * O + g * Og) * HoWo + pix)[None, :] + offs_o[:, None] * HoWo
        a = tl.load(dy_ptr + a_off, mask=o_ok[:, None] & p_ok[None, :], other=0.0)
        hi = ((pix // Wo) * sh - ph)[:, None] + dh_r[None, :]
        wi = ((pix % Wo) * sw - pw)[:, None] + dw_t[None, :]
        b_mask = p_ok[:, None] & k_ok[None, :] & (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W)
        b_off = ((n * C + g * Cg) * HW)[:, None] + (c * HW)[None, :] + hi * W + wi
        b = tl.load(x_ptr + b_off, mask=b_mask, other=0.0)
        if USE_DOT:
            acc += tl.dot(a, b, input_precision=INPUT_PRECISION)
        else:
            acc += tl.sum(a[:, :, None] * b[None, :, :], axis=1)

    out_off = split * O * K + (g * Og + offs_o)[:, None] * K + offs_k[None, :]
    tl.store(partial_ptr + out_off, acc, mask=o_ok[:, None] & k_ok[None, :])
