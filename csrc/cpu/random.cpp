// Dropout masks from NumPy's PCG64 stream, bit for bit (spec: numpy_pointwise.keep_mask).
//
//   keep_mask(state, inc, n, threshold)   keep[i] = word_i >= threshold
//
// word_{2j} / word_{2j+1} are the low / high 32 bits of the j-th 64-bit draw of NumPy's PCG64
// (O'Neill's PCG XSL-RR 128/64) started from the 128-bit LCG state `state` with increment `inc`:
//
//   s_{j+1} = s_j * M + inc (mod 2^128),   draw_j = rotr64(hi(s_{j+1}) ^ lo(s_{j+1}), s_{j+1} >> 122)
//
// so keep[i] is exactly what NumPy computes as
// `bit_generator.random_raw((n + 1) // 2).view(np.uint32)[:n] >= threshold` from that state.
// Why: NumPy's random_raw costs ~3.5 ns per draw here; tinygan's DCGAN step draws 14 M mask
// entries per step at batch 256. An LCG can jump ahead (s_{j+k} = M^k s_j + c_k, computed in
// log2 k steps), so each thread starts at its own offset, and each thread runs 4 interleaved
// sub-streams so that the 128-bit multiplies of one step overlap (the chain of one stream is
// latency-bound). The caller advances its generator by (n + 1) / 2 draws afterwards.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>

#include "common.hpp"

namespace py = pybind11;
using tg::idx;

namespace {

using u128 = unsigned __int128;
using u64 = std::uint64_t;

constexpr u128 kMult = (static_cast<u128>(0x2360ED051FC65DA4ULL) << 64) | 0x4385DF649FCCF645ULL;
constexpr int kLanes = 4;

inline u64 output(u128 s) {
    const u64 x = static_cast<u64>(s >> 64) ^ static_cast<u64>(s);
    const unsigned rot = static_cast<unsigned>(s >> 122);
    return (x >> rot) | (x << ((64u - rot) & 63u));
}

// The state after `delta` steps from `s` (Brown's "random number generation with arbitrary
// strides": square-and-multiply on the affine map s -> s * M + inc).
u128 advance(u128 s, u128 inc, u64 delta) {
    u128 acc_mult = 1, acc_plus = 0, cur_mult = kMult, cur_plus = inc;
    while (delta) {
        if (delta & 1) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    return acc_mult * s + acc_plus;
}

inline void emit(std::uint8_t* keep, idx n, idx j, u64 draw, u64 threshold) {
    const idx i = 2 * j;
    keep[i] = static_cast<u64>(static_cast<std::uint32_t>(draw)) >= threshold;
    if (i + 1 < n) keep[i + 1] = (draw >> 32) >= threshold;
}

py::array_t<bool> keep_mask(u64 state_hi, u64 state_lo, u64 inc_hi, u64 inc_lo, idx n, u64 threshold) {
    if (n < 0) throw std::invalid_argument("keep_mask: negative size");
    if (threshold > (u64(1) << 32)) throw std::invalid_argument("keep_mask: threshold above 2^32");
    py::array_t<bool> out(n);
    std::uint8_t* keep = reinterpret_cast<std::uint8_t*>(out.mutable_data());
    const u128 s0 = (static_cast<u128>(state_hi) << 64) | state_lo;
    const u128 inc = (static_cast<u128>(inc_hi) << 64) | inc_lo;
    const idx draws = (n + 1) / 2;
    {
        py::gil_scoped_release nogil;
        const int nt = draws >= (1 << 15) ? tg::num_threads() : 1;
#pragma omp parallel num_threads(nt)
        {
#ifdef _OPENMP
            const int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
            const int t = 0, T = 1;
#endif
            const idx lo = draws * t / T, hi = draws * (t + 1) / T;
            const idx len = hi - lo, per = len / kLanes;
            u128 s[kLanes];
            idx j[kLanes];
            for (int l = 0; l < kLanes; ++l) {
                j[l] = lo + per * l;
                s[l] = advance(s0, inc, static_cast<u64>(j[l]));
            }
            for (idx k = 0; k < per; ++k) {
                for (int l = 0; l < kLanes; ++l) {
                    s[l] = s[l] * kMult + inc;
                    emit(keep, n, j[l] + k, output(s[l]), threshold);
                }
            }
            // the remainder after kLanes equal sub-ranges: lane kLanes-1 continues to `hi`
            u128 r = s[kLanes - 1];
            for (idx jj = lo + per * kLanes; jj < hi; ++jj) {
                r = r * kMult + inc;
                emit(keep, n, jj, output(r), threshold);
            }
        }
    }
    return out;
}

}  // namespace

namespace tg {

void bind_random(py::module_& m) {
    m.def("keep_mask", &keep_mask, py::arg("state_hi"), py::arg("state_lo"), py::arg("inc_hi"), py::arg("inc_lo"),
          py::arg("n"), py::arg("threshold"));
}

}  // namespace tg
