// pybind11 bindings of tinygan._C, the C++ CPU kernels (wrapped by tinygan/backends/cpp.py).
//
// The bindings take C-contiguous arrays of the exact dtype (the Python wrapper converts; a wrong
// dtype is a TypeError, not a silent copy), check shapes, allocate the output as a fresh NumPy
// array (never scratch memory: results never alias between calls), and release the GIL while
// the kernel runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "gemm.hpp"
#include "kernels.hpp"

namespace py = pybind11;
using tg::idx;

namespace tg {
void bind_pointwise(py::module_& m);  // pointwise.cpp: LeakyReLU, dropout's masked scale, bias, Adam
void bind_random(py::module_& m);     // random.cpp: dropout masks from NumPy's PCG64 stream
void bind_distance(py::module_& m);   // distance.cpp: pairwise L1 distances (torch.cdist, p = 1)
}

namespace {

template <typename T>
using Arr = py::array_t<T, py::array::c_style>;

idx out_size(idx in, idx k, idx s, idx p, idx d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

void check_params(idx sh, idx sw, idx ph, idx pw, idx dh, idx dw, idx groups) {
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0 || groups < 1)
        throw std::invalid_argument("conv: invalid stride / padding / dilation / groups");
}

Arr<float> conv2d_fwd(Arr<float> x, Arr<float> w, idx sh, idx sw, idx ph, idx pw, idx dh, idx dw, idx groups) {
    if (x.ndim() != 4 || w.ndim() != 4) throw std::invalid_argument("conv2d_fwd: x and w must be 4-D");
    check_params(sh, sw, ph, pw, dh, dw, groups);
    tg::ConvGeom g{x.shape(0), x.shape(1), x.shape(2), x.shape(3), w.shape(0), w.shape(2), w.shape(3), groups,
                   sh, sw, ph, pw, dh, dw, 0, 0};
    if (g.C != w.shape(1) * groups || g.O % groups)
        throw std::invalid_argument("conv2d_fwd: channels do not match the weight and groups");
    g.Ho = out_size(g.H, g.R, sh, ph, dh);
    g.Wo = out_size(g.W, g.S, sw, pw, dw);
    if (g.Ho < 1 || g.Wo < 1) throw std::invalid_argument("conv2d_fwd: empty output");
    Arr<float> y({g.N, g.O, g.Ho, g.Wo});
    if (y.size() == 0) return y;
    const float* xp = x.data();
    const float* wp = w.data();
    float* yp = y.mutable_data();
    {
        py::gil_scoped_release nogil;
        tg::conv2d_fwd(xp, wp, yp, g);
    }
    return y;
}

Arr<float> conv2d_dgrad(Arr<float> dy, Arr<float> w, idx N, idx C, idx H, idx W, idx sh, idx sw, idx ph, idx pw,
                        idx dh, idx dw, idx groups) {
    if (dy.ndim() != 4 || w.ndim() != 4) throw std::invalid_argument("conv2d_dgrad: dy and w must be 4-D");
    check_params(sh, sw, ph, pw, dh, dw, groups);
    tg::ConvGeom g{N, C, H, W, w.shape(0), w.shape(2), w.shape(3), groups, sh, sw, ph, pw, dh, dw,
                   dy.shape(2), dy.shape(3)};
    if (C != w.shape(1) * groups || g.O % groups || dy.shape(0) != N || dy.shape(1) != g.O)
        throw std::invalid_argument("conv2d_dgrad: shapes of dy, w and x_shape do not match");
    if (g.Ho > out_size(H, g.R, sh, ph, dh) || g.Wo > out_size(W, g.S, sw, pw, dw))
        throw std::invalid_argument("conv2d_dgrad: dy is larger than the conv's output");
    Arr<float> dx({N, C, H, W});
    if (dx.size() == 0) return dx;
    if (dy.size() == 0) {
        std::memset(dx.mutable_data(), 0, sizeof(float) * static_cast<std::size_t>(dx.size()));
        return dx;
    }
    const float* dyp = dy.data();
    const float* wp = w.data();
    float* dxp = dx.mutable_data();
    {
        py::gil_scoped_release nogil;
        tg::conv2d_dgrad(dyp, wp, dxp, g);
    }
    return dx;
}

Arr<float> conv2d_wgrad(Arr<float> x, Arr<float> dy, idx O, idx Cg, idx R, idx S, idx sh, idx sw, idx ph, idx pw,
                        idx dh, idx dw, idx groups) {
    if (x.ndim() != 4 || dy.ndim() != 4) throw std::invalid_argument("conv2d_wgrad: x and dy must be 4-D");
    check_params(sh, sw, ph, pw, dh, dw, groups);
    tg::ConvGeom g{x.shape(0), x.shape(1), x.shape(2), x.shape(3), O, R, S, groups, sh, sw, ph, pw, dh, dw,
                   dy.shape(2), dy.shape(3)};
    if (g.C != Cg * groups || O % groups || dy.shape(0) != g.N || dy.shape(1) != O)
        throw std::invalid_argument("conv2d_wgrad: shapes of x, dy and w_shape do not match");
    if (g.Ho > out_size(g.H, R, sh, ph, dh) || g.Wo > out_size(g.W, S, sw, pw, dw))
        throw std::invalid_argument("conv2d_wgrad: dy is larger than the conv's output");
    Arr<float> dw_({O, Cg, R, S});
    if (dw_.size() == 0) return dw_;
    if (dy.size() == 0 || x.size() == 0) {
        std::memset(dw_.mutable_data(), 0, sizeof(float) * static_cast<std::size_t>(dw_.size()));
        return dw_;
    }
    const float* xp = x.data();
    const float* dyp = dy.data();
    float* dwp = dw_.mutable_data();
    {
        py::gil_scoped_release nogil;
        tg::conv2d_wgrad(xp, dyp, dwp, g);
    }
    return dw_;
}

// --- batch norm: x is passed as (N, C, L) ----------------------------------------------------------

template <typename T>
const T* opt_ptr(const std::optional<Arr<T>>& a, idx C, const char* name) {
    if (!a) return nullptr;
    if (a->ndim() != 1 || a->shape(0) != C) throw std::invalid_argument(std::string("batchnorm: ") + name + " must be (C,)");
    return a->data();
}

template <typename T>
void need_3d(const Arr<T>& x) {
    if (x.ndim() != 3) throw std::invalid_argument("batchnorm: x must be passed as (N, C, L)");
}

template <typename T>
py::tuple bn_fwd_train(Arr<T> x, std::optional<Arr<T>> weight, std::optional<Arr<T>> bias, double eps) {
    need_3d(x);
    const idx N = x.shape(0), C = x.shape(1), L = x.shape(2);
    const T* wp = opt_ptr(weight, C, "weight");
    const T* bp = opt_ptr(bias, C, "bias");
    Arr<T> y({N, C, L}), mean({C}), var({C}), invstd({C});
    const T* xp = x.data();
    T *yp = y.mutable_data(), *mp = mean.mutable_data(), *vp = var.mutable_data(), *ip = invstd.mutable_data();
    if (N * L > 0) {
        py::gil_scoped_release nogil;
        tg::batchnorm_fwd_train<T>(xp, wp, bp, yp, mp, vp, ip, N, C, L, eps);
    }
    return py::make_tuple(y, mean, var, invstd);
}

template <typename T>
Arr<T> bn_fwd_eval(Arr<T> x, std::optional<Arr<T>> weight, std::optional<Arr<T>> bias, Arr<T> mean, Arr<T> invstd) {
    need_3d(x);
    const idx N = x.shape(0), C = x.shape(1), L = x.shape(2);
    const T* wp = opt_ptr(weight, C, "weight");
    const T* bp = opt_ptr(bias, C, "bias");
    const T* mp = opt_ptr(std::optional<Arr<T>>(mean), C, "mean");
    const T* ip = opt_ptr(std::optional<Arr<T>>(invstd), C, "invstd");
    Arr<T> y({N, C, L});
    const T* xp = x.data();
    T* yp = y.mutable_data();
    {
        py::gil_scoped_release nogil;
        tg::batchnorm_fwd_eval<T>(xp, wp, bp, mp, ip, yp, N, C, L);
    }
    return y;
}

template <typename T>
py::tuple bn_bwd(Arr<T> dy, Arr<T> x, std::optional<Arr<T>> weight, Arr<T> mean, Arr<T> invstd, bool training) {
    need_3d(x);
    need_3d(dy);
    const idx N = x.shape(0), C = x.shape(1), L = x.shape(2);
    if (dy.shape(0) != N || dy.shape(1) != C || dy.shape(2) != L)
        throw std::invalid_argument("batchnorm_bwd: dy and x shapes differ");
    const T* wp = opt_ptr(weight, C, "weight");
    const T* mp = opt_ptr(std::optional<Arr<T>>(mean), C, "mean");
    const T* ip = opt_ptr(std::optional<Arr<T>>(invstd), C, "invstd");
    Arr<T> dx({N, C, L}), dweight({C}), dbias({C});
    const T* dyp = dy.data();
    const T* xp = x.data();
    T *dxp = dx.mutable_data(), *dwp = dweight.mutable_data(), *dbp = dbias.mutable_data();
    if (N * L > 0) {
        py::gil_scoped_release nogil;
        tg::batchnorm_bwd<T>(dyp, xp, wp, mp, ip, training, dxp, dwp, dbp, N, C, L);
    } else {
        for (idx c = 0; c < C; ++c) dwp[c] = dbp[c] = T(0);
    }
    return py::make_tuple(dx, dweight, dbias);
}

std::string build_info() {
    std::string isa =
#if defined(__AVX512F__)
        "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
        "avx2+fma";
#else
        "portable";
#endif
#ifdef _OPENMP
    isa += ", openmp";
#endif
    return isa + ", vector length " + std::to_string(tg::vec_len()) + " floats";
}

}  // namespace

