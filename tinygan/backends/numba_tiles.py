"""Numba building blocks of the conv kernels (:mod:`tinygan.backends.numba_conv`): the two GEMM
tile loops and the layout / packing passes around them.

Two GEMM loop forms, both written so that LLVM vectorises them (AVX-512 on a host that has it):

* "dot form" (:func:`_dot4x4`, :func:`_tile_gemm`): both packed operands contiguous along the
  reduction axis; a 4x4 register tile of outputs is 16 dot products over the same 8 rows (16
  vector accumulators, 8 loads per 16 FMAs), then 16 horizontal sums. Used for long reductions.
* "axpy form" (:func:`_axpy4`): output pixels innermost; 4 output rows x 4 reduction steps per
  pass over a pixel row (16 FMAs per 4 loads + 4 load/stores of the output row, no horizontal
  sums). Used for short reductions (a 1-channel input's 25 taps), where the dot form's
  horizontal sums dominate.

Layout passes: NCHW -> NHWC (:func:`_nchw_to_nhwc`), dy channel-first (:func:`_pack_channels_first`),
zero padding (:func:`_pad_input`), one image's im2col (:func:`_im2col_image`) and the weight
packed over a list of taps (:func:`_pack_taps`).
"""
from __future__ import annotations

from numba import njit, prange

_OPTS = dict(parallel=True, fastmath=True, cache=True, boundscheck=False, nogil=True)
_SEQ = dict(fastmath=True, cache=True, boundscheck=False, nogil=True, inline="never")


@njit(**_SEQ)
def _dot4x4(a0, a1, a2, a3, b0, b1, b2, b3, n, zero):
    """16 dot products of 4 rows of A with 4 rows of B over [0, n)."""
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = zero
    c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = zero
    for k in range(n):
        x0 = a0[k]
        x1 = a1[k]
        x2 = a2[k]
        x3 = a3[k]
        y0 = b0[k]
        y1 = b1[k]
        y2 = b2[k]
        y3 = b3[k]
        c00 += x0 * y0
        c01 += x0 * y1
        c02 += x0 * y2
        c03 += x0 * y3
        c10 += x1 * y0
        c11 += x1 * y1
        c12 += x1 * y2
        c13 += x1 * y3
        c20 += x2 * y0
        c21 += x2 * y1
        c22 += x2 * y2
        c23 += x2 * y3
        c30 += x3 * y0
        c31 += x3 * y1
        c32 += x3 * y2
        c33 += x3 * y3
    return (c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33)


@njit(**_SEQ)
def _dot1x8(a0, b0, b1, b2, b3, b4, b5, b6, b7, n, zero):
    """8 dot products of one row of A with 8 rows of B (for M = 1: no zero rows of A)."""
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = zero
    for k in range(n):
        x = a0[k]
        c0 += x * b0[k]
        c1 += x * b1[k]
        c2 += x * b2[k]
        c3 += x * b3[k]
        c4 += x * b4[k]
        c5 += x * b5[k]
        c6 += x * b6[k]
        c7 += x * b7[k]
    return (c0, c1, c2, c3, c4, c5, c6, c7)


@njit(**_SEQ)
def _tile_gemm(A, B, acc, kdim, nq, kb, zero):
    """acc[m, q] = sum_k A[m, k] * B[q, k] for m < A.shape[0], q < nq (both multiples of 4, or
    8 for q when A has one row), blocked over k by kb."""
    mp = A.shape[0]
    for m in range(mp):
        for q in range(nq):
            acc[m, q] = zero
    for k0 in range(0, kdim, kb):
        k1 = min(kdim, k0 + kb)
        kn = k1 - k0
        if mp == 1:
            a0 = A[0, k0:k1]
            for q in range(0, nq, 8):
                t = _dot1x8(a0, B[q, k0:k1], B[q + 1, k0:k1], B[q + 2, k0:k1], B[q + 3, k0:k1],
                            B[q + 4, k0:k1], B[q + 5, k0:k1], B[q + 6, k0:k1], B[q + 7, k0:k1],
                            kn, zero)
                for e in range(8):
                    acc[0, q + e] += t[e]
            continue
        for m in range(0, mp, 4):
            a0 = A[m, k0:k1]
            a1 = A[m + 1, k0:k1]
            a2 = A[m + 2, k0:k1]
            a3 = A[m + 3, k0:k1]
            for q in range(0, nq, 4):
                t = _dot4x4(a0, a1, a2, a3, B[q, k0:k1], B[q + 1, k0:k1], B[q + 2, k0:k1],
                            B[q + 3, k0:k1], kn, zero)
                for e in range(4):
                    acc[m + e, q] += t[4 * e]
                    acc[m + e, q + 1] += t[4 * e + 1]
                    acc[m + e, q + 2] += t[4 * e + 2]
                    acc[m + e, q + 3] += t[4 * e + 3]


