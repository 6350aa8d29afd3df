// The register-tiled FMA micro-kernel every convolution kernel is built on (gemm.cpp).
//
// It computes one MR x NR tile of C, NR = NV vectors of VL floats (VL = 16 with AVX-512, 8 with
// AVX2 or the portable build), as a sum over "segments":
//
//     C[m*ldc + l]  (= or +=)  sum_{s < nseg} sum_{k < klen} A[segs[s].a*a_mul + k*lda + m] * B[segs[s].b + k*ldb + l]
//
// for m < MR, l < (NV-1)*VL + tail. Each k step is NV vector loads of B, MR broadcasts of A and
// MR*NV FMAs into accumulators that stay in registers for the whole sum (AVX-512: up to 28 of the
// 32 zmm registers; the tile is stored once). A segment is a run of k's whose A and B rows are
// equally spaced: for a convolution it is one kernel tap (k = channel) or one output pixel
// (k = sample). Listing only the segments that are inside the image is the implicit GEMM:
// zero padding is never materialised and never multiplied, and a strided transpose convolution
// (dgrad) visits only the taps that hit a pixel -- no zero insertion.
//
// B rows are read straight from the re-laid-out activations (common.hpp), never packed: the
// "im2col tile" of a conv column block is a slab of the HWCN / HNWC array. A is either a weight
// panel packed once per call ([tap][k][MR], a_mul = lda = MR) or activation rows read in place.
#pragma once

#include "common.hpp"

namespace tg {

struct Seg {
    idx a, b;
};

using Ukr = void (*)(const Seg* segs, int nseg, idx klen, const float* A, idx a_mul, idx lda,
                     const float* B, idx ldb, float* C, idx ldc, int tail, bool accumulate);

// Vector length in floats of the build (16 AVX-512, 8 otherwise).
int vec_len();
// Largest number of vectors per row (NV) the build has kernels for, and the largest MR for an NV.
int max_nv();
int max_mr(int nv);
// The micro-kernel for an MR x NV tile whose last vector holds `tail` (1..VL) valid lanes.
Ukr get_ukr(int mr, int nv, int tail);

// Split `m` rows into the fewest panels of at most `mr_max` rows, sizes as equal as possible
// (so 64 rows with mr_max 14 are 13+13+13+13+12, not 14+14+14+14+8).
struct Panels {
    int count = 0;
    int base = 0, extra = 0;  // the first `extra` panels have base+1 rows
    Panels() = default;
    Panels(idx m, int mr_max) {
        count = static_cast<int>(ceil_div(m, mr_max));
        base = static_cast<int>(m / count);
        extra = static_cast<int>(m % count);
    }
    int size(int p) const { return base + (p < extra ? 1 : 0); }
    idx start(int p) const { return static_cast<idx>(p) * base + std::min(p, extra); }
};

// Column tiling of a vector axis of length `len`: tiles of `nv` vectors, the last one partial.
struct ColTile {
    idx l0;
    int nv, tail;
};
inline ColTile col_tile(idx len, idx l0, int nv_pref, int vl) {
    const idx left = std::min<idx>(len - l0, static_cast<idx>(nv_pref) * vl);
    const int nv = static_cast<int>(ceil_div(left, vl));
    return {l0, nv, static_cast<int>(left - static_cast<idx>(nv - 1) * vl)};
}

// Tuning knobs read once from the environment (for experiments; defaults are the measured best).
int env_int(const char* name, int fallback);

}  // namespace tg
