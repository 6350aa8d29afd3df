// conv_dgrad.cu -- conv2d input gradient dx = Conv(w)^T dy as a tiled implicit GEMM per stride
// phase (float32, float64). Also conv_transpose2d's forward.
//
// Index math. dy (N, O, Ho, Wo), w (O, Cg, R, S), dx (N, C, H, W), C-contiguous. The adjoint of
// y[n, o, i, j] = sum w[o, c, r, t] x[n, g*Cg + c, sh*i + dh*r - ph, sw*j + dw*t - pw] gathers
//
//     dx[n, g*Cg + c, h, v] = sum_{o, r, t} w[g*Og + o, c, r, t] * dy[n, g*Og + o, i, j]
//         over the taps with  sh*i = h + ph - dh*r,  sw*j = v + pw - dw*t,  0 <= i < Ho, 0 <= j < Wo.
//
// Whether tap r reaches row h depends only on the phase a = h mod sh, so each block works on
// one phase (blockIdx.z = g*sh*sw + a_h*sw + a_w) and only on the taps that reach it
// (phase_taps): r = r0 + rr*step (rr < nr, step = sh / gcd(sh, dh)), and for h = a + sh*u
//
//     i = u + i0 - rr*di,    i0 = (a + ph - dh*r0) / sh,   di = dh*step / sh   (exact divisions)
//
// (likewise t0, nt, j0, dj along the width). Per phase and group that is a GEMM with rows
// m = (n, u, v) (M = N*Hu*Wu, Hu = ceil((H - a_h)/sh)), columns c < Cg and K = Og*nr*nt:
//
//     A[m, k] = dy[n, g*Og + o, u + i0 - rr*di, v + j0 - tt*dj]      k = (o*nr + rr)*nt + tt
//     B[k, c] = w[g*Og + o, c, r0 + rr*step_h, t0 + tt*step_w]
//     dx[n, g*Cg + c, a_h + sh*u, a_w + sw*v] = (A B)[m, c]
//
// No multiply is spent on a tap that misses (no zero-inserted dy). dy rows out of range
// (padding, or a dy smaller than conv's natural output: transpose conv with output_padding >=
// stride) read as 0; a phase no tap reaches gets zeros (K = 0). Each dx element is in exactly
// one phase and written once: no atomics, no memset.
//
// Tiling: as conv_fwd.cu (gemm_tile, BK = 16): block (blockIdx.x, blockIdx.y) owns a BM x BN
// tile of (dx pixels of the phase) x (input channels); the grid's x extent is sized for the
// largest phase and blocks past a smaller phase's M return at once (uniformly, before any
// barrier). conv2d_dgrad_{f32,f64}_wide (64 x 64) and _narrow (256 x 16, for Cg <= 16).
#include "common.cuh"