@njit(**_SEQ)
def _axpy4(A, BT, acc, kdim, nq, zero):
    """acc[m, :nq] = sum_k A[m, k] * BT[k, :nq] for m < A.shape[0] (a multiple of 4), kdim a
    multiple of 4 (A and BT zero-padded). Output pixels innermost: 4 rows x 4 k per pass, 16 FMAs
    per 4 loads of BT and 4 load/stores of acc, no horizontal sums (for short reductions)."""
    mp = A.shape[0]
    for m in range(0, mp, 4):
        c0 = acc[m, :nq]
        c1 = acc[m + 1, :nq]
        c2 = acc[m + 2, :nq]
        c3 = acc[m + 3, :nq]
        for q in range(nq):
            c0[q] = zero
            c1[q] = zero
            c2[q] = zero
            c3[q] = zero
        for k in range(0, kdim, 4):
            b0 = BT[k, :nq]
            b1 = BT[k + 1, :nq]
            b2 = BT[k + 2, :nq]
            b3 = BT[k + 3, :nq]
            a00, a01, a02, a03 = A[m, k], A[m, k + 1], A[m, k + 2], A[m, k + 3]
            a10, a11, a12, a13 = A[m + 1, k], A[m + 1, k + 1], A[m + 1, k + 2], A[m + 1, k + 3]
            a20, a21, a22, a23 = A[m + 2, k], A[m + 2, k + 1], A[m + 2, k + 2], A[m + 2, k + 3]
            a30, a31, a32, a33 = A[m + 3, k], A[m + 3, k + 1], A[m + 3, k + 2], A[m + 3, k + 3]
            for q in range(nq):
                y0 = b0[q]
                y1 = b1[q]
                y2 = b2[q]
                y3 = b3[q]
                c0[q] += a00 * y0 + a01 * y1 + a02 * y2 + a03 * y3
                c1[q] += a10 * y0 + a11 * y1 + a12 * y2 + a13 * y3
                c2[q] += a20 * y0 + a21 * y1 + a22 * y2 + a23 * y3
                c3[q] += a30 * y0 + a31 * y1 + a32 * y2 + a33 * y3


@njit(**_OPTS)
def _nchw_to_nhwc(x, out):
    n, c, h, w = x.shape
    for item in prange(n * h):
        nn = item // h
        i = item - nn * h
        for ch in range(c):
            src = x[nn, ch, i]
            for j in range(w):
                out[nn, i, j, ch] = src[j]


@njit(**_OPTS)
def _pack_channels_first(dy, out):
    """out[g, m, p] = dy[n, g*Og + m, i, j] with p = (n, i, j); out is zero-padded past Og."""
    n, o, ho, wo = dy.shape
    groups, mp, _ = out.shape
    og = o // groups
    plane = ho * wo
    for item in prange(groups * mp):
        g = item // mp
        m = item - g * mp
        dst = out[g, m]
        if m >= og:
            dst[:] = 0
            continue
        for nn in range(n):
            src = dy[nn, g * og + m]
            for i in range(ho):
                for j in range(wo):
                    dst[nn * plane + i * wo + j] = src[i, j]


@njit(**_OPTS)
def _pad_input(x, xp, ph, pw):
    """xp[n, c] = x[n, c] zero-padded by ph rows / pw cols on top / left, cropped or zero-filled
    to xp's size (only the rows/cols some window reaches are kept)."""
    n, c, h, w = x.shape
    hn, wn = xp.shape[2], xp.shape[3]
    hi = max(0, min(h, hn - ph))
    wi = max(0, min(w, wn - pw))
    for item in prange(n * c):
        nn = item // c
        ch = item - nn * c
        for i in range(hn):
            if i < ph or i >= ph + hi:
                for j in range(wn):
                    xp[nn, ch, i, j] = 0
                continue
            for j in range(min(pw, wn)):
                xp[nn, ch, i, j] = 0
            for j in range(wi):
                xp[nn, ch, i, pw + j] = x[nn, ch, i - ph, j]
            for j in range(pw + wi, wn):
                xp[nn, ch, i, j] = 0


@njit(**_OPTS)
def _pack_taps(w, A, taps_r, taps_c, transpose):
    """Weight (O, Cg, R, S) -> A (G, Mp, Kp) over the listed taps, zero-padded.

    ``transpose=False`` (fwd): ``A[g, o, (ri, ti, c)] = w[g*Og + o, c, taps_r[ri], taps_c[ti]]``;
    ``transpose=True`` (dgrad): ``A[g, c, (ri, ti, o)] = w[g*Og + o, c, taps_r[ri], taps_c[ti]]``.
    """
    o_tot, cg = w.shape[0], w.shape[1]
    groups, mp, kp = A.shape
    og = o_tot // groups
    nr, nt = taps_r.shape[0], taps_c.shape[0]
    m_real = cg if transpose else og
    inner = og if transpose else cg
    kdim = nr * nt * inner
    for item in prange(groups * mp):
        g = item // mp
        m = item - g * mp
        row = A[g, m]
        if m >= m_real:
            for k in range(kp):
                row[k] = 0
            continue
        for ri in range(nr):
            for ti in range(nt):
                base = (ri * nt + ti) * inner
                r = taps_r[ri]
                t = taps_c[ti]
                if transpose:
                    for e in range(inner):
                        row[base + e] = w[g * og + e, m, r, t]
                else:
                    for e in range(inner):
                        row[base + e] = w[g * og + m, e, r, t]
        for k in range(kdim, kp):
            row[k] = 0


@njit(**_SEQ)
def _im2col_image(xp, nn, c0, cg, kr, ks, ho, wo, sh, sw, dh, dw, cols, zero):
    """cols[(c, r, t), (i, j)] = xp[nn, c0 + c, sh*i + dh*r, sw*j + dw*t] for one image of the
    zero-padded input; rows past cg*kr*ks are zeroed up to cols.shape[0]."""
    c_tot, hn, wn = xp.shape[1], xp.shape[2], xp.shape[3]
    xf = xp.reshape(-1)
    kdim = cg * kr * ks
    for k in range(cols.shape[0]):
        dst = cols[k]
        if k >= kdim:
            for q in range(ho * wo):
                dst[q] = zero
            continue
        c = k // (kr * ks)
        rt = k - c * kr * ks
        r = rt // ks
        t = rt - r * ks
        for i in range(ho):
            src0 = ((nn * c_tot + c0 + c) * hn + sh * i + dh * r) * wn + dw * t
            base = i * wo
            for j in range(wo):
                dst[base + j] = xf[src0 + sw * j]
