// conv_fwd.cu -- conv2d forward, y = conv2d(x, w), as a tiled implicit GEMM (float32, float64).
//
// Index math. x (N, C, H, W), w (O, Cg, R, S), y (N, O, Ho, Wo), all C-contiguous; G groups,
// Cg = C/G, Og = O/G, K = Cg*R*S. Per group g = blockIdx.z:
//
//     Y_g[m, o] = sum_k A[m, k] * B[k, o]        m = n*Ho*Wo + i*Wo + j,   k = c*R*S + r*S + t
//     A[m, k] = x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]     (0 in the zero padding)
//     B[k, o] = w[g*Og + o, c, r, t] = w[(g*Og + o)*K + k]
//     y[n, g*Og + o, i, j] = Y_g[m, o]
//
// Tiling: block (blockIdx.x, blockIdx.y) computes the BM x BN tile of Y_g at rows
// blockIdx.x*BM, columns blockIdx.y*BN with common.cuh's gemm_tile (256 threads, BK = 16,
// shared-memory slices, register micro-tiles). A is gathered from x with consecutive threads on
// consecutive output pixels; B is read from w along k (contiguous). Instantiations:
// conv2d_fwd_{f32,f64}_wide (64 x 64 tiles) and _narrow (256 x 16, for Og <= 16).
#include "common.cuh"

namespace {

template <typename T>
struct FwdA {  // A[m, k]: the im2col matrix, gathered from x
  const T* x;
  int M, HoWo, Wo, C, Cg, g, H, W, RS, S, sh, sw, ph, pw, dh, dw;
  struct Info { int base, h0, w0; };  // base < 0: row past M
  __device__ Info info(int m) const {
    if (m >= M) return {-1, 0, 0};
    const int n = m / HoWo, pix = m - n * HoWo, i = pix / Wo, j = pix - i * Wo;
    return {(n * C + g * Cg) * H * W, i * sh - ph, j * sw - pw};
  }
  __device__ T load(const Info& s, int k) const {
    if (s.base < 0) return T(0);
    const int c = k / RS, rt = k - c * RS, r = rt / S, t = rt - r * S;
    const int h = s.h0 + r * dh, w = s.w0 + t * dw;
    return (h >= 0 && h < H && w >= 0 && w < W) ? x[s.base + (c * H + h) * W + w] : T(0);
  }
};

template <typename T>
struct FwdB {  // B[k, o] = w[g*Og + o, k]
  const T* w;
  int Og, K, g;
  struct Info { int row; };  // row < 0: column past Og
  __device__ Info info(int o) const { return {o < Og ? (g * Og + o) * K : -1}; }
  __device__ T load(const Info& s, int k) const { return s.row < 0 ? T(0) : w[s.row + k]; }
};

template <typename T>
struct FwdStore {
  T* y;
  int M, HoWo, O, Og, g;
  __device__ void operator()(int m, int o, T v) const {
    if (m >= M || o >= Og) return;
    const int n = m / HoWo, pix = m - n * HoWo;
    y[(n * O + g * Og + o) * HoWo + pix] = v;
  }
};

template <typename T, int BM, int BN>
__device__ __forceinline__ void conv2d_fwd_block(const T* x, const T* w, T* y, int N, int C, int H,
                                                 int W, int O, int Ho, int Wo, int R, int S,
                                                 int G, int sh, int sw, int ph, int pw, int dh,
                                                 int dw) {
  const int g = blockIdx.z, Cg = C / G, Og = O / G, K = Cg * R * S, M = N * Ho * Wo;
  const FwdA<T> a{x, M, Ho * Wo, Wo, C, Cg, g, H, W, R * S, S, sh, sw, ph, pw, dh, dw};
  const FwdB<T> b{w, Og, K, g};
  const FwdStore<T> store{y, M, Ho * Wo, O, Og, g};
  tg::gemm_tile<T, BM, BN, 16, false, true>(blockIdx.x * BM, blockIdx.y * BN, K, a, b, store);
}

}  // namespace

#define TG_CONV2D_FWD(NAME, T, BM, BN)                                                           \
  extern "C" __global__ void __launch_bounds__(256, 2)                                           \
  NAME(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int N, int C, int H, \
       int W, int O, int Ho, int Wo, int R, int S, int G, int sh, int sw, int ph, int pw, int dh, \
       int dw) {                                                                                 \
    conv2d_fwd_block<T, BM, BN>(x, w, y, N, C, H, W, O, Ho, Wo, R, S, G, sh, sw, ph, pw, dh, dw); \
  }

TG_CONV2D_FWD(conv2d_fwd_f32_wide, float, 64, 64)
TG_CONV2D_FWD(conv2d_fwd_f32_narrow, float, 256, 16)
TG_CONV2D_FWD(conv2d_fwd_f64_wide, double, 64, 64)
TG_CONV2D_FWD(conv2d_fwd_f64_narrow, double, 256, 16)
