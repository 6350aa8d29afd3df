// conv2d_wgrad: dw = adjoint in w of conv2d_fwd (also conv_transpose2d's weight gradient with x and
// dy swapped), float32.
//
// Index math (Cg = C/G, Og = O/G): for every tap (r, t),
//
//     dw[g*Og + o, c, r, t] = sum_{n, i < Ho, j < Wo} dy[n, g*Og + o, i, j] * x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]
//
// over the output pixels (i, j) of dy (dy may be smaller than the natural output: those pixels
// simply do not exist) whose input pixel is inside the image. Per tap it is a GEMM
// (Og x K) @ (K x Cg) with K = (valid pixels) x N: the contraction runs over pixels and batch.
//
// Algorithm: the batch is cut into chunks whose x and dy fit in about half of L2; each chunk is
// re-laid out channel-last (in cache) and every output tile sums that chunk's K into its
// accumulators before the next chunk is read. Two tile shapes, picked by which channel count
// fills the vector lanes:
//   A (vector over c, rows = o; the usual case): x and dy "HWNC" (a[h][w][n][c]). Tile = (tap,
//     o-panel, c-block); its segments are the valid output pixels, k = sample, and both the A rows
//     (dy's channels, broadcast) and B rows (x's channels at the tap's input pixel) of
//     consecutive samples are contiguous.
//   B (vector over o, rows = (t, c); few input channels, e.g. the 1-channel MNIST layer): dy HWNC,
//     x "HNWC" zero-padded along w, where the (t, c) pairs of a window row are one contiguous run
//     when dw = 1 and G = 1 (else one row group per t). The w padding makes every t valid, so a
//     tile (r, row panel, o-block) has one segment per output pixel with a valid row.
// Threads: the batch chunks are split statically (split-K over the batch; deterministic); each thread
// re-lays out its chunk into its own L2-sized buffers and sums every tile into its own
// accumulators; the final scatter into dw's (O, Cg, R, S) layout adds the per-thread partial sums.
// (Sharing the tiles of each chunk between the threads instead needs a barrier per chunk and has
// each thread read the whole chunk; with the batch split, a thread reads only its samples, and
// the chunk-to-thread map is fixed, so results are bit-reproducible.)
//
// Why, measured on this machine (one core, thread CPU time; TINYGAN_PROFILE=cpu prints phases):
//   * the numpy backend's sgemm against a materialised im2col buffer: 10.8 ms on 64 -> 128 5x5/s2 and
//     31.8 ms on 128 -> 256 5x5 at batch 64; here 5.3 / 17.8 ms (torch 6.6 / 21.2 ms).
//   * without batch chunking every tile streamed all of x and dy: fine at batch 64, but at 256
//     (~20 MB) 128 -> 256 ran at 153 GFLOP/s (134 ms, torch 85 ms); chunked: 65 ms.
//   * re-laying out all of x and dy up front, instead of chunk by chunk in cache, cost 0.30 ms of
//     0.55 ms on 1 -> 64 (a 3.2 MB dy); chunked: 0.30-0.33 ms (torch 0.36 ms). Chunks of ~512 KB
//     beat 1 MB there (0.30 vs 0.44 ms) and are equal on the large layers.
#include "gemm.hpp"
#include "kernels.hpp"

#include <vector>

