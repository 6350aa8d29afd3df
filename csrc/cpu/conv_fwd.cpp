// conv2d_fwd: y = conv2d(x, w), cross-correlation, NCHW in and out (float32).
//
// Index math (Cg = C/G, Og = O/G, g = o / Og; padding never materialised):
//
//     y[n, o, i, j] = sum_{c < Cg, r < R, t < S} w[o, c, r, t] * x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]
//
// taken over the taps (r, t) whose input pixel is inside the image.
//
// Two implicit GEMMs on the micro-kernel of gemm.hpp; conv2d_fwd picks one per call.
//
// (1) "slab", the batch as the vector axis (the DCGAN's 7x7-output layers):
//   1. x NCHW -> xt HWCN (xt[h][w][c][n]), one blocked transpose (common.cpp).
//   2. w packed once into MR-row panels: ap[panel][tap][c][m] = w[o0 + m, c, tap].
//   3. For each output pixel (i, j) and block of NR = 64 samples (OpenMP, dynamic), the tile
//      yt[i][j][o0:o0+MR][n0:n0+NR] = sum over the valid taps of ap[panel][tap] (MR x Cg) @
//      xt[hi][wi][g*Cg : g*Cg+Cg][n0:n0+NR] (Cg x NR). The B operand of a tap is a contiguous
//      slab of xt (rows N floats apart): nothing is packed or gathered, and the taps that fall
//      in the padding are simply not in the segment list.
//   4. yt (HWCN) -> y NCHW, one blocked transpose.
// (2) "direct", the pixels as the vector axis: when they fill the lanes better than the batch
//   (batch < 16), or when K = Cg*R*S <= 64 (the 1-channel MNIST layer), where the GEMM is too
//   small to pay for two transposes of a large output. Per sample: im2col into an L2-sized
//   K x P buffer, then GEMM straight into y's NCHW rows (see fwd_direct).
//
// Why, measured on this machine (one core, thread CPU time, batch 64; the 2-thread wall-clock
// table is in benchmarks/README.md):
//   * 64 -> 128, 5x5/s2 on 14x14: the numpy backend (im2col + OpenBLAS sgemm) 9.6 ms, slab 5.4 ms,
//     torch (oneDNN) 6.5 ms. 128 -> 256, 5x5 on 7x7: 28.3 / 17.0 / 20.6 ms. Of the 17.0 ms the two
//     transposes and the weight packing take ~1.5 ms; the rest runs at ~84% of the FMA peak
//     (254 GFLOP/s per core measured; the nominal GFLOP/s count the 31% padded taps too).
//   * tile shape: 64 samples x MR <= 6 (NV = 4) 17.5 ms, 32 x 14 (NV = 2) 19.4 ms, 16 x 14
//     21.6 ms on 128 -> 256. The taps per micro-kernel call (K block 64 .. all of K) made no
//     difference above the noise; 512 is kept.
//   * 1 -> 64, 5x5/s2 (K = 25): slab 0.42-0.48 ms, of which the output transpose 0.21-0.29 ms;
//     direct 0.29 ms (0.40-0.54 ms while its im2col was a scalar strided gather).
#include "gemm.hpp"
#include "kernels.hpp"

#include <vector>

