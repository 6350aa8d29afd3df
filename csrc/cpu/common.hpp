// tinygan C++ CPU kernels: shared declarations (threads, scratch memory, layout transposes, SIMD).
//
// Layouts. Every tensor crosses the Python boundary as C-contiguous NCHW float32. Inside the
// "slab" conv kernels (and wgrad) the operands are re-laid out once, by cache-blocked 2-D
// transposes (common.cpp), so that the GEMM micro-kernel (gemm.hpp) reads every operand as
// contiguous rows and never gathers (the "direct" paths of conv_fwd / conv_dgrad keep NCHW and
// pack per-sample im2col buffers instead):
//
//   "HWCN"  a[h][w][c][n]  (fwd / dgrad: the batch is the vector axis; a tap's channels are one
//                          contiguous slab, so an im2col column tile IS a slab of this array)
//   "HWNC"  a[h][w][n][c]  (wgrad: a channel run is the vector axis, K runs over (pixel, n) and
//                          the rows of consecutive samples are contiguous)
//   "HNWC"  a[h][n][w][c]  (wgrad of a few-channel input: (w, c) runs are contiguous)
//
// Why re-layout instead of packing im2col tiles: packing touches C*R*S*N*Ho*Wo elements (25x the
// input for 5x5 kernels), the transposes touch the input and output once each. Measured on one
// core, batch 64: both transposes of the 128 -> 256 5x5 layer take ~0.95 ms of its 17 ms.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace tg {

using idx = std::ptrdiff_t;

// --- threads ---------------------------------------------------------------------------------
// The number of OpenMP threads every kernel uses (set from Python: tinygan/backends/cpp.py).
int num_threads();
void set_num_threads(int n);

// --- scratch -----------------------------------------------------------------------------------
// A reusable, 64-byte aligned buffer per (calling thread, slot): grows, never shrinks, never
// returned to Python. First-touching fresh multi-MB allocations costs more than the copies that
// fill them on this kind of VM (see benchmarks/README.md, NumPy backend), so intermediates are kept.
float* scratch(int slot, std::size_t nfloats);
void clear_scratch();
enum Slot { SLOT_IN = 0, SLOT_IN2 = 1, SLOT_PACK = 2, SLOT_OUT = 3, SLOT_PART = 4, SLOT_SEGS = 5, NSLOTS = 6 };

// --- transposes ------------------------------------------------------------------------------
// dst[j*ldd + i] = src[i*lds + j]  for i < rows, j < cols (single-threaded; callers parallelise
// over independent blocks). Cache-blocked, 8x8 AVX register transposes when available.
void transpose2d(const float* src, idx lds, float* dst, idx ldd, idx rows, idx cols);

// NCHW (n, c, h, w) -> HWCN t[((h*W + w)*C + c)*N + n]          (parallel over c)
void nchw_to_hwcn(const float* x, float* t, idx N, idx C, idx H, idx W);
// HWCN -> NCHW                                                    (parallel over c)
void hwcn_to_nchw(const float* t, float* x, idx N, idx C, idx H, idx W);
// NCHW -> HWNC t[((h*W + w)*ns + n)*C + c] for n < N <= ns      (parallel over (w block, n))
void nchw_to_hwnc(const float* x, float* t, idx N, idx C, idx H, idx W, idx ns);
// NCHW -> HNWC with the W axis zero-padded: t[((h*ns + n)*Wp + pl + w)*C + c] for n < N <= ns;
// columns [0, pl) and [pl + W, Wp) are zeros.                    (parallel over (h, n))
void nchw_to_hnwc(const float* x, float* t, idx N, idx C, idx H, idx W, idx pl, idx Wp, idx ns);

// --- phase timing (TINYGAN_PROFILE=1 prints each phase of each kernel call to stderr) ---------
struct PhaseTimer {
    explicit PhaseTimer(const char* kernel);
    void mark(const char* phase);  // time since the previous mark (or construction)
    ~PhaseTimer();
    const char* kernel;
    double t0, last;
    bool on;
    char buf[512];
    int len = 0;
};

// --- misc --------------------------------------------------------------------------------------
inline idx ceil_div(idx a, idx b) { return (a + b - 1) / b; }
// floor division for possibly negative a, b > 0
inline idx floor_div(idx a, idx b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace tg