namespace {

struct PhaseTaps { int r0, step, count, i0, di; };

__device__ __forceinline__ PhaseTaps phase_taps(int a, int s, int p, int d, int k) {
  int x = s, y = d;  // step = s / gcd(s, d): valid taps repeat with this period
  while (y != 0) { const int t = x % y; x = y; y = t; }
  const int step = s / x;
  for (int r0 = 0; r0 < k && r0 < step; ++r0) {
    const int num = a + p - d * r0;
    if (num % s == 0) return {r0, step, (k - r0 + step - 1) / step, num / s, d * step / s};
  }
  return {0, step, 0, 0, 0};
}

template <typename T>
struct DgradA {  // A[m, k]: dy at the taps of this phase
  const T* dy;
  int M, HuWu, Wu, O, Og, g, Ho, Wo, taps, nt, i0, di, j0, dj;
  struct Info { int base, u, v; };  // base < 0: row past M
  __device__ Info info(int m) const {
    if (m >= M) return {-1, 0, 0};
    const int n = m / HuWu, uv = m - n * HuWu, u = uv / Wu;
    return {(n * O + g * Og) * Ho * Wo, u, uv - u * Wu};
  }
  __device__ T load(const Info& s, int k) const {
    if (s.base < 0) return T(0);
    const int o = k / taps, q = k - o * taps, rr = q / nt, tt = q - rr * nt;
    const int i = s.u + i0 - rr * di, j = s.v + j0 - tt * dj;
    return (i >= 0 && i < Ho && j >= 0 && j < Wo) ? dy[s.base + (o * Ho + i) * Wo + j] : T(0);
  }
};

template <typename T>
struct DgradB {  // B[k, c]: the weight taps of this phase
  const T* w;
  int Cg, Og, g, RS, S, taps, nt, r0, r_step, t0, t_step;
  struct Info { int c; };  // c < 0: column past Cg
  __device__ Info info(int c) const { return {c < Cg ? c : -1}; }
  __device__ T load(const Info& s, int k) const {
    if (s.c < 0) return T(0);
    const int o = k / taps, q = k - o * taps, rr = q / nt, tt = q - rr * nt;
    const int tap = (r0 + rr * r_step) * S + t0 + tt * t_step;
    return w[((g * Og + o) * Cg + s.c) * RS + tap];
  }
};

template <typename T>
struct DgradStore {
  T* dx;
  int M, HuWu, Wu, C, Cg, g, H, W, a_h, a_w, sh, sw;
  __device__ void operator()(int m, int c, T v) const {
    if (m >= M || c >= Cg) return;
    const int n = m / HuWu, uv = m - n * HuWu, u = uv / Wu, vv = uv - u * Wu;
    dx[((n * C + g * Cg + c) * H + a_h + sh * u) * W + a_w + sw * vv] = v;
  }
};

template <typename T, int BM, int BN>
__device__ __forceinline__ void conv2d_dgrad_block(const T* dy, const T* w, T* dx, int N, int C,
                                                   int H, int W, int O, int Ho, int Wo, int R,
                                                   int S, int G, int sh, int sw, int ph, int pw,
                                                   int dh, int dw) {
  const int phases = sh * sw, g = blockIdx.z / phases, phase = blockIdx.z % phases;
  const int a_h = phase / sw, a_w = phase % sw;
  const int Hu = a_h < H ? (H - a_h + sh - 1) / sh : 0;
  const int Wu = a_w < W ? (W - a_w + sw - 1) / sw : 0;
  const int M = N * Hu * Wu;
  if (static_cast<int>(blockIdx.x) * BM >= M) return;  // whole block: this phase is smaller
  const PhaseTaps th = phase_taps(a_h, sh, ph, dh, R), tw = phase_taps(a_w, sw, pw, dw, S);
  const int Cg = C / G, Og = O / G, taps = th.count * tw.count;
  const DgradA<T> a{dy, M, Hu * Wu, Wu, O, Og, g, Ho, Wo, taps, tw.count, th.i0, th.di, tw.i0, tw.di};
  const DgradB<T> b{w, Cg, Og, g, R * S, S, taps, tw.count, th.r0, th.step, tw.r0, tw.step};
  const DgradStore<T> store{dx, M, Hu * Wu, Wu, C, Cg, g, H, W, a_h, a_w, sh, sw};
  tg::gemm_tile<T, BM, BN, 16, false, false>(blockIdx.x * BM, blockIdx.y * BN, Og * taps, a, b,
                                              store);
}

}  // namespace

#define TG_CONV2D_DGRAD(NAME, T, BM, BN)                                                          \
  extern "C" __global__ void __launch_bounds__(256, 2)                                            \
  NAME(const T* __restrict__ dy, const T* __restrict__ w, T* __restrict__ dx, int N, int C,       \
       int H, int W, int O, int Ho, int Wo, int R, int S, int G, int sh, int sw, int ph, int pw,  \
       int dh, int dw) {                                                                          \
    conv2d_dgrad_block<T, BM, BN>(dy, w, dx, N, C, H, W, O, Ho, Wo, R, S, G, sh, sw, ph, pw, dh,  \
                                  dw);                                                            \
  }

TG_CONV2D_DGRAD(conv2d_dgrad_f32_wide, float, 64, 64)
TG_CONV2D_DGRAD(conv2d_dgrad_f32_narrow, float, 256, 16)
TG_CONV2D_DGRAD(conv2d_dgrad_f64_wide, double, 64, 64)
TG_CONV2D_DGRAD(conv2d_dgrad_f64_narrow, double, 256, 16)
