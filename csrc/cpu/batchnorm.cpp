// Batch normalisation kernels (spec: tinygan/backends/numpy_norm.py), float32 and float64.
//
// x is viewed as (N, C, L) (L = H*W, or 1 for BatchNorm1d on (N, C)); per channel c the m = N*L
// values x[n, c, l] are reduced.
//
//   train fwd:  mu = mean(x), var = mean((x - mu)^2) (biased), invstd = 1 / sqrt(var + eps),
//               y = (x - mu) * (invstd * weight) + bias
//   eval fwd:   y = (x - mean) * (invstd * weight) + bias   (mean, invstd given: the running stats)
//   bwd:        dbias = sum(dy), dweight = invstd * sum(dy * (x - mu)),
//               train: dx = s*dy - s*mean(dy) - (x - mu) * (s * invstd * dweight / m),  s = invstd*weight
//               eval:  dx = s*dy
//
// Algorithm: two passes over x per kernel (statistics, then the fused elementwise pass), the
// per-channel sums accumulated in double over values shifted by the channel's first element
// (sum(x - x0), sum((x - x0)^2): no cancellation when |mean| >> std, one read of x instead of
// the two a centred two-pass variance needs). OpenMP over channels (L > 1: each channel's N
// rows of L floats, the sums vectorised across the L positions, each with its own double
// accumulator, added up once per channel) or over blocks of channels (L = 1: rows of C floats,
// the sums vectorised across channels). No -ffast-math: the only reassociated sums are
// `omp simd reduction`s, which OpenMP allows.
//
// Why, measured on this machine (batch 64, float32): every pass is memory bound; the NumPy spec
// makes ~6 passes with temporaries (mean, centre, square, mean, scale, shift). One core, thread
// CPU time, (64, 256, 7, 7): forward 0.18 ms (numpy_norm 1.4 ms, torch native_batch_norm
// 1.1 ms), backward 0.26 ms (numpy_norm 1.8 ms, torch 0.36 ms); with one reduction per 49-value
// row instead of the per-position accumulators below the backward took 0.45 ms. Also tried:
// blocks of ~512 consecutive-channel positions (one contiguous run per sample, the same code
// for 1d and 2d): slower, 0.118 vs 0.084 ms forward and 0.147 vs 0.126 ms backward (2 threads,
// A/B in one process).
// Backward with an output over 4 MB (float32, AVX-512): dx is written with non-temporal stores,
// so its lines are not first read into the caches (read-for-ownership) only to evict the dy and
// x rows the second pass re-reads. 2 threads, medians of 15 alternating calls with torch:
// (256, 64, 14, 14) 2.91 -> 2.07 ms (torch 2.73 / 2.26 in the two runs), (256, 128, 7, 7)
// 2.06 -> 1.30 ms (torch 2.20 / 1.48); below 4 MB dx is consumed from cache, plain stores.
// The statistics passes prefetch the rows two ahead (a channel's rows are L-value runs C*L
// apart, too short for the hardware prefetchers): 2 threads, A/B in one process, backward
// (256, 64, 14, 14) 2.1-2.4 -> 1.5-1.6 ms (torch 2.1-2.8), forward 2.07 -> 1.34 ms (torch 5.2-5.5),
// forward (256, 128, 7, 7) 0.75 -> 0.53 ms.
// The running-statistics update (C floats) is done in the Python wrapper with the spec's own
// NumPy expressions.
#include "kernels.hpp"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace tg {