PYBIND11_MODULE(_C, m) {
    m.doc() = "tinygan C++ CPU kernels (conv2d fwd/dgrad/wgrad float32, batch norm float32/float64)";
    m.def("conv2d_fwd", &conv2d_fwd, py::arg("x"), py::arg("w"), py::arg("sh"), py::arg("sw"), py::arg("ph"),
          py::arg("pw"), py::arg("dh"), py::arg("dw"), py::arg("groups"));
    m.def("conv2d_dgrad", &conv2d_dgrad, py::arg("dy"), py::arg("w"), py::arg("n"), py::arg("c"), py::arg("h"),
          py::arg("w_"), py::arg("sh"), py::arg("sw"), py::arg("ph"), py::arg("pw"), py::arg("dh"), py::arg("dw"),
          py::arg("groups"));
    m.def("conv2d_wgrad", &conv2d_wgrad, py::arg("x"), py::arg("dy"), py::arg("o"), py::arg("cg"), py::arg("r"),
          py::arg("s"), py::arg("sh"), py::arg("sw"), py::arg("ph"), py::arg("pw"), py::arg("dh"), py::arg("dw"),
          py::arg("groups"));
    m.def("batchnorm_fwd_train", &bn_fwd_train<float>);
    m.def("batchnorm_fwd_train", &bn_fwd_train<double>);
    m.def("batchnorm_fwd_eval", &bn_fwd_eval<float>);
    m.def("batchnorm_fwd_eval", &bn_fwd_eval<double>);
    m.def("batchnorm_bwd", &bn_bwd<float>);
    m.def("batchnorm_bwd", &bn_bwd<double>);
    m.def("set_num_threads", &tg::set_num_threads, "Threads every kernel uses (0: OpenMP's default)");
    m.def("get_num_threads", &tg::num_threads);
    m.def("clear_workspace", &tg::clear_scratch, "Free the calling thread's scratch buffers");
    m.def("build_info", &build_info);
    tg::bind_pointwise(m);
    tg::bind_random(m);
    tg::bind_distance(m);
}
