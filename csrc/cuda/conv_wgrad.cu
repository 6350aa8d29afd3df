// conv_wgrad.cu -- conv2d weight gradient dw = ConvWeightMap(x)^T dy as a tiled implicit GEMM
// split over output pixels, plus the deterministic sum of the splits (float32, float64).
//
// Index math. x (N, C, H, W), dy (N, O, Ho, Wo), dw (O, Cg, R, S), C-contiguous; Kw = Cg*R*S.
// The adjoint of w -> conv2d(x, w) contracts over dy's pixels p = n*Ho*Wo + i*Wo + j (P of them;
// (Ho, Wo) are dy's, so a cropped dy just has fewer). Computed transposed, so that the rows
// (the fast axis of the output tile) run along dw's contiguous axis:
//
//     dW_g[kw, o] = sum_p A[kw, p] * B[p, o]          kw = c*R*S + r*S + t
//     A[kw, p] = x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw]      (0 in the padding)
//     B[p, o]  = dy[n, g*Og + o, i, j]
//     dw[g*Og + o, c, r, t] = dW_g[kw, o]
//
// Split: the output (Kw x Og per group) is small and the reduction long, so blockIdx.z =
// g*splits + s, and block s sums only p in [s*chunk, min(P, (s+1)*chunk)), writing
// partial[s, g*Og + o, kw] (shape (splits, O, Kw)). conv2d_wgrad_reduce_* then adds the splits
// in a fixed order (deterministic, unlike atomics). With splits = 1, partial is dw itself.
//
// Tiling: gemm_tile (BK = 16 pixels per step), both operands staged with consecutive threads on
// consecutive pixels (contiguous in x and dy). conv2d_wgrad_{f32,f64}_wide (64 x 64) and
// _narrow (256 x 16, for Og <= 16).
#include "common.cuh"

namespace {

template <typename T>
struct WgradA {  // A[kw, p]: im2col of x, transposed
  const T* x;
  int Kw, RS, S, C, Cg, g, H, W, HoWo, Wo, sh, sw, ph, pw, dh, dw, p0;
  struct Info { int coff, h0, w0; };  // coff < 0: row past Kw
  __device__ Info info(int kw) const {
    if (kw >= Kw) return {-1, 0, 0};
    const int c = kw / RS, rt = kw - c * RS, r = rt / S, t = rt - r * S;
    return {(g * Cg + c) * H * W, r * dh - ph, t * dw - pw};
  }
  __device__ T load(const Info& s, int k) const {
    if (s.coff < 0) return T(0);
    const int p = p0 + k, n = p / HoWo, pix = p - n * HoWo, i = pix / Wo, j = pix - i * Wo;
    const int h = i * sh + s.h0, w = j * sw + s.w0;
    return (h >= 0 && h < H && w >= 0 && w < W) ? x[n * C * H * W + s.coff + h * W + w] : T(0);
  }
};

template <typename T>
struct WgradB {  // B[p, o] = dy[n, g*Og + o, i, j]
  const T* dy;
  int O, Og, g, HoWo, p0;
  struct Info { int off; };  // off < 0: column past Og
  __device__ Info info(int o) const { return {o < Og ? (g * Og + o) * HoWo : -1}; }
  __device__ T load(const Info& s, int k) const {
    if (s.off < 0) return T(0);
    const int p = p0 + k, n = p / HoWo;
    return dy[n * O * HoWo + s.off + p - n * HoWo];
  }
};

template <typename T>
struct WgradStore {
  T* out;
  int Kw, Og, g;
  __device__ void operator()(int kw, int o, T v) const {
    if (kw < Kw && o < Og) out[(g * Og + o) * Kw + kw] = v;
  }
};

template <typename T, int BM, int BN>
__device__ __forceinline__ void conv2d_wgrad_block(const T* x, const T* dy, T* partial, int N, int C,
                                                   int H, int W, int O, int Ho, int Wo, int R,
                                                   int S, int G, int sh, int sw, int ph, int pw,
                                                   int dh, int dw, int splits, int chunk) {
  const int g = blockIdx.z / splits, split = blockIdx.z % splits;
  const int Cg = C / G, Og = O / G, Kw = Cg * R * S, P = N * Ho * Wo;
  const int p0 = split * chunk, len = (P - p0 < chunk ? P - p0 : chunk);
  const WgradA<T> a{x, Kw, R * S, S, C, Cg, g, H, W, Ho * Wo, Wo, sh, sw, ph, pw, dh, dw, p0};
  const WgradB<T> b{dy, O, Og, g, Ho * Wo, p0};
  const WgradStore<T> store{partial + static_cast<long long>(split) * O * Kw, Kw, Og, g};
  tg::gemm_tile<T, BM, BN, 16, true, true>(blockIdx.x * BM, blockIdx.y * BN, len > 0 ? len : 0,
                                            a, b, store);
}

// dw[e] = sum_s partial[s, e] for e < count, in order s = 0, 1, ...
template <typename T>
__device__ __forceinline__ void wgrad_reduce(const T* partial, T* dw, int splits, int count) {
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < count; e += gridDim.x * blockDim.x) {
    T total = T(0);
    for (int s = 0; s < splits; ++s) total += partial[static_cast<long long>(s) * count + e];
    dw[e] = total;
  }
}

}  // namespace

#define TG_CONV2D_WGRAD(NAME, T, BM, BN)                                                          \
  extern "C" __global__ void __launch_bounds__(256, 2)                                            \
  NAME(const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ partial, int N, int C,  \
       int H, int W, int O, int Ho, int Wo, int R, int S, int G, int sh, int sw, int ph, int pw,  \
       int dh, int dw, int splits, int chunk) {                                                   \
    conv2d_wgrad_block<T, BM, BN>(x, dy, partial, N, C, H, W, O, Ho, Wo, R, S, G, sh, sw, ph, pw, \
                                  dh, dw, splits, chunk);                                         \
  }

TG_CONV2D_WGRAD(conv2d_wgrad_f32_wide, float, 64, 64)
TG_CONV2D_WGRAD(conv2d_wgrad_f32_narrow, float, 256, 16)
TG_CONV2D_WGRAD(conv2d_wgrad_f64_wide, double, 64, 64)
TG_CONV2D_WGRAD(conv2d_wgrad_f64_narrow, double, 256, 16)

extern "C" __global__ void conv2d_wgrad_reduce_f32(const float* __restrict__ partial,
                                                   float* __restrict__ dw, int splits, int count) {
  wgrad_reduce<float>(partial, dw, splits, count);
}

extern "C" __global__ void conv2d_wgrad_reduce_f64(const double* __restrict__ partial,
                                                   double* __restrict__ dw, int splits, int count) {
  wgrad_reduce<double>(partial, dw, splits, count);
}
