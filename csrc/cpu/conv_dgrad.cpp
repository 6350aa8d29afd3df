// conv2d_dgrad: dx = adjoint in x of conv2d_fwd (also conv_transpose2d's forward), float32.
//
// Index math: with Cg = C/G, Og = O/G, the forward reads x[n, g*Cg + c, sh*i + dh*r - ph, ...], so
// its adjoint gathers, for every input pixel (h, w), the output pixels whose window touches it:
//
//     dx[n, g*Cg + c, h, w] = sum_{o < Og} sum_{(r, t) valid} w[g*Og + o, c, r, t] * dy[n, g*Og + o, i, j]
//     i = (h + ph - dh*r) / sh,  j = (w + pw - dw*t) / sw,
//
// a tap (r, t) being valid when both divisions are exact and 0 <= i < Ho, 0 <= j < Wo, where
// (Ho, Wo) is dy's size: a dy smaller than the conv's natural output (conv_transpose2d with
// output_padding >= stride) simply has fewer valid taps -- the missing rows count as zero.
//
// Two algorithms, picked per call like conv2d_fwd's:
// (1) "slab", a direct transposed implicit GEMM (no zero insertion, no col2im, no atomics):
//   1. dy NCHW -> dyt HWCN (dyt[i][j][o][n]); w packed once as the transposed panels
//      ap[panel][tap][o][m] = w[o, c0 + m, tap] (M = input channels, K = (tap, o)).
//   2. For each input pixel (h, w) and block of 64 samples (OpenMP, dynamic), the tile
//      dxt[h][w][c0:c0+MR][n0:n0+NR] = sum over the valid taps of ap[panel][tap] (MR x Og) @
//      dyt[i][j][g*Og : g*Og+Og][n0:n0+NR] (Og x NR, a contiguous slab). Every dx tile is written
//      once; with stride 2 only ~1/4 of the taps are visited per pixel (the stride-phase
//      decomposition falls out of the validity test).
//   3. dxt (HWCN) -> dx NCHW.
// (2) "direct" (few input channels, or batch < 16): per sample, cols = w^T @ dy_n with the pixels
//   as the vector axis, then a col2im of contiguous adds (see dgrad_direct).
//
// Why, measured on this machine (one core, thread CPU time, batch 64):
//   * 64 -> 128, 5x5/s2 (the D's input gradient): the numpy backend (sgemm into a 25x column buffer +
//     col2im) 10.8 ms, slab 5.2 ms, torch 7.0 ms. 256 -> 128 transpose conv 5x5 on 7x7 (the G's
//     first layer forward): 29.6 / 16.7 / 20.1 ms.
//   * 64 -> 1 transpose conv (the G's last layer, Cg = 1): the slab's tiles have one row
//     (latency-bound micro-kernel) and the 3.2 MB dy transpose costs 0.28 ms: slab 0.78-0.86 ms,
//     direct 0.30 ms (batch 256: 6.4 vs 1.3 ms; torch 4.2 / 17.7 ms).
#include "gemm.hpp"
#include "kernels.hpp"

#include <vector>