namespace {

// Channels per work item when L == 1 (rows of C floats): 512 channels (2 KB row segments) at
// N = 64, 128 at N = 256 (a block's N rows then stay in L2 between the two passes), and for an
// input larger than 8 MB one block per thread (the rows stream through in long runs; the
// second pass re-reads from L3/DRAM). Measured in one process, 2 threads, (N, 12544) fwd / bwd:
// N = 64: cb 512 0.120 / 0.126 ms, 128 0.132 / 0.137, 2048 0.158 / 0.198, 6272 0.147 / 0.176;
// N = 256: 512 0.73-0.85 / 1.28-1.31 ms, 128 0.72 / 1.11, 2048 0.94 / 1.61, 6272 0.71 / 1.23.
// Outputs larger than this are written with non-temporal stores (AVX-512 float32 only): about
// the two cores' L2s, past which dx would only evict the inputs still to be read.
constexpr std::size_t kStreamBytes = std::size_t(4) << 20;

inline idx chan_block(idx N, idx C, int nt) {
    if (N * C * 4 > (8 << 20)) return std::max<idx>(16, ceil_div(ceil_div(C, nt), 16) * 16);
    const idx cb = (32768 / std::max<idx>(N, 1)) / 16 * 16;
    return std::min<idx>(512, std::max<idx>(128, cb));
}

template <typename T>
inline T wt(const T* weight, idx c) { return weight ? weight[c] : T(1); }

// Per-channel sums over N rows of L values (rows `ld` apart), in double. Rows are short (49 for
// a 7x7 plane), so instead of a reduction per row (a horizontal sum every 49 values, which made
// the backward 25% slower than torch's at 256x7x7), each position l keeps its own double
// accumulators across the rows (a plain vectorisable loop: no reassociation needed), and the
// L partial sums are added once per channel.
constexpr idx kMaxAccL = 4096;

// A channel's rows are short runs (L values) ld apart: too short for the hardware prefetchers to
// ramp up on, so the rows kPrefetchRows ahead are requested explicitly.
constexpr idx kPrefetchRows = 2;
template <typename T>
inline void prefetch_rows(const T* a, const T* b, idx L) {
    const char* pa = reinterpret_cast<const char*>(a);
    const char* pb = reinterpret_cast<const char*>(b);
    for (idx off = 0; off < L * static_cast<idx>(sizeof(T)); off += 64) {
        __builtin_prefetch(pa + off);
        if (pb) __builtin_prefetch(pb + off);
    }
}

template <typename T, typename F>
void channel_sums(const T* base, idx ld, idx N, idx L, F term, double& s1, double& s2) {
    s1 = s2 = 0;
    if (L > kMaxAccL) {  // long rows: reduce each row directly
        for (idx n = 0; n < N; ++n) {
            const T* row = base + n * ld;
            double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
            for (idx l = 0; l < L; ++l) {
                const auto t = term(row[l], l);
                a += t.first;
                b += t.second;
            }
            s1 += a;
            s2 += b;
        }
        return;
    }
    alignas(64) double a1[kMaxAccL], a2[kMaxAccL];
    for (idx l = 0; l < L; ++l) a1[l] = a2[l] = 0;
    for (idx n = 0; n < N; ++n) {
        const T* row = base + n * ld;
        if (n + kPrefetchRows < N) prefetch_rows(row + kPrefetchRows * ld, static_cast<const T*>(nullptr), L);
#pragma omp simd
        for (idx l = 0; l < L; ++l) {
            const auto t = term(row[l], l);
            a1[l] += t.first;
            a2[l] += t.second;
        }
    }
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (idx l = 0; l < L; ++l) {
        a += a1[l];
        b += a2[l];
    }
    s1 = a;
    s2 = b;
}

// sum(dy) and sum(dy * (x - mu)) of one channel, same scheme.
template <typename T>
void channel_sums2(const T* dy, const T* x, idx ld, idx N, idx L, double mu, double& s1, double& s2) {
    s1 = s2 = 0;
    if (L > kMaxAccL) {
        for (idx n = 0; n < N; ++n) {
            const T* g = dy + n * ld;
            const T* row = x + n * ld;
            double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
            for (idx l = 0; l < L; ++l) {
                const double gd = static_cast<double>(g[l]);
                a += gd;
                b += gd * (static_cast<double>(row[l]) - mu);
            }
            s1 += a;
            s2 += b;
        }
        return;
    }
    alignas(64) double a1[kMaxAccL], a2[kMaxAccL];
    for (idx l = 0; l < L; ++l) a1[l] = a2[l] = 0;
    for (idx n = 0; n < N; ++n) {
        const T* g = dy + n * ld;
        const T* row = x + n * ld;
        if (n + kPrefetchRows < N) prefetch_rows(g + kPrefetchRows * ld, row + kPrefetchRows * ld, L);
#pragma omp simd
        for (idx l = 0; l < L; ++l) {
            const double gd = static_cast<double>(g[l]);
            a1[l] += gd;
            a2[l] += gd * (static_cast<double>(row[l]) - mu);
        }
    }
    double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (idx l = 0; l < L; ++l) {
        a += a1[l];
        b += a2[l];
    }
    s1 = a;
    s2 = b;
}
template <typename T>
inline T bs(const T* bias, idx c) { return bias ? bias[c] : T(0); }
// The variance E[d^2] - E[d]^2 can round below 0: clamp it, but keep a NaN (a channel holding
// Inf or NaN) as the numpy spec and PyTorch do -- std::max(0.0, NaN) would return 0.
inline double nonnegative(double v) { return v < 0.0 ? 0.0 : v; }

}  // namespace

