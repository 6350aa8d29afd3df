"""Numba conv kernels (helpers of :mod:`tinygan.backends.numba_cpu`; see its docstring for why).

Two GEMM loop forms (in :mod:`.numba_tiles`, with the layout passes): the "dot form" (a 4x4
register tile of dot products, both operands contiguous along the reduction) for reductions of
``_SMALL_K`` or more, and the "axpy form" (output pixels innermost, no horizontal sums) for
shorter ones.

Kernels (index math and conventions: reference, the spec):

* fwd, dot form: ``y[n, g*Og+m, i, j] = sum_{r,t,c} Wp[g, m, (r,t,c)] * xT[n, sh*i + dh*r - ph,
  sw*j + dw*t - pw, g*Cg+c]`` with ``xT`` = x channel-last (N, H, W, C), so each (r, t) tap of a
  pixel's packed row is one contiguous run of Cg channels; tiles of ``_PB`` output pixels.
* fwd, axpy form: per image, im2col of the zero-padded x (rows (c, r, t), columns pixels) times
  the weight (O, C/G*R*S).
* dgrad, dot form (gather form, no scatter): dx's pixel ``(h, w) = (sh*u + a, sw*v + b)`` of
  phase (a, b) only receives the taps with ``(a + ph - dh*r) % sh == 0``, from dy row
  ``u + (a + ph - dh*r) // sh`` (likewise columns). Per phase that is the fwd GEMM over dy
  channel-last with the phase's taps only: no zero-inserted dy, no FMA on a structural zero,
  every dx element written once (threads never collide). Out-of-range dy rows/cols (padding,
  and a dy cropped below the natural output size) read as zero.
* dgrad, axpy form (few input channels per group or short reductions): per image
  ``cols = W^T dy[n]`` then col2im adds each tap's row onto dx[n] (the numpy backend's algorithm).
* wgrad (dot form): ``dw[g*Og+m, (c,r,t)] = sum_p dyP[g, m, p] * cols[(c,r,t), p]`` over all
  pixels ``p = (n, i, j)`` of dy; ``dyP`` is dy channel-first (O, N*Ho*Wo); ``cols`` rows are
  generated from the zero-padded x 16 rows x ``_WG_CHUNK_BYTES`` of pixels at a time (im2col is
  never materialised), each thread owning blocks of 16 rows of dw (no reduction across threads).

Work items (pixel tiles, images, row blocks) are handed to threads one at a time
(``numba.parallel_chunksize(1)``); every kernel allocates its own scratch per item, so no array
returned to the caller aliases scratch memory.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .numba_tiles import (_axpy4, _dot4x4, _im2col_image, _nchw_to_nhwc, _pack_channels_first,
                          _pack_taps, _pad_input, _tile_gemm)

_OPTS = dict(parallel=True, fastmath=True, cache=True, boundscheck=False, nogil=True)

# Block sizes (bytes / rows); measured on the DCGAN shapes, see numba_cpu's docstring.
_KB_BYTES = 4096        # reduction block of a packed row: the 4 A rows of a tile stay in L1
_PB = 64                # pixels per tile in fwd / dgrad (multiple of 8)
_WG_CHUNK_BYTES = 16384 # wgrad: pixel chunk of one generated cols row
_WG_ROWS = 16           # wgrad: cols rows (of K) per work item
_SMALL_K = 128          # reductions shorter than this use the axpy form (see _axpy4)


def _ceil(a: int, b: int) -> int:
    return -(-a // b) * b


@njit(**_OPTS)
def _gather_gemm(src, A, kdim, offr, offc, ci, cj, out, step_h, step_w, ph0, pw0, nu, nv,
                 kb, pb, zero):
    """out[n, g*M + m, step_h*u + ph0, step_w*v + pw0] = sum_k A[g, m, k] * row(n, u, v)[k].

    ``row(n, u, v)`` is the packed patch ``[(r, t, c)] = src[n, ci*u + offr[r], cj*v + offc[t],
    g*Cs + c]`` (zero out of range) with src channel-last (N, Hs, Ws, G*Cs); A is (G, Mp, Kp),
    zero-padded past M = out.shape[1] // G and kdim; the packed rows are zero-padded to Kp too.
    """
    n_img, hs, ws, cs_tot = src.shape
    groups, mp, kp = A.shape
    cs = cs_tot // groups
    m_out = out.shape[1] // groups
    nr, nt = offr.shape[0], offc.shape[0]
    plane = nu * nv
    npix = n_img * plane
    tiles = (npix + pb - 1) // pb
    items = groups * tiles
    qstep = 8 if mp == 1 else 4
    for item in prange(items):  # one item at a time: see _dynamic()
        B = np.empty((pb, kp), A.dtype)
        acc = np.empty((mp, pb), A.dtype)
        g = item // tiles
        p0 = (item % tiles) * pb
        pn = min(pb, npix - p0)
        nq = (pn + qstep - 1) // qstep * qstep
        c0 = g * cs
        for q in range(nq):
            row = B[q]
            if q >= pn:
                for k in range(kp):
                    row[k] = zero
                continue
            p = p0 + q
            nn = p // plane
            rem = p - nn * plane
            u = rem // nv
            v = rem - u * nv
            for ri in range(nr):
                si = ci * u + offr[ri]
                base = ri * nt * cs
                if si < 0 or si >= hs:
                    for k in range(nt * cs):
                        row[base + k] = zero
                    continue
                for ti in range(nt):
                    sj = cj * v + offc[ti]
                    o0 = base + ti * cs
                    if sj < 0 or sj >= ws:
                        for k in range(cs):
                            row[o0 + k] = zero
                    else:
                        srow = src[nn, si, sj, c0:c0 + cs]
                        dst = row[o0:o0 + cs]
                        for k in range(cs):
                            dst[k] = srow[k]
            for k in range(kdim, kp):
                row[k] = zero
        _tile_gemm(A[g], B, acc, kp, nq, kb, zero)
        for q in range(pn):
            p = p0 + q
            nn = p // plane
            rem = p - nn * plane
            u = rem // nv
            v = rem - u * nv
            h = step_h * u + ph0
            w = step_w * v + pw0
            for m in range(m_out):
                out[nn, g * m_out + m, h, w] = acc[m, q]


@njit(**_OPTS)
def _wgrad(xp, dyP, out, ho, wo, kr, ks, sh, sw, dh, dw, chunk_rows, rows_per_item, zero):
    """out[g, m, k] = sum_p dyP[g, m, p] * cols_g[k, p], k = (c, r, t), p = (n, i, j) over the
    ho x wo output plane; cols_g[k, p] = xp[n, g*Cg + c, sh*i + dh*r, sw*j + dw*t] with xp the
    zero-padded input, generated chunk by chunk (chunk_rows output rows (n, i) at a time)."""
    n_img, c_tot, hn, wn = xp.shape
    groups, mp, _ = dyP.shape
    og = out.shape[1]
    kdim = out.shape[2]
    cg = c_tot // groups
    nkb = (kdim + rows_per_item - 1) // rows_per_item
    items = groups * nkb
    nrows = n_img * ho
    clen = chunk_rows * wo
    for item in prange(items):  # one item at a time: see _dynamic()
        buf = np.empty((rows_per_item, clen), xp.dtype)
        acc = np.empty((mp, rows_per_item), xp.dtype)
        xf = xp.reshape(-1)
        g = item // nkb
        k0 = (item - g * nkb) * rows_per_item
        acc[:, :] = zero
        for row0 in range(0, nrows, chunk_rows):
            nrow = min(chunk_rows, nrows - row0)
            ln = nrow * wo
            n_first = row0 // ho
            i_first = row0 - n_first * ho
            # generate cols rows k0 .. k0 + rows_per_item for this pixel chunk
            for kk in range(rows_per_item):
                k = k0 + kk
                dst = buf[kk]
                if k >= kdim:
                    for q in range(ln):
                        dst[q] = zero
                    continue
                c = k // (kr * ks)
                rt = k - c * kr * ks
                r = rt // ks
                t = rt - r * ks
                ch = g * cg + c
                nn = n_first
                i = i_first
                # (flat indices, no views: a view per row of wo would cost refcount calls)
                for rr in range(nrow):
                    src0 = ((nn * c_tot + ch) * hn + sh * i + dh * r) * wn + dw * t
                    base = rr * wo
                    for j in range(wo):
                        dst[base + j] = xf[src0 + sw * j]
                    i += 1
                    if i == ho:
                        i = 0
                        nn += 1
            p0 = row0 * wo
            for m in range(0, mp, 4):
                a0 = dyP[g, m, p0:p0 + ln]
                a1 = dyP[g, m + 1, p0:p0 + ln]
                a2 = dyP[g, m + 2, p0:p0 + ln]
                a3 = dyP[g, m + 3, p0:p0 + ln]
                for kk in range(0, rows_per_item, 4):
                    t16 = _dot4x4(a0, a1, a2, a3, buf[kk, :ln], buf[kk + 1, :ln],
                                  buf[kk + 2, :ln], buf[kk + 3, :ln], ln, zero)
                    for e in range(4):
                        acc[m + e, kk] += t16[4 * e]
                        acc[m + e, kk + 1] += t16[4 * e + 1]
                        acc[m + e, kk + 2] += t16[4 * e + 2]
                        acc[m + e, kk + 3] += t16[4 * e + 3]
        kn = min(rows_per_item, kdim - k0)
        for m in range(og):
            for kk in range(kn):
                out[g, m, k0 + kk] = acc[m, kk]


@njit(**_OPTS)
def _fwd_small(xp, A, y, kr, ks, sh, sw, dh, dw, zero):
    """Per image and group: cols = im2col (Kp x Ho*Wo) of the padded input xp,
    y[n, group] = A[g] @ cols (axpy form)."""
    x = xp
    n_img = x.shape[0]
    groups, mp, kp = A.shape
    cg = x.shape[1] // groups
    og = y.shape[1] // groups
    ho, wo = y.shape[2], y.shape[3]
    npx = ho * wo
    items = n_img * groups
    for item in prange(items):  # one item at a time: see _dynamic()
        cols = np.empty((kp, npx), x.dtype)
        acc = np.empty((mp, npx), x.dtype)
        nn = item // groups
        g = item - nn * groups
        _im2col_image(xp, nn, g * cg, cg, kr, ks, ho, wo, sh, sw, dh, dw, cols, zero)
        if mp == og:  # write y's rows directly
            _axpy4(A[g], cols, y[nn].reshape((groups * og, npx))[g * og:(g + 1) * og], kp, npx, zero)
            continue
        _axpy4(A[g], cols, acc, kp, npx, zero)
        for m in range(og):
            dst = y[nn, g * og + m]
            src = acc[m]
            for i in range(ho):
                for j in range(wo):
                    dst[i, j] = src[i * wo + j]


@njit(**_OPTS)
def _dgrad_small(dy, A, dx, kr, ks, sh, sw, ph, pw, dh, dw, zero):
    """Scatter form per image and group: cols = A[g] (Kp x Og_p) @ dy[n, group] (Og x Ho*Wo),
    then col2im adds cols[(c, r, t), (i, j)] onto dx[n, c, sh*i + dh*r - ph, sw*j + dw*t - pw]."""
    n_img, o, ho, wo = dy.shape
    groups, kp, ogp = A.shape
    og = o // groups
    c_tot, h, w = dx.shape[1], dx.shape[2], dx.shape[3]
    cg = c_tot // groups
    kdim = cg * kr * ks
    npx = ho * wo
    items = n_img * groups
    for item in prange(items):  # one item at a time: see _dynamic()
        bt = np.empty((ogp, npx), dy.dtype)
        cols = np.empty((kp, npx), dy.dtype)
        nn = item // groups
        g = item - nn * groups
        for m in range(ogp):
            dst = bt[m]
            if m >= og:
                for q in range(npx):
                    dst[q] = zero
                continue
            src = dy[nn, g * og + m]
            for i in range(ho):
                for j in range(wo):
                    dst[i * wo + j] = src[i, j]
        _axpy4(A[g], bt, cols, ogp, npx, zero)
        for c in range(cg):
            plane = dx[nn, g * cg + c]
            for hh in range(h):
                for ww in range(w):
                    plane[hh, ww] = zero
        for k in range(kdim):
            c = k // (kr * ks)
            rt = k - c * kr * ks
            r = rt // ks
            t = rt - r * ks
            plane = dx[nn, g * cg + c]
            src = cols[k]
            offw = dw * t - pw
            lo = 0 if offw >= 0 else (-offw + sw - 1) // sw
            hi = (w - 1 - offw) // sw + 1 if w - 1 - offw >= 0 else 0
            lo = min(lo, wo)
            hi = max(lo, min(hi, wo))
            for i in range(ho):
                hx = sh * i + dh * r - ph
                if hx < 0 or hx >= h:
                    continue
                for j in range(lo, hi):
                    plane[hx, sw * j + offw] += src[i * wo + j]


# --- Python entry points -----------------------------------------------------------------------

# Tests set this to force one algorithm of conv2d_fwd / conv2d_dgrad: "small" = the axpy form
# per image (few channels / short reductions), "large" = the packed dot form.
FORCE_PATH: str | None = None


def _use_small(default: bool) -> bool:
    return default if FORCE_PATH is None else FORCE_PATH == "small"


def _dynamic():
    """Hand out the prange(items) work items one at a time (numba's default is one equal
    static block per thread: on a shared machine one descheduled thread then stalls the call)."""
    return numba.parallel_chunksize(1)


def _zero(dtype):
    return dtype.type(0)


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _kb(dtype) -> int:
    return max(16, _KB_BYTES // dtype.itemsize)


def _channel_last(a):
    out = np.empty((a.shape[0], a.shape[2], a.shape[3], a.shape[1]), a.dtype)
    _nchw_to_nhwc(a, out)
    return out


def _padded(x, kernel, out_hw, stride, padding, dilation):
    """x zero-padded, keeping exactly the rows/cols some window of the out_hw output reaches."""
    hn = stride[0] * (out_hw[0] - 1) + dilation[0] * (kernel[0] - 1) + 1
    wn = stride[1] * (out_hw[1] - 1) + dilation[1] * (kernel[1] - 1) + 1
    xp = np.empty(x.shape[:2] + (hn, wn), x.dtype)
    _pad_input(x, xp, padding[0], padding[1])
    return xp


def _prep(a):
    """C-contiguous and writeable (a read-only array would be a new type: one more compile)."""
    a = np.ascontiguousarray(a)
    return a if a.flags.writeable else a.copy()


def conv2d_fwd(x, w, stride, padding, dilation, groups):
    assert x.ndim == 4 and w.ndim == 4 and x.dtype == w.dtype
    x, w = _prep(x), _prep(w)
    n, c, h, wd = x.shape
    o, cg, r, s = w.shape
    assert c == cg * groups and o % groups == 0
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = _out_size(h, r, sh, ph, dh), _out_size(wd, s, sw, pw, dw)
    og, kdim = o // groups, r * s * cg
    y = np.empty((n, o, ho, wo), x.dtype)
    if _use_small(kdim < _SMALL_K):  # short reduction: axpy form, no horizontal sums
        A = np.zeros((groups, _ceil(og, 4), _ceil(kdim, 4)), x.dtype)
        A[:, :og, :kdim] = w.reshape(groups, og, kdim)
        xp = _padded(x, (r, s), (ho, wo), stride, padding, dilation)
        with _dynamic():
            _fwd_small(xp, A, y, r, s, sh, sw, dh, dw, _zero(x.dtype))
        return y
    # weight as (G, Og, (r, t, c)) to match the channel-last patch rows
    A = np.empty((groups, 1 if og == 1 else _ceil(og, 4), _ceil(kdim, 16)), x.dtype)
    _pack_taps(w, A, np.arange(r, dtype=np.int64), np.arange(s, dtype=np.int64), False)
    offr = np.array([dh * i - ph for i in range(r)], np.int64)
    offc = np.array([dw * i - pw for i in range(s)], np.int64)
    xT = _channel_last(x)
    with _dynamic():
        _gather_gemm(xT, A, kdim, offr, offc, sh, sw, y, 1, 1, 0, 0, ho, wo,
                     _kb(x.dtype), _PB, _zero(x.dtype))
    return y


def conv2d_dgrad(dy, w, x_shape, stride, padding, dilation, groups):
    assert dy.ndim == 4 and w.ndim == 4 and dy.dtype == w.dtype
    dy, w = _prep(dy), _prep(w)
    n, c, h, wd = (int(v) for v in x_shape)
    o, cg, r, s = w.shape
    assert c == cg * groups and dy.shape[:2] == (n, o)
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    og = o // groups
    dx = np.empty((n, c, h, wd), dy.dtype)
    if _use_small(cg < 4 or og * r * s < _SMALL_K * sh * sw):  # few outputs / short reduction
        kdim = cg * r * s
        A = np.zeros((groups, _ceil(kdim, 4), _ceil(og, 4)), dy.dtype)
        A[:, :kdim, :og] = w.reshape(groups, og, kdim).transpose(0, 2, 1)
        with _dynamic():
            _dgrad_small(dy, A, dx, r, s, sh, sw, ph, pw, dh, dw, _zero(dy.dtype))
        return dx
    dyT = _channel_last(dy)
    kb, zero = _kb(dy.dtype), _zero(dy.dtype)
    for a in range(min(sh, h)):
        taps_r = [i for i in range(r) if (a + ph - dh * i) % sh == 0]
        for b in range(min(sw, wd)):
            taps_c = [i for i in range(s) if (b + pw - dw * i) % sw == 0]
            if not taps_r or not taps_c:  # no window reaches this phase
                dx[:, :, a::sh, b::sw] = 0
                continue
            kdim = len(taps_r) * len(taps_c) * og
            # A[g, c, (r, t, o)] = w[g*Og + o, c, r, t] over the phase's taps
            A = np.empty((groups, 1 if cg == 1 else _ceil(cg, 4), _ceil(kdim, 16)), dy.dtype)
            _pack_taps(w, A, np.array(taps_r, np.int64), np.array(taps_c, np.int64), True)
            offr = np.array([(a + ph - dh * i) // sh for i in taps_r], np.int64)
            offc = np.array([(b + pw - dw * i) // sw for i in taps_c], np.int64)
            nu, nv = -(-(h - a) // sh), -(-(wd - b) // sw)
            with _dynamic():
                _gather_gemm(dyT, A, kdim, offr, offc, 1, 1, dx, sh, sw, a, b, nu, nv,
                             kb, _PB, zero)
    return dx


def conv2d_wgrad(x, dy, w_shape, stride, padding, dilation, groups):
    assert x.ndim == 4 and dy.ndim == 4 and x.dtype == dy.dtype
    x, dy = _prep(x), _prep(dy)
    n, c, _, _ = x.shape
    o, cg, r, s = (int(v) for v in w_shape)
    _, _, ho, wo = dy.shape
    assert c == cg * groups and dy.shape[:2] == (n, o)
    (sh, sw), (dh, dw) = stride, dilation
    og, kdim = o // groups, cg * r * s
    dyP = np.empty((groups, _ceil(og, 4), n * ho * wo), dy.dtype)
    _pack_channels_first(dy, dyP)
    out = np.empty((groups, og, kdim), x.dtype)
    chunk_rows = max(1, (_WG_CHUNK_BYTES // x.dtype.itemsize) // max(wo, 1))
    xp = _padded(x, (r, s), (ho, wo), stride, padding, dilation)
    with _dynamic():
        _wgrad(xp, dyP, out, ho, wo, r, s, sh, sw, dh, dw, chunk_rows, _WG_ROWS, _zero(x.dtype))
    return out.reshape(o, cg, r, s)