namespace tg {

namespace {

double lane_use(idx n, int vl) { return static_cast<double>(n) / static_cast<double>(vl * ceil_div(n, vl)); }

// The per-sample path ("NCHW direct", the adjoint of conv_fwd.cpp's): for each sample and group,
// cols (K x P, K = Cg*R*S, pixels as the vector axis) = w_g^T (K x Og) @ dy_n (Og x P), read
// straight from dy's NCHW rows, then col2im adds each cols row segment into the image. As in the
// forward, every input row is kept as its sw column phases (zero margins on both sides), so tap t
// of output column j adds into phase a at index j + q, (q, a) = divmod(dw*t - pw, sw): each
// (r, t, i) segment is one contiguous vector add, and the phases are interleaved into dx once.
// cols is produced a block of channels at a time (~128 rows, L2-sized) and added in right away.
// Used when the input has few channels (the slab path's M = Cg is then a 1-row tile:
// 1 -> 64 transpose conv, 0.78 ms slab vs 0.2 ms direct at batch 64, one thread) or when the
// pixels fill the vector lanes better than the batch does.
void dgrad_direct(const float* dy, const float* w, float* dx, const ConvGeom& g) {
    const idx N = g.N, C = g.C, H = g.H, W = g.W, O = g.O, R = g.R, S = g.S, G = g.G;
    const idx Cg = C / G, Og = O / G, T = R * S, Ho = g.Ho, Wo = g.Wo;
    const idx K = Cg * T, P = Ho * Wo;
    const int vl = vec_len();
    const idx Pp = ceil_div(P, vl) * vl;
    const int nv_pref = std::min(max_nv(), std::max(1, env_int("TINYGAN_DGRAD_DIRECT_NV", 4)));
    const int nv_full = static_cast<int>(std::min<idx>(nv_pref, ceil_div(P, vl)));
    const int nt = num_threads();
    PhaseTimer prof("conv2d_dgrad(direct)");

    // channels per block: ~128 cols rows
    const idx cb = std::max<idx>(1, std::min<idx>(Cg, std::max(1, env_int("TINYGAN_DGRAD_DIRECT_ROWS", 128)) / T));
    const idx KB = cb * T;
    // w^T panels per (group, channel block): rows k = (c, r, t) of the block, panel sizes from
    // Panels(rows of the block); the block at channel c0 of group gi lives at ap + (gi*Cg + c0)*T*Og.
    float* ap = scratch(SLOT_PACK, static_cast<std::size_t>(C * T * Og));
#pragma omp parallel for num_threads(nt) schedule(static) collapse(2) if (C * T * Og > 65536)
    for (idx gi = 0; gi < G; ++gi)
        for (idx c0 = 0; c0 < Cg; c0 += cb) {
            const idx kb = std::min(cb, Cg - c0) * T;
            const Panels pk(kb, max_mr(nv_full));
            float* blk = ap + (gi * Cg + c0) * T * Og;
            for (int p = 0; p < pk.count; ++p) {
                const idx k0 = pk.start(p);
                const int mr = pk.size(p);
                float* dst = blk + k0 * Og;
                for (idx o = 0; o < Og; ++o) {
                    const float* src = w + (gi * Og + o) * K + c0 * T + k0;
                    for (int m = 0; m < mr; ++m) dst[o * mr + m] = src[m];
                }
            }
        }

    const idx q_min = floor_div(-g.pw, g.sw), q_max = floor_div(g.dw * (S - 1) - g.pw, g.sw);
    const idx Lb = std::max(q_max - q_min + Wo, ceil_div(W, g.sw) - q_min);
    const idx per_thread = KB * Pp + g.sw * H * Lb;
    float* buf = scratch(SLOT_IN, static_cast<std::size_t>(nt * per_thread));
    prof.mark("pack w");

#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        float* cols = buf + omp_get_thread_num() * per_thread;
#else
        float* cols = buf;
#endif
        float* phases = cols + KB * Pp;
        const Seg seg{0, 0};
#pragma omp for schedule(dynamic, 1)
        for (idx it = 0; it < N * G; ++it) {
            const idx n = it / G, gi = it % G;
            const float* dyn = dy + (n * O + gi * Og) * P;
            for (idx c0 = 0; c0 < Cg; c0 += cb) {
                const idx nc = std::min(cb, Cg - c0), kb = nc * T;
                const Panels pk(kb, max_mr(nv_full));
                const float* blk = ap + (gi * Cg + c0) * T * Og;
                for (idx p0 = 0; p0 < P; p0 += static_cast<idx>(nv_full) * vl) {
                    const ColTile ct = col_tile(P, p0, nv_full, vl);
                    for (int p = 0; p < pk.count; ++p) {
                        const int mr = pk.size(p);
                        const idx k0 = pk.start(p);
                        get_ukr(mr, ct.nv, ct.tail)(&seg, 1, Og, blk + k0 * Og, 0, mr, dyn + p0, P,
                                                    cols + k0 * Pp + p0, Pp, ct.tail, false);
                    }
                }
                // col2im of the block's channels
                for (idx cl = 0; cl < nc; ++cl) {
                    std::memset(phases, 0, sizeof(float) * g.sw * H * Lb);
                    for (idx r = 0; r < R; ++r)
                        for (idx t = 0; t < S; ++t) {
                            const float* row = cols + (cl * T + r * S + t) * Pp;
                            const idx qa = floor_div(g.dw * t - g.pw, g.sw);
                            const idx a = g.dw * t - g.pw - qa * g.sw;
                            for (idx i = 0; i < Ho; ++i) {
                                const idx hi = g.sh * i + g.dh * r - g.ph;
                                if (hi < 0 || hi >= H) continue;
                                float* dst = phases + (a * H + hi) * Lb + (qa - q_min);
                                const float* src = row + i * Wo;
#pragma omp simd
                                for (idx j = 0; j < Wo; ++j) dst[j] += src[j];
                            }
                        }
                    float* plane = dx + (n * C + gi * Cg + c0 + cl) * H * W;
                    for (idx hi = 0; hi < H; ++hi)
                        for (idx a = 0; a < g.sw; ++a) {
                            const float* prow = phases + (a * H + hi) * Lb - q_min;
                            float* drow = plane + hi * W + a;
                            const idx La = a < W ? ceil_div(W - a, g.sw) : 0;
                            for (idx u = 0; u < La; ++u) drow[g.sw * u] = prow[u];
                        }
                }
            }
        }
    }
    prof.mark("gemm+col2im");
}

}  // namespace