template <typename T>
void batchnorm_fwd_train(const T* x, const T* weight, const T* bias, T* y, T* mean, T* var, T* invstd,
                         idx N, idx C, idx L, double eps) {
    const int nt = num_threads();
    const double m = static_cast<double>(N * L);
    if (L > 1) {
#pragma omp parallel for num_threads(nt) schedule(static) if (N * C * L > 32768)
        for (idx c = 0; c < C; ++c) {
            const double shift = static_cast<double>(x[c * L]);
            double s1, s2;
            channel_sums(x + c * L, C * L, N, L, [shift](T v, idx) {
                const double d = static_cast<double>(v) - shift;
                return std::pair<double, double>(d, d * d);
            }, s1, s2);
            const double dm = s1 / m, mu = shift + dm;
            const double v = nonnegative(s2 / m - dm * dm);
            const double is = 1.0 / std::sqrt(v + eps);
            mean[c] = static_cast<T>(mu);
            var[c] = static_cast<T>(v);
            invstd[c] = static_cast<T>(is);
            const T mu_t = static_cast<T>(mu), a = static_cast<T>(is) * wt(weight, c), b = bs(bias, c);
            for (idx n = 0; n < N; ++n) {
                const T* row = x + (n * C + c) * L;
                T* out = y + (n * C + c) * L;
#pragma omp simd
                for (idx l = 0; l < L; ++l) out[l] = (row[l] - mu_t) * a + b;
            }
        }
        return;
    }
    const idx kChanBlock = chan_block(N, C, nt);
    const idx nblk = ceil_div(C, kChanBlock);
#pragma omp parallel num_threads(nt) if (N * C > 32768)
    {
        std::vector<double> s1(kChanBlock), s2(kChanBlock), sh(kChanBlock);
        std::vector<T> mu_t(kChanBlock), a(kChanBlock), b(kChanBlock);
#pragma omp for schedule(static)
        for (idx blk = 0; blk < nblk; ++blk) {
            const idx c0 = blk * kChanBlock, cn = std::min(C - c0, kChanBlock);
            double* S1 = s1.data();
            double* S2 = s2.data();
            double* SH = sh.data();
            for (idx c = 0; c < cn; ++c) {
                SH[c] = static_cast<double>(x[c0 + c]);
                S1[c] = S2[c] = 0;
            }
            for (idx n = 0; n < N; ++n) {
                const T* row = x + n * C + c0;
#pragma omp simd
                for (idx c = 0; c < cn; ++c) {
                    const double d = static_cast<double>(row[c]) - SH[c];
                    S1[c] += d;
                    S2[c] += d * d;
                }
            }
            for (idx c = 0; c < cn; ++c) {
                const double dm = S1[c] / m, mu = SH[c] + dm;
                const double v = nonnegative(S2[c] / m - dm * dm);
                const double is = 1.0 / std::sqrt(v + eps);
                mean[c0 + c] = static_cast<T>(mu);
                var[c0 + c] = static_cast<T>(v);
                invstd[c0 + c] = static_cast<T>(is);
                mu_t[c] = static_cast<T>(mu);
                a[c] = static_cast<T>(is) * wt(weight, c0 + c);
                b[c] = bs(bias, c0 + c);
            }
            const T* MU = mu_t.data();
            const T* A = a.data();
            const T* Bv = b.data();
            for (idx n = 0; n < N; ++n) {
                const T* row = x + n * C + c0;
                T* out = y + n * C + c0;
#pragma omp simd
                for (idx c = 0; c < cn; ++c) out[c] = (row[c] - MU[c]) * A[c] + Bv[c];
            }
        }
    }
}