namespace tg {

namespace {

// Fraction of vector lanes doing useful work when an axis of length n is cut into vectors.
double lane_use(idx n, int vl) { return static_cast<double>(n) / static_cast<double>(vl * ceil_div(n, vl)); }

// The per-sample path ("NCHW direct"): for each sample and group, pack the im2col matrix
// cols[(c, r, t)][pixel] (K x P, rows padded to a multiple of VL, L2-sized for small K) and run
// y_n[o][pixel] = w (Og x K) @ cols (K x P) with the pixels as the vector axis, storing straight
// into y's NCHW rows. No layout transposes: for the 1-channel MNIST layer (K = 25, 64 x 14 x 14
// outputs per sample) the two HWCN transposes cost more than the GEMM (0.21 + 0.02 ms vs 0.18 ms
// at batch 64, one thread).
void fwd_direct(const float* x, const float* w, float* y, const ConvGeom& g) {
    const idx N = g.N, C = g.C, H = g.H, W = g.W, O = g.O, R = g.R, S = g.S, G = g.G;
    const idx Cg = C / G, Og = O / G, T = R * S, Ho = g.Ho, Wo = g.Wo;
    const idx K = Cg * T, P = Ho * Wo;
    const int vl = vec_len();
    const idx Pp = ceil_div(P, vl) * vl;
    const int nv_pref = std::min(max_nv(), std::max(1, env_int("TINYGAN_FWD_DIRECT_NV", 4)));
    const int nv_full = static_cast<int>(std::min<idx>(nv_pref, ceil_div(P, vl)));
    const Panels panels(Og, max_mr(nv_full));
    const int nt = num_threads();
    PhaseTimer prof("conv2d_fwd(direct)");

    // w panels: ap[(gi*Og + o0)*K + k*mr + m] = w[gi*Og + o0 + m][k]
    float* ap = scratch(SLOT_PACK, static_cast<std::size_t>(O * K));
    for (idx gi = 0; gi < G; ++gi)
        for (int p = 0; p < panels.count; ++p) {
            const idx o0 = gi * Og + panels.start(p);
            transpose2d(w + o0 * K, K, ap + o0 * K, panels.size(p), panels.size(p), K);
        }
    // column phases of one input channel: index u of phase a at [(a*H + hi)*Lb + u - q_min]
    const idx q_min = floor_div(-g.pw, g.sw), q_max = floor_div(g.dw * (S - 1) - g.pw, g.sw);
    const idx Lb = std::max(q_max - q_min + Wo, ceil_div(W, g.sw) - q_min);
    const idx per_thread = K * Pp + g.sw * H * Lb + Wo;
    float* colbuf = scratch(SLOT_IN, static_cast<std::size_t>(nt * per_thread));
    const idx kc = std::max(16, env_int("TINYGAN_FWD_DIRECT_KC", 512));
    prof.mark("pack w");

#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        float* cols = colbuf + omp_get_thread_num() * per_thread;
#else
        float* cols = colbuf;
#endif
        float* phases = cols + K * Pp;
        float* zrow = phases + g.sw * H * Lb;
        std::memset(zrow, 0, sizeof(float) * Wo);
        const Seg seg{0, 0};
#pragma omp for schedule(dynamic, 1)
        for (idx it = 0; it < N * G; ++it) {
            const idx n = it / G, gi = it % G;
            // im2col of sample n, group gi: row (c, r, t), column (i, j); zeros outside the image.
            // Each input row is first split into its sw column phases, zero-padded on both
            // sides: tap t of output column j reads phase a at index j + q, (q, a) =
            // divmod(dw*t - pw, sw), so every (r, t, i) segment of a cols row is one contiguous,
            // unconditional copy of Wo floats (the strided gather, scalar, cost as much as the GEMM).
            for (idx c = 0; c < Cg; ++c) {
                const float* plane = x + (n * C + gi * Cg + c) * H * W;
                for (idx a = 0; a < g.sw; ++a)
                    for (idx hi = 0; hi < H; ++hi) {
                        float* prow = phases + (a * H + hi) * Lb;
                        std::memset(prow, 0, sizeof(float) * Lb);
                        const float* src = plane + hi * W + a;
                        const idx La = a < W ? ceil_div(W - a, g.sw) : 0;
                        for (idx u = 0; u < La; ++u) prow[u - q_min] = src[g.sw * u];
                    }
                for (idx r = 0; r < R; ++r)
                    for (idx t = 0; t < S; ++t) {
                        float* row = cols + ((c * R + r) * S + t) * Pp;
                        const idx qa = floor_div(g.dw * t - g.pw, g.sw);
                        const idx a = g.dw * t - g.pw - qa * g.sw;
                        for (idx i = 0; i < Ho; ++i) {
                            const idx hi = g.sh * i + g.dh * r - g.ph;
                            const float* src = (hi < 0 || hi >= H) ? zrow : phases + (a * H + hi) * Lb + (qa - q_min);
                            std::memcpy(row + i * Wo, src, sizeof(float) * Wo);
                        }
                        for (idx q = P; q < Pp; ++q) row[q] = 0.f;
                    }
            }
            float* yn = y + (n * O + gi * Og) * P;
            for (idx p0 = 0; p0 < P; p0 += static_cast<idx>(nv_full) * vl) {
                const ColTile ct = col_tile(P, p0, nv_full, vl);
                for (idx k0 = 0; k0 < K; k0 += kc) {
                    const idx kl = std::min(kc, K - k0);
                    for (int p = 0; p < panels.count; ++p) {
                        const int mr = panels.size(p);
                        const idx o0 = panels.start(p);
                        get_ukr(mr, ct.nv, ct.tail)(&seg, 1, kl, ap + (gi * Og + o0) * K + k0 * mr, 0, mr,
                                                    cols + k0 * Pp + p0, Pp, yn + o0 * P + p0, P, ct.tail, k0 > 0);
                    }
                }
            }
        }
    }
    prof.mark("im2col+gemm");
}

}  // namespace