void conv2d_dgrad(const float* dy, const float* w, float* dx, const ConvGeom& g) {
    const idx N = g.N, C = g.C, H = g.H, W = g.W, O = g.O, R = g.R, S = g.S, G = g.G;
    const idx Cg = C / G, Og = O / G, T = R * S, Ho = g.Ho, Wo = g.Wo;
    const int vl = vec_len();
    const int path = env_int("TINYGAN_DGRAD_PATH", 0);  // 1 = slab (HWCN), 2 = direct (experiments)
    const double use_direct = lane_use(Ho * Wo, vl), use_slab = lane_use(N, vl);
    if (path == 2 || (path == 0 && (use_direct > use_slab + 0.1 || (Cg < 4 && use_direct >= 0.75)))) {
        dgrad_direct(dy, w, dx, g);
        return;
    }
    const int nv_pref = std::min(max_nv(), std::max(1, env_int("TINYGAN_DGRAD_NV", 4)));
    const int nv_full = static_cast<int>(std::min<idx>(nv_pref, ceil_div(N, vl)));
    const Panels panels(Cg, max_mr(nv_full));

    float* dyt = scratch(SLOT_IN, static_cast<std::size_t>(Ho * Wo * O * N));
    float* ap = scratch(SLOT_PACK, static_cast<std::size_t>(C * T * Og));
    float* dxt = scratch(SLOT_OUT, static_cast<std::size_t>(H * W * C * N));
    PhaseTimer prof("conv2d_dgrad");
    nchw_to_hwcn(dy, dyt, N, O, Ho, Wo);
    prof.mark("dy->hwcn");

    // Pack w^T: panel p of group gi starts at (gi*Cg + c0) * T*Og.
    const int nt = num_threads();
#pragma omp parallel for num_threads(nt) schedule(static) collapse(2) if (C * T * Og > 65536)
    for (idx gi = 0; gi < G; ++gi)
        for (int p = 0; p < panels.count; ++p) {
            const idx c0 = panels.start(p);
            const int mr = panels.size(p);
            float* dst = ap + (gi * Cg + c0) * T * Og;
            for (idx o = 0; o < Og; ++o) {
                const float* src = w + ((gi * Og + o) * Cg + c0) * T;
                for (idx tap = 0; tap < T; ++tap)
                    for (int m = 0; m < mr; ++m) dst[(tap * Og + o) * mr + m] = src[m * T + tap];
            }
        }

    prof.mark("pack");
    const idx kc = std::max(1, env_int("TINYGAN_DGRAD_KC", 512));
    const idx tb = std::max<idx>(1, kc / Og);
    const idx n_tiles = ceil_div(N, static_cast<idx>(nv_full) * vl);
    const idx items = H * W * n_tiles;

#pragma omp parallel num_threads(nt)
    {
        std::vector<Seg> segs(static_cast<std::size_t>(T));
#pragma omp for schedule(dynamic, 1)
        for (idx it = 0; it < items; ++it) {
            const idx pix = it / n_tiles, h = pix / W, wq = pix % W;
            const ColTile ct = col_tile(N, (it % n_tiles) * nv_full * vl, nv_full, vl);
            int ns = 0;
            for (idx r = 0; r < R; ++r) {
                const idx num_h = h + g.ph - g.dh * r;
                if (num_h < 0 || num_h % g.sh) continue;
                const idx i = num_h / g.sh;
                if (i >= Ho) continue;
                for (idx t = 0; t < S; ++t) {
                    const idx num_w = wq + g.pw - g.dw * t;
                    if (num_w < 0 || num_w % g.sw) continue;
                    const idx j = num_w / g.sw;
                    if (j >= Wo) continue;
                    segs[ns++] = Seg{(r * S + t) * Og, (i * Wo + j) * O * N};
                }
            }
            for (idx gi = 0; gi < G; ++gi) {
                const float* B = dyt + gi * Og * N + ct.l0;
                float* Cbase = dxt + (pix * C + gi * Cg) * N + ct.l0;
                if (ns == 0) {
                    for (idx c = 0; c < Cg; ++c)
                        std::memset(Cbase + c * N, 0, sizeof(float) * ((ct.nv - 1) * vl + ct.tail));
                    continue;
                }
                for (idx b0 = 0; b0 < ns; b0 += tb) {
                    const int nb = static_cast<int>(std::min<idx>(tb, ns - b0));
                    for (int p = 0; p < panels.count; ++p) {
                        const int mr = panels.size(p);
                        const idx c0 = panels.start(p);
                        get_ukr(mr, ct.nv, ct.tail)(segs.data() + b0, nb, Og, ap + (gi * Cg + c0) * T * Og, mr, mr,
                                                    B, N, Cbase + c0 * N, N, ct.tail, b0 > 0);
                    }
                }
            }
        }
    }
    prof.mark("gemm");
    hwcn_to_nchw(dxt, dx, N, C, H, W);
    prof.mark("dx->nchw");
}

}  // namespace tg