template <typename T>
void batchnorm_fwd_eval(const T* x, const T* weight, const T* bias, const T* mean, const T* invstd, T* y,
                        idx N, idx C, idx L) {
    const int nt = num_threads();
    if (L > 1) {
#pragma omp parallel for num_threads(nt) schedule(static) collapse(2) if (N * C * L > 32768)
        for (idx n = 0; n < N; ++n)
            for (idx c = 0; c < C; ++c) {
                const T mu = mean[c], a = invstd[c] * wt(weight, c), b = bs(bias, c);
                const T* row = x + (n * C + c) * L;
                T* out = y + (n * C + c) * L;
#pragma omp simd
                for (idx l = 0; l < L; ++l) out[l] = (row[l] - mu) * a + b;
            }
        return;
    }
    std::vector<T> a(static_cast<std::size_t>(C)), b(static_cast<std::size_t>(C));
    for (idx c = 0; c < C; ++c) {
        a[c] = invstd[c] * wt(weight, c);
        b[c] = bs(bias, c);
    }
    const T* A = a.data();
    const T* Bv = b.data();
#pragma omp parallel for num_threads(nt) schedule(static) if (N * C > 32768)
    for (idx n = 0; n < N; ++n) {
        const T* row = x + n * C;
        T* out = y + n * C;
#pragma omp simd
        for (idx c = 0; c < C; ++c) out[c] = (row[c] - mean[c]) * A[c] + Bv[c];
    }
}

// dx[l] = g[l] k1 + k0 - (x[l] - mu) k2 (k0 = k2 = 0 in eval), one row of L values.
template <typename T>
inline void bwd_row(const T* g, const T* row, T* out, idx L, T k1, T k0, T k2, T mu, bool /*stream*/) {
#pragma omp simd
    for (idx l = 0; l < L; ++l) out[l] = g[l] * k1 + k0 - (row[l] - mu) * k2;
}

#if defined(__AVX512F__)
// float32 with streaming stores: scalar up to a 64-byte boundary, 16-float non-temporal stores,
// scalar tail. Same expression, same rounding as the plain row (FMA contraction aside).
template <>
inline void bwd_row<float>(const float* g, const float* row, float* out, idx L, float k1, float k0, float k2,
                           float mu, bool stream) {
    idx l = 0;
    if (stream) {
        for (; l < L && (reinterpret_cast<std::uintptr_t>(out + l) & 63); ++l)
            out[l] = g[l] * k1 + k0 - (row[l] - mu) * k2;
        const __m512 K1 = _mm512_set1_ps(k1), K0 = _mm512_set1_ps(k0), K2 = _mm512_set1_ps(k2),
                     MU = _mm512_set1_ps(mu);
        for (; l + 16 <= L; l += 16) {
            const __m512 a = _mm512_fmadd_ps(_mm512_loadu_ps(g + l), K1, K0);
            const __m512 v = _mm512_fnmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(row + l), MU), K2, a);
            _mm512_stream_ps(out + l, v);
        }
    }
#pragma omp simd
    for (idx q = l; q < L; ++q) out[q] = g[q] * k1 + k0 - (row[q] - mu) * k2;
}
inline void stream_fence() { _mm_sfence(); }
#else
inline void stream_fence() {}
#endif

