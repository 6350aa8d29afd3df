// Entry points of the C++ kernels, called by module.cpp (the pybind11 bindings). All arrays are
// C-contiguous; the Python wrapper (tinygan/backends/cpp.py) guarantees it and the float dtype.
#pragma once

#include "common.hpp"

namespace tg {

struct ConvGeom {
    idx N, C, H, W;      // input x
    idx O, R, S;         // weight (O, C/G, R, S)
    idx G;               // groups
    idx sh, sw, ph, pw, dh, dw;
    idx Ho, Wo;          // dy / y spatial size (for dgrad / wgrad: taken from dy, may be cropped)
};

void conv2d_fwd(const float* x, const float* w, float* y, const ConvGeom& g);
void conv2d_dgrad(const float* dy, const float* w, float* dx, const ConvGeom& g);
void conv2d_wgrad(const float* x, const float* dy, float* dw, const ConvGeom& g);

// Batch norm over x viewed as (N, C, L). weight / bias may be null (1 / 0).
template <typename T>
void batchnorm_fwd_train(const T* x, const T* weight, const T* bias, T* y, T* mean, T* var, T* invstd,
                         idx N, idx C, idx L, double eps);
template <typename T>
void batchnorm_fwd_eval(const T* x, const T* weight, const T* bias, const T* mean, const T* invstd, T* y,
                        idx N, idx C, idx L);
template <typename T>
void batchnorm_bwd(const T* dy, const T* x, const T* weight, const T* mean, const T* invstd, bool training,
                   T* dx, T* dweight, T* dbias, idx N, idx C, idx L);

}  // namespace tg
