// Pairwise L1 distances, torch.cdist with p = 1 (spec: cdist_l1 / cdist_l1_vjp in
// tinygan/backends/reference.py). Minibatch discrimination's closeness of every pair of samples.
//
//   cdist_l1(x1, x2)         d[b, i, j] = sum_m |x1[b, i, m] - x2[b, j, m]|
//                            x1 (B, P, M), x2 (B, R, M) -> d (B, P, R)
//   cdist_l1_vjp(x1, x2, g)  s[b, i, j, m] = sign(x1[b, i, m] - x2[b, j, m])   (0 where equal)
//                            dx1[b, i, m] =  sum_j g[b, i, j] s[b, i, j, m]
//                            dx2[b, j, m] = -sum_i g[b, i, j] s[b, i, j, m]
//
// Why: as NumPy expressions both broadcast to (B, P, R, M) and take ~10 passes over it (in the
// default DCGAN's D, 100 x 64 x 64 x 5 = 2 M elements, three times a step). Here each batch b
// transposes its x2 to (M, R) once, so the loop over j is contiguous and vectorises, and nothing
// (B, P, R, M)-sized is ever stored: one pass for the distances, one for the VJP. The batches
// are split over the threads. Sums run in the array's dtype in the order j = 0, 1, ... (m, i for
// dx2), so results match the spec to rounding, not bits.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

namespace py = pybind11;
using tg::idx;

namespace {

template <typename T>
using Arr = py::array_t<T, py::array::c_style>;

constexpr idx kSerial = 1 << 16;  // below this many (b, i, j, m) terms one thread does it all

void check_pair(const py::array& x1, const py::array& x2, const char* op) {
    if (x1.ndim() != 3 || x2.ndim() != 3 || x1.shape(0) != x2.shape(0) || x1.shape(2) != x2.shape(2))
        throw std::invalid_argument(std::string(op) + ": expected x1 (B, P, M) and x2 (B, R, M)");
}

// xt (M, R) <- x (R, M): one batch's x2 with the feature axis outermost.
template <typename T>
void transpose_rows(const T* x, T* xt, idx R, idx M) {
    for (idx j = 0; j < R; ++j)
        for (idx m = 0; m < M; ++m) xt[m * R + j] = x[j * M + m];
}

template <typename T>
Arr<T> cdist_l1(Arr<T> x1, Arr<T> x2) {
    check_pair(x1, x2, "cdist_l1");
    const idx B = x1.shape(0), P = x1.shape(1), R = x2.shape(1), M = x1.shape(2);
    Arr<T> d({B, P, R});
    const T *ap = x1.data(), *bp = x2.data();
    T* dp = d.mutable_data();
    {
        py::gil_scoped_release nogil;
#pragma omp parallel num_threads(tg::num_threads()) if (B * P * R * M >= kSerial && B > 1)
        {
            std::vector<T> xt(static_cast<std::size_t>(M * R));
#pragma omp for schedule(static)
            for (idx b = 0; b < B; ++b) {
                transpose_rows(bp + b * R * M, xt.data(), R, M);
                for (idx i = 0; i < P; ++i) {
                    const T* a = ap + (b * P + i) * M;
                    T* __restrict row = dp + (b * P + i) * R;
                    for (idx j = 0; j < R; ++j) row[j] = T(0);
                    for (idx m = 0; m < M; ++m) {
                        const T am = a[m];
                        const T* __restrict col = xt.data() + m * R;
#pragma omp simd
                        for (idx j = 0; j < R; ++j) row[j] += std::abs(am - col[j]);
                    }
                }
            }
        }
    }
    return d;
}

template <typename T>
py::tuple cdist_l1_vjp(Arr<T> x1, Arr<T> x2, Arr<T> g) {
    check_pair(x1, x2, "cdist_l1_vjp");
    const idx B = x1.shape(0), P = x1.shape(1), R = x2.shape(1), M = x1.shape(2);
    if (g.ndim() != 3 || g.shape(0) != B || g.shape(1) != P || g.shape(2) != R)
        throw std::invalid_argument("cdist_l1_vjp: g must be (B, P, R), the distances' shape");
    Arr<T> dx1({B, P, M}), dx2({B, R, M});
    const T *ap = x1.data(), *bp = x2.data(), *gp = g.data();
    T *d1 = dx1.mutable_data(), *d2 = dx2.mutable_data();
    {
        py::gil_scoped_release nogil;
#pragma omp parallel num_threads(tg::num_threads()) if (B * P * R * M >= kSerial && B > 1)
        {
            std::vector<T> xt(static_cast<std::size_t>(M * R)), acc(static_cast<std::size_t>(M * R));
#pragma omp for schedule(static)
            for (idx b = 0; b < B; ++b) {
                transpose_rows(bp + b * R * M, xt.data(), R, M);
                std::fill(acc.begin(), acc.end(), T(0));
                for (idx i = 0; i < P; ++i) {
                    const T* a = ap + (b * P + i) * M;
                    const T* __restrict gr = gp + (b * P + i) * R;
                    for (idx m = 0; m < M; ++m) {
                        const T am = a[m];
                        const T* __restrict col = xt.data() + m * R;
                        T* __restrict out = acc.data() + m * R;
                        T s1 = T(0);
#pragma omp simd reduction(+ : s1)
                        for (idx j = 0; j < R; ++j) {
                            const T v = col[j];
                            const T gs = gr[j] * (T(am > v) - T(am < v));
                            s1 += gs;
                            out[j] -= gs;
                        }
                        d1[(b * P + i) * M + m] = s1;
                    }
                }
                for (idx j = 0; j < R; ++j)
                    for (idx m = 0; m < M; ++m) d2[(b * R + j) * M + m] = acc[m * R + j];
            }
        }
    }
    return py::make_tuple(dx1, dx2);
}

}  // namespace

namespace tg {

void bind_distance(py::module_& m) {
    m.def("cdist_l1", &cdist_l1<float>);
    m.def("cdist_l1", &cdist_l1<double>);
    m.def("cdist_l1_vjp", &cdist_l1_vjp<float>);
    m.def("cdist_l1_vjp", &cdist_l1_vjp<double>);
}

}  // namespace tg