template <typename T>
void batchnorm_bwd(const T* dy, const T* x, const T* weight, const T* mean, const T* invstd, bool training,
                   T* dx, T* dweight, T* dbias, idx N, idx C, idx L) {
    const int nt = num_threads();
    const double m = static_cast<double>(N * L);
    if (L > 1) {
        // dx larger than the L2s: stream it past the caches (no read-for-ownership of its lines).
        const bool stream = static_cast<std::size_t>(N * C * L) * sizeof(T) > kStreamBytes;
#pragma omp parallel num_threads(nt) if (N * C * L > 32768)
        {
#pragma omp for schedule(static)
            for (idx c = 0; c < C; ++c) {
                const double mu = static_cast<double>(mean[c]);
                double sdy, sdx;
                channel_sums2(dy + c * L, x + c * L, C * L, N, L, mu, sdy, sdx);
                const double is = static_cast<double>(invstd[c]);
                const double s = is * static_cast<double>(wt(weight, c));
                const double dwc = sdx * is;
                dweight[c] = static_cast<T>(dwc);
                dbias[c] = static_cast<T>(sdy);
                const T k1 = static_cast<T>(s);
                const T k0 = training ? static_cast<T>(-s * sdy / m) : T(0);
                const T k2 = training ? static_cast<T>(s * is * dwc / m) : T(0);
                const T mu_t = mean[c];
                for (idx n = 0; n < N; ++n) {
                    const T* g = dy + (n * C + c) * L;
                    const T* row = x + (n * C + c) * L;
                    T* out = dx + (n * C + c) * L;
                    bwd_row(g, row, out, L, k1, k0, k2, mu_t, stream);
                }
            }
            stream_fence();
        }
        return;
    }
    const idx kChanBlock = chan_block(N, C, nt);
    const idx nblk = ceil_div(C, kChanBlock);
#pragma omp parallel num_threads(nt) if (N * C > 32768)
    {
        std::vector<double> s1(kChanBlock), s2(kChanBlock), mu(kChanBlock);
        std::vector<T> k0(kChanBlock), k1(kChanBlock), k2(kChanBlock), mt(kChanBlock);
#pragma omp for schedule(static)
        for (idx blk = 0; blk < nblk; ++blk) {
            const idx c0 = blk * kChanBlock, cn = std::min(C - c0, kChanBlock);
            double* S1 = s1.data();
            double* S2 = s2.data();
            double* MU = mu.data();
            for (idx c = 0; c < cn; ++c) {
                MU[c] = static_cast<double>(mean[c0 + c]);
                S1[c] = S2[c] = 0;
            }
            for (idx n = 0; n < N; ++n) {
                const T* g = dy + n * C + c0;
                const T* row = x + n * C + c0;
#pragma omp simd
                for (idx c = 0; c < cn; ++c) {
                    const double gd = static_cast<double>(g[c]);
                    S1[c] += gd;
                    S2[c] += gd * (static_cast<double>(row[c]) - MU[c]);
                }
            }
            for (idx c = 0; c < cn; ++c) {
                const double is = static_cast<double>(invstd[c0 + c]);
                const double s = is * static_cast<double>(wt(weight, c0 + c));
                const double dwc = S2[c] * is;
                dweight[c0 + c] = static_cast<T>(dwc);
                dbias[c0 + c] = static_cast<T>(S1[c]);
                k1[c] = static_cast<T>(s);
                k0[c] = training ? static_cast<T>(-s * S1[c] / m) : T(0);
                k2[c] = training ? static_cast<T>(s * is * dwc / m) : T(0);
                mt[c] = mean[c0 + c];
            }
            const T* K0 = k0.data();
            const T* K1 = k1.data();
            const T* K2 = k2.data();
            const T* MT = mt.data();
            for (idx n = 0; n < N; ++n) {
                const T* g = dy + n * C + c0;
                const T* row = x + n * C + c0;
                T* out = dx + n * C + c0;
#pragma omp simd
                for (idx c = 0; c < cn; ++c) out[c] = g[c] * K1[c] + K0[c] - (row[c] - MT[c]) * K2[c];
            }
        }
    }
}

#define TG_INSTANTIATE(T)                                                                                      \
    template void batchnorm_fwd_train<T>(const T*, const T*, const T*, T*, T*, T*, T*, idx, idx, idx, double); \
    template void batchnorm_fwd_eval<T>(const T*, const T*, const T*, const T*, const T*, T*, idx, idx, idx);  \
    template void batchnorm_bwd<T>(const T*, const T*, const T*, const T*, const T*, bool, T*, T*, T*, idx, idx, idx);
TG_INSTANTIATE(float)
TG_INSTANTIATE(double)
#undef TG_INSTANTIATE

}  // namespace tg