void conv2d_fwd(const float* x, const float* w, float* y, const ConvGeom& g) {
    const idx N = g.N, C = g.C, H = g.H, W = g.W, O = g.O, R = g.R, S = g.S, G = g.G;
    const idx Cg = C / G, Og = O / G, T = R * S, Ho = g.Ho, Wo = g.Wo;
    const int vl = vec_len();
    // Path choice: the pixel axis as the vector axis (direct) when it fills the lanes better than
    // the batch does, or when the GEMM is too small (K <= 64) to hide two layout transposes.
    const int path = env_int("TINYGAN_FWD_PATH", 0);  // 1 = slab (HWCN), 2 = direct (experiments)
    const double use_direct = lane_use(Ho * Wo, vl), use_slab = lane_use(N, vl);
    if (path == 2 || (path == 0 && (use_direct > use_slab + 0.1 || (Cg * T <= 64 && use_direct >= 0.75)))) {
        fwd_direct(x, w, y, g);
        return;
    }
    const int nv_pref = std::min(max_nv(), std::max(1, env_int("TINYGAN_FWD_NV", 4)));
    const int nv_full = static_cast<int>(std::min<idx>(nv_pref, ceil_div(N, vl)));
    const Panels panels(Og, max_mr(nv_full));

    float* xt = scratch(SLOT_IN, static_cast<std::size_t>(H * W * C * N));
    float* ap = scratch(SLOT_PACK, static_cast<std::size_t>(O * T * Cg));
    float* yt = scratch(SLOT_OUT, static_cast<std::size_t>(Ho * Wo * O * N));
    PhaseTimer prof("conv2d_fwd");
    nchw_to_hwcn(x, xt, N, C, H, W);
    prof.mark("x->hwcn");

    // Pack the weights: panel p of group gi starts at (gi*Og + o0) * T*Cg.
    const int nt = num_threads();
#pragma omp parallel for num_threads(nt) schedule(static) collapse(2) if (O * T * Cg > 65536)
    for (idx gi = 0; gi < G; ++gi)
        for (int p = 0; p < panels.count; ++p) {
            const idx o0 = gi * Og + panels.start(p);
            const int mr = panels.size(p);
            float* dst = ap + o0 * T * Cg;
            for (idx tap = 0; tap < T; ++tap)  // sequential writes; the panel's w rows stay in L2
                for (idx c = 0; c < Cg; ++c)
                    for (int m = 0; m < mr; ++m) dst[(tap * Cg + c) * mr + m] = w[((o0 + m) * Cg + c) * T + tap];
        }

    // Taps per micro-kernel call: ~512 k's per call keep the B slab block L2-resident.
    prof.mark("pack");
    const idx kc = std::max(1, env_int("TINYGAN_FWD_KC", 512));
    const idx tb = std::max<idx>(1, kc / Cg);
    const idx n_tiles = ceil_div(N, static_cast<idx>(nv_full) * vl);
    const idx items = Ho * Wo * n_tiles;

#pragma omp parallel num_threads(nt)
    {
        std::vector<Seg> segs(static_cast<std::size_t>(T));
#pragma omp for schedule(dynamic, 1)
        for (idx it = 0; it < items; ++it) {
            const idx pix = it / n_tiles, i = pix / Wo, j = pix % Wo;
            const ColTile ct = col_tile(N, (it % n_tiles) * nv_full * vl, nv_full, vl);
            int ns = 0;
            for (idx r = 0; r < R; ++r) {
                const idx hi = g.sh * i + g.dh * r - g.ph;
                if (hi < 0 || hi >= H) continue;
                for (idx t = 0; t < S; ++t) {
                    const idx wi = g.sw * j + g.dw * t - g.pw;
                    if (wi < 0 || wi >= W) continue;
                    segs[ns++] = Seg{(r * S + t) * Cg, (hi * W + wi) * C * N};
                }
            }
            for (idx gi = 0; gi < G; ++gi) {
                const float* B = xt + gi * Cg * N + ct.l0;
                float* Cbase = yt + (pix * O + gi * Og) * N + ct.l0;
                if (ns == 0) {
                    for (idx o = 0; o < Og; ++o)
                        std::memset(Cbase + o * N, 0, sizeof(float) * ((ct.nv - 1) * vl + ct.tail));
                    continue;
                }
                for (idx b0 = 0; b0 < ns; b0 += tb) {
                    const int nb = static_cast<int>(std::min<idx>(tb, ns - b0));
                    for (int p = 0; p < panels.count; ++p) {
                        const int mr = panels.size(p);
                        const idx o0 = panels.start(p);
                        get_ukr(mr, ct.nv, ct.tail)(segs.data() + b0, nb, Cg, ap + (gi * Og + o0) * T * Cg, mr, mr,
                                                    B, N, Cbase + o0 * N, N, ct.tail, b0 > 0);
                    }
                }
            }
        }
    }
    prof.mark("gemm");
    hwcn_to_nchw(yt, y, N, O, Ho, Wo);
    prof.mark("y->nchw");
}

}  // namespace tg