namespace tg {

namespace {

struct Tile {
    idx a_base, b_base;  // offsets of the tile's first A / B column within a chunk buffer
    int mr;
    ColTile ct;
    int seglist;         // which segment list
    idx q0;              // variant B: first row index q of the tile
    idx out0;            // dw offset of the tile's element (0, 0)
};

}  // namespace

void conv2d_wgrad(const float* x, const float* dy, float* dwt, const ConvGeom& g) {
    const idx N = g.N, C = g.C, H = g.H, W = g.W, O = g.O, R = g.R, S = g.S, G = g.G;
    const idx Cg = C / G, Og = O / G, T = R * S, Ho = g.Ho, Wo = g.Wo;
    const int vl = vec_len();
    const int nt = num_threads();
    PhaseTimer prof("conv2d_wgrad");

    const int force = env_int("TINYGAN_WGRAD_VARIANT", 0);  // 1 = A, 2 = B (experiments)
    const bool var_b = force ? force == 2 : (Cg < vl && Og > Cg);
    const bool flat = g.dw == 1 && G == 1;  // variant B: rows (t, c) contiguous in x
    // variant B: padded column q = w + pw; every column a window reaches exists.
    const idx Wp = var_b ? std::max(g.pw + W, g.sw * (Wo - 1) + g.dw * (S - 1) + 1) : W;

    // Batch chunking: nb samples per chunk, small enough that x and dy of a chunk fit in about half
    // of L2 and that there are >= 4 chunks per thread (dynamic load balance).
    const idx sample_bytes = 4 * (H * Wp * C + Ho * Wo * O);
    const idx chunk_bytes = static_cast<idx>(std::max(64, env_int("TINYGAN_WGRAD_CHUNK_KB", 512))) * 1024;
    const idx nb = std::max<idx>(1, std::min<idx>(ceil_div(N, 4 * nt), chunk_bytes / std::max<idx>(1, sample_bytes)));
    const idx nchunks = ceil_div(N, nb);
    const int P = static_cast<int>(std::min<idx>(nt, nchunks));  // accumulator sets (one per thread)
    const idx xsz = H * nb * Wp * C, dysz = Ho * Wo * nb * O;  // chunk buffer sizes
    float* xh = scratch(SLOT_IN, static_cast<std::size_t>(P * xsz));
    float* dyh = scratch(SLOT_IN2, static_cast<std::size_t>(P * dysz));

    // Segment lists (offsets within a chunk buffer; k = sample): variant A one per tap (valid
    // pixels), variant B one per r (output pixels whose window row r is inside the image).
    const idx lda_x = var_b ? Wp * C : C, lda_dy = O;  // k strides
    std::vector<std::vector<Seg>> lists;
    std::vector<Tile> tiles;
    if (!var_b) {
        const int nv_pref = std::min(max_nv(), std::max(1, env_int("TINYGAN_WGRAD_NV", 4)));
        const int nv_full = static_cast<int>(std::min<idx>(nv_pref, ceil_div(Cg, vl)));
        const Panels panels(Og, max_mr(nv_full));
        lists.resize(static_cast<std::size_t>(T));
        for (idx r = 0; r < R; ++r)
            for (idx t = 0; t < S; ++t) {
                auto& L = lists[static_cast<std::size_t>(r * S + t)];
                for (idx i = 0; i < Ho; ++i) {
                    const idx hi = g.sh * i + g.dh * r - g.ph;
                    if (hi < 0 || hi >= H) continue;
                    for (idx j = 0; j < Wo; ++j) {
                        const idx wi = g.sw * j + g.dw * t - g.pw;
                        if (wi < 0 || wi >= W) continue;
                        L.push_back(Seg{(i * Wo + j) * nb * O, (hi * W + wi) * nb * C});  // A = dy, B = x
                    }
                }
            }
        // order (tap, c-block, o-panel): consecutive tiles share the x rows
        for (idx gi = 0; gi < G; ++gi)
            for (idx tap = 0; tap < T; ++tap)
                for (idx c0 = 0; c0 < Cg; c0 += static_cast<idx>(nv_full) * vl)
                    for (int p = 0; p < panels.count; ++p) {
                        const idx o0 = gi * Og + panels.start(p);
                        Tile tl;
                        tl.a_base = o0;
                        tl.b_base = gi * Cg + c0;
                        tl.mr = panels.size(p);
                        tl.ct = col_tile(Cg, c0, nv_full, vl);
                        tl.seglist = static_cast<int>(tap);
                        tl.q0 = 0;
                        tl.out0 = (o0 * Cg + c0) * T + tap;  // (m, l) -> + m*Cg*T + l*T
                        tiles.push_back(tl);
                    }
    } else {
        const int nv_pref = std::min(max_nv(), std::max(1, env_int("TINYGAN_WGRAD_NV", 4)));
        const int nv_full = static_cast<int>(std::min<idx>(nv_pref, ceil_div(Og, vl)));
        lists.resize(static_cast<std::size_t>(R));
        for (idx r = 0; r < R; ++r) {
            auto& L = lists[static_cast<std::size_t>(r)];
            for (idx i = 0; i < Ho; ++i) {
                const idx hi = g.sh * i + g.dh * r - g.ph;
                if (hi < 0 || hi >= H) continue;
                for (idx j = 0; j < Wo; ++j)  // A = x rows ((t, c) at padded column sw*j + dw*t), B = dy
                    L.push_back(Seg{hi * nb * Wp * C + g.sw * j * C, (i * Wo + j) * nb * O});
            }
        }
        const idx group_rows = flat ? S * Cg : Cg;  // (t, c) flattened, or one group per t
        const Panels panels(group_rows, max_mr(nv_full));
        for (idx gi = 0; gi < G; ++gi)
            for (idx r = 0; r < R; ++r)
                for (idx t0 = 0; t0 < (flat ? 1 : S); ++t0)
                    for (int p = 0; p < panels.count; ++p)
                        for (idx l0 = 0; l0 < Og; l0 += static_cast<idx>(nv_full) * vl) {
                            const idx q0 = panels.start(p);
                            Tile tl;
                            tl.a_base = g.dw * t0 * C + gi * Cg + q0;  // flat: t0 = 0 and q = t*C + c
                            tl.b_base = gi * Og + l0;
                            tl.mr = panels.size(p);
                            tl.ct = col_tile(Og, l0, nv_full, vl);
                            tl.seglist = static_cast<int>(r);
                            // row q0 + m -> (t, c) = flat ? divmod(q0 + m, Cg) : (t0, q0 + m);
                            // column l -> o = gi*Og + l0 + l
                            tl.q0 = q0;
                            tl.out0 = (gi * Og + l0) * Cg * T + r * S + t0;
                            tiles.push_back(tl);
                        }
    }

    const idx lda = var_b ? lda_x : lda_dy, ldb = var_b ? lda_dy : lda_x;
    const idx ntiles = static_cast<idx>(tiles.size());
    // Tile-major accumulators: tile k owns mr x (nv*VL) floats at toff[k] (row stride nv*VL).
    std::vector<idx> toff(static_cast<std::size_t>(ntiles) + 1, 0);
    for (idx k = 0; k < ntiles; ++k) {
        const Tile& tl = tiles[static_cast<std::size_t>(k)];
        toff[k + 1] = toff[k] + static_cast<idx>(tl.mr) * tl.ct.nv * vl;
    }
    const idx tot = toff[ntiles];
    float* acc = scratch(SLOT_PART, static_cast<std::size_t>(P * tot));
    prof.mark("setup");

    // Re-lay out samples [n0, n1) into partition p's chunk buffers (parallel inside when called
    // outside a parallel region, serial inside one).
    auto relayout = [&](idx n0, idx n1, int p) {
        float* xb = xh + p * xsz;
        float* db = dyh + p * dysz;
        if (var_b)
            nchw_to_hnwc(x + n0 * C * H * W, xb, n1 - n0, C, H, W, g.pw, Wp, nb);
        else
            nchw_to_hwnc(x + n0 * C * H * W, xb, n1 - n0, C, H, W, nb);
        nchw_to_hwnc(dy + n0 * O * Ho * Wo, db, n1 - n0, O, Ho, Wo, nb);
    };
    auto run_tile = [&](idx k, idx klen, int p, bool accumulate) {
        const Tile& tl = tiles[static_cast<std::size_t>(k)];
        const auto& L = lists[static_cast<std::size_t>(tl.seglist)];
        const float* A = (var_b ? xh + p * xsz : dyh + p * dysz) + tl.a_base;
        const float* B = (var_b ? dyh + p * dysz : xh + p * xsz) + tl.b_base;
        get_ukr(tl.mr, tl.ct.nv, tl.ct.tail)(L.data(), static_cast<int>(L.size()), klen, A, 1, lda, B, ldb,
                                             acc + p * tot + toff[k], static_cast<idx>(tl.ct.nv) * vl, tl.ct.tail,
                                             accumulate);
    };

    // Threads take fixed (static) runs of batch chunks; each re-lays out its chunk into its own
    // buffers and runs every tile on it, summing into its own accumulators (the first chunk a
    // thread takes overwrites them). Static, not dynamic: which chunks land in which partial sum
    // must not depend on timing, or float32 results differ from run to run (exact resume of a
    // training run needs bit-identical gradients).
    std::vector<char> used(static_cast<std::size_t>(P), 0);
#pragma omp parallel num_threads(P)
    {
#ifdef _OPENMP
        const int p = omp_get_thread_num();
#else
        const int p = 0;
#endif
        bool first = true;
#pragma omp for schedule(static) nowait
        for (idx ch = 0; ch < nchunks; ++ch) {
            const idx n0 = ch * nb, n1 = std::min(N, n0 + nb);
            relayout(n0, n1, p);
            for (idx k = 0; k < ntiles; ++k) run_tile(k, n1 - n0, p, !first);
            first = false;
        }
        used[static_cast<std::size_t>(p)] = first ? 0 : 1;
    }
    prof.mark("chunks");

    // Scatter the tiles into dw (summing the batch partitions).
#pragma omp parallel for num_threads(nt) schedule(static)
    for (idx k = 0; k < ntiles; ++k) {
        const Tile& tl = tiles[static_cast<std::size_t>(k)];
        const idx ld = static_cast<idx>(tl.ct.nv) * vl;
        const idx cols = static_cast<idx>(tl.ct.nv - 1) * vl + tl.ct.tail;
        for (int m = 0; m < tl.mr; ++m) {
            idx base, step;
            if (!var_b) {
                base = tl.out0 + m * Cg * T;
                step = T;
            } else {
                const idx q = tl.q0 + m;
                const idx t = flat ? q / Cg : 0, c = flat ? q % Cg : q;
                base = tl.out0 + c * T + t;
                step = Cg * T;
            }
            const float* src = acc + toff[k] + m * ld;
            for (idx l = 0; l < cols; ++l) {
                float s = 0.f;
                for (int p = 0; p < P; ++p)
                    if (used[static_cast<std::size_t>(p)]) s += src[p * tot + l];
                dwt[base + l * step] = s;
            }
        }
    }
    prof.mark("scatter");
}

}  // namespace tg
