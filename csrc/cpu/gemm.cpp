// The FMA micro-kernel family (interface and math: gemm.hpp).
//
// Three builds of the same template, chosen by the compiler flags of setup.py:
//   AVX-512 (-march=native here): VL = 16, NV <= 4, MR*NV <= 28 (+ NV B vectors + 1 broadcast
//            <= 32 zmm registers); MR <= 14.
//   AVX2+FMA (TINYGAN_ARCH_FLAG="-mavx2 -mfma"): VL = 8, 16 ymm registers, MR*NV <= 12.
//   portable (-O3 only): VL = 8 lanes as a plain struct the compiler vectorises as it can.
//
// Measured on this machine (AMD EPYC, AVX-512): a register-only FMA loop reaches 254 GFLOP/s on
// one core; the conv kernels built on this micro-kernel sustain ~195-210 GFLOP/s of executed
// FMAs on the large DCGAN layers (78-82%; 236-303 "nominal" GFLOP/s, which also
// count the padded taps the implicit GEMM skips). Tiles with fewer than 8 accumulators
// (MR*NV < 8) would stall on the FMA latency, so they split the k loop over two accumulator sets.
#include "gemm.hpp"

#include <cstdlib>

namespace tg {

namespace {

#if defined(__AVX512F__)
constexpr int VL = 16;
constexpr int NV_MAX = 4;
constexpr int MR_MAX[NV_MAX + 1] = {0, 14, 14, 8, 6};
using V = __m512;
using Mask = __mmask16;
inline Mask make_mask(int tail) { return static_cast<Mask>((1u << tail) - 1u); }
inline V vzero() { return _mm512_setzero_ps(); }
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline V vloadm(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
inline void vstorem(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
inline V vbcast(const float* p) { return _mm512_set1_ps(*p); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int VL = 8;
constexpr int NV_MAX = 3;
constexpr int MR_MAX[NV_MAX + 1] = {0, 12, 6, 4};
using V = __m256;
using Mask = __m256i;
inline Mask make_mask(int tail) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline V vzero() { return _mm256_setzero_ps(); }
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline V vloadm(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
inline void vstorem(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
inline V vbcast(const float* p) { return _mm256_broadcast_ss(p); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
#else
constexpr int VL = 8;
constexpr int NV_MAX = 2;
constexpr int MR_MAX[NV_MAX + 1] = {0, 8, 4};
struct V {
    float v[VL];
};
using Mask = int;
inline Mask make_mask(int tail) { return tail; }
inline V vzero() { V r; for (int i = 0; i < VL; ++i) r.v[i] = 0.f; return r; }
inline V vload(const float* p) { V r; for (int i = 0; i < VL; ++i) r.v[i] = p[i]; return r; }
inline V vloadm(const float* p, Mask m) { V r; for (int i = 0; i < VL; ++i) r.v[i] = i < m ? p[i] : 0.f; return r; }
inline void vstore(float* p, V v) { for (int i = 0; i < VL; ++i) p[i] = v.v[i]; }
inline void vstorem(float* p, V v, Mask m) { for (int i = 0; i < m; ++i) p[i] = v.v[i]; }
inline V vbcast(const float* p) { V r; for (int i = 0; i < VL; ++i) r.v[i] = *p; return r; }
inline V vfma(V a, V b, V c) { for (int i = 0; i < VL; ++i) c.v[i] += a.v[i] * b.v[i]; return c; }
inline V vadd(V a, V b) { for (int i = 0; i < VL; ++i) a.v[i] += b.v[i]; return a; }
#endif

// One k step: NV loads of B, MR broadcasts of A, MR*NV FMAs.
template <int MR, int NV, bool TAIL>
inline __attribute__((always_inline)) void kstep(V (&acc)[MR][NV], const float* a, const float* b, Mask mask) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = (TAIL && v == NV - 1) ? vloadm(b + v * VL, mask) : vload(b + v * VL);
#pragma GCC unroll 14
    for (int m = 0; m < MR; ++m) {
        const V av = vbcast(a + m);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[m][v] = vfma(av, bv[v], acc[m][v]);
    }
}

template <int MR, int NV, bool TAIL>
void ukr_impl(const Seg* segs, int nseg, idx klen, const float* A, idx a_mul, idx lda, const float* B,
              idx ldb, float* C, idx ldc, int tail, bool accumulate) {
    constexpr int NA = (MR * NV < 8) ? 2 : 1;  // independent accumulator sets (latency hiding)
    const Mask mask = make_mask(TAIL ? tail : VL);
    V acc[NA][MR][NV];
#pragma GCC unroll 2
    for (int s = 0; s < NA; ++s)
#pragma GCC unroll 14
        for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[s][m][v] = vzero();

    for (int s = 0; s < nseg; ++s) {
        const float* a = A + segs[s].a * a_mul;
        const float* b = B + segs[s].b;
        idx k = 0;
        if constexpr (NA == 2) {
            for (; k + 2 <= klen; k += 2) {
                kstep<MR, NV, TAIL>(acc[0], a, b, mask);
                kstep<MR, NV, TAIL>(acc[1], a + lda, b + ldb, mask);
                a += 2 * lda;
                b += 2 * ldb;
            }
        }
        for (; k < klen; ++k) {
            kstep<MR, NV, TAIL>(acc[0], a, b, mask);
            a += lda;
            b += ldb;
        }
    }

#pragma GCC unroll 14
    for (int m = 0; m < MR; ++m) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            V r = acc[0][m][v];
            if constexpr (NA == 2) r = vadd(r, acc[1][m][v]);
            float* p = C + m * ldc + v * VL;
            if (TAIL && v == NV - 1) {
                if (accumulate) r = vadd(r, vloadm(p, mask));
                vstorem(p, r, mask);
            } else {
                if (accumulate) r = vadd(r, vload(p));
                vstore(p, r);
            }
        }
    }
}

// table[nv][mr][tail?]
struct Table {
    Ukr f[NV_MAX + 1][15][2] = {};
};

template <int NV, int MR>
void fill_mr(Table& t) {
    if constexpr (MR >= 1) {
        if constexpr (MR <= MR_MAX[NV]) {
            t.f[NV][MR][0] = &ukr_impl<MR, NV, false>;
            t.f[NV][MR][1] = &ukr_impl<MR, NV, true>;
        }
        fill_mr<NV, MR - 1>(t);
    }
}

template <int NV>
void fill_nv(Table& t) {
    if constexpr (NV >= 1) {
        fill_mr<NV, 14>(t);
        fill_nv<NV - 1>(t);
    }
}

const Table& table() {
    static const Table t = [] {
        Table r;
        fill_nv<NV_MAX>(r);
        return r;
    }();
    return t;
}

}  // namespace

int vec_len() { return VL; }
int max_nv() { return NV_MAX; }
int max_mr(int nv) { return MR_MAX[std::min(std::max(nv, 1), NV_MAX)]; }

Ukr get_ukr(int mr, int nv, int tail) { return table().f[nv][mr][tail < VL ? 1 : 0]; }

int env_int(const char* name, int fallback) {
    const char* s = std::getenv(name);
    if (!s || !*s) return fallback;
    return std::atoi(s);
}

}  // namespace tg
