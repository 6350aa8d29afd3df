// batchnorm.cu -- batch norm forward and backward with each channel's reduction split across
// blocks (float32, float64). Spec: tinygan/backends/numpy_norm.py.
//
// Index math. x, y, dy, dx are C-contiguous (N, C, *spatial), viewed as (N, C, L) with
// L = prod(spatial). Channel c has M = N*L values; value q = n*L + l (q < M) sits at
//     off(c, q) = (q / L)*C*L + c*L + q % L.
// Split: one block per channel would leave most SMs idle (64-256 channels, 132 SMs), so each
// channel's q range is cut into `splits` chunks of `chunk` values: grid (splits, C), block s of
// channel c (blockIdx.x = s, blockIdx.y = c) owns q in [s*chunk, min(M, (s+1)*chunk)).
// 256 threads stride through the chunk; block_sum (common.cuh) is a shared-memory tree.
//
// Forward, training:
//   batchnorm_partial_stats  (s, c): n_s, mu_s and M2_s = sum (x - mu_s)^2 over the chunk, two
//                            passes (the second hits cache) -> partial[c, s, 0:3].
//   batchnorm_fwd            (s, c): every block combines its channel's partials (Chan et al.):
//                              mean = sum n_s mu_s / M,  M2 = sum (M2_s + n_s (mu_s - mean)^2),
//                              var = M2 / M,  invstd = 1 / sqrt(var + eps);
//                            then y = (x - mean) * invstd * weight + bias on its chunk. Block
//                            s = 0 writes save_mean / save_invstd and updates the running stats
//                            in place: rm = (1-mom) rm + mom mean, rv = (1-mom) rv + mom var M/(M-1).
//   Eval: batchnorm_fwd alone, with mean = running_mean, invstd = 1 / sqrt(running_var + eps).
//   params = [1 - momentum, momentum, momentum*M/(M-1), eps] in the array dtype.
//   flags: 1 training, 2 weight, 4 bias, 8 running_mean, 16 running_var (absent arrays: any
//   valid pointer, never read).
// Backward, xhat = (x - mean) * invstd:
//   batchnorm_bwd_partial    (s, c): partial[c, s] = (sum dy, sum dy*xhat) over the chunk.
//   batchnorm_bwd_dx         (s, c): dbias = sum_s partial[c, s, 0], dweight = sum_s partial[c, s, 1]
//                            (block s = 0 stores them); then on its chunk
//                            training: dx = invstd*weight*(dy - dbias/M - xhat*dweight/M)
//                            eval:     dx = invstd*weight*dy.    flags: 1 training, 2 weight.
// Sums accumulate in the array dtype per thread, then a tree: error grows like log(M).
#include "common.cuh"

namespace {

enum : int { kTraining = 1, kWeight = 2, kBias = 4, kRunningMean = 8, kRunningVar = 16 };

struct Chunk {
  int begin, end;
  __device__ Chunk(int M, int chunk) : begin(blockIdx.x * chunk), end(M) {
    if (end - begin > chunk) end = begin + chunk;
  }
};

__device__ __forceinline__ int offset(int q, int c, int C, int L) {
  return (q / L) * C * L + c * L + q % L;
}

template <typename T>
__device__ void partial_stats(const T* x, T* partial, int C, int L, int M, int chunk, int splits) {
  const int c = blockIdx.y;
  const Chunk ch(M, chunk);
  T sum = T(0);
  for (int q = ch.begin + threadIdx.x; q < ch.end; q += blockDim.x) sum += x[offset(q, c, C, L)];
  const T count = T(ch.end - ch.begin);
  const T mean = tg::block_sum(sum) / count;
  T sq = T(0);
  for (int q = ch.begin + threadIdx.x; q < ch.end; q += blockDim.x) {
    const T d = x[offset(q, c, C, L)] - mean;
    sq += d * d;
  }
  const T m2 = tg::block_sum(sq);
  if (threadIdx.x == 0) {
    T* out = partial + (c * splits + blockIdx.x) * 3;
    out[0] = count;
    out[1] = mean;
    out[2] = m2;
  }
}

template <typename T>
__device__ void forward(const T* x, T* y, const T* partial, const T* params, T* save_mean,
                        T* save_invstd, const T* weight, const T* bias, T* running_mean,
                        T* running_var, int C, int L, int M, int chunk, int splits, int flags) {
  const int c = blockIdx.y;
  const T eps = params[3];
  T mean, invstd;
  if (flags & kTraining) {
    mean = T(0);
    for (int s = 0; s < splits; ++s) {
      const T* p = partial + (c * splits + s) * 3;
      mean += p[0] * p[1];
    }
    mean /= T(M);
    T m2 = T(0);
    for (int s = 0; s < splits; ++s) {
      const T* p = partial + (c * splits + s) * 3;
      const T d = p[1] - mean;
      m2 += p[2] + p[0] * d * d;
    }
    const T var = m2 / T(M);
    invstd = T(1) / sqrt(var + eps);
    if (blockIdx.x == 0 && threadIdx.x == 0) {
      if (flags & kRunningMean) running_mean[c] = params[0] * running_mean[c] + params[1] * mean;
      if (flags & kRunningVar) running_var[c] = params[0] * running_var[c] + params[2] * var;
    }
  } else {
    mean = running_mean[c];
    invstd = T(1) / sqrt(running_var[c] + eps);
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    save_mean[c] = mean;
    save_invstd[c] = invstd;
  }
  const T scale = (flags & kWeight) ? invstd * weight[c] : invstd;
  const T shift = (flags & kBias) ? bias[c] : T(0);
  const Chunk ch(M, chunk);
  for (int q = ch.begin + threadIdx.x; q < ch.end; q += blockDim.x) {
    const int off = offset(q, c, C, L);
    y[off] = (x[off] - mean) * scale + shift;
  }
}

template <typename T>
__device__ void bwd_partial(const T* dy, const T* x, const T* save_mean, const T* save_invstd,
                            T* partial, int C, int L, int M, int chunk, int splits) {
  const int c = blockIdx.y;
  const T mean = save_mean[c], invstd = save_invstd[c];
  const Chunk ch(M, chunk);
  T sum_dy = T(0), sum_dy_xhat = T(0);
  for (int q = ch.begin + threadIdx.x; q < ch.end; q += blockDim.x) {
    const int off = offset(q, c, C, L);
    sum_dy += dy[off];
    sum_dy_xhat += dy[off] * ((x[off] - mean) * invstd);
  }
  const T total_dy = tg::block_sum(sum_dy);
  const T total_dy_xhat = tg::block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) {
    partial[(c * splits + blockIdx.x) * 2] = total_dy;
    partial[(c * splits + blockIdx.x) * 2 + 1] = total_dy_xhat;
  }
}

template <typename T>
__device__ void bwd_dx(const T* dy, const T* x, const T* save_mean, const T* save_invstd,
                       const T* weight, const T* partial, T* dx, T* dweight, T* dbias, int C,
                       int L, int M, int chunk, int splits, int flags) {
  const int c = blockIdx.y;
  T db = T(0), dwt = T(0);
  for (int s = 0; s < splits; ++s) {
    db += partial[(c * splits + s) * 2];
    dwt += partial[(c * splits + s) * 2 + 1];
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    dbias[c] = db;
    dweight[c] = dwt;
  }
  const T mean = save_mean[c], invstd = save_invstd[c];
  const T scale = (flags & kWeight) ? invstd * weight[c] : invstd;
  const T mean_dy = db / T(M), mean_dy_xhat = dwt / T(M);
  const Chunk ch(M, chunk);
  for (int q = ch.begin + threadIdx.x; q < ch.end; q += blockDim.x) {
    const int off = offset(q, c, C, L);
    T g = dy[off];
    if (flags & kTraining) g = g - mean_dy - (x[off] - mean) * invstd * mean_dy_xhat;
    dx[off] = g * scale;
  }
}

}  // namespace

#define TG_BATCHNORM(SUFFIX, T)                                                                   \
  extern "C" __global__ void __launch_bounds__(256) batchnorm_partial_stats_##SUFFIX(             \
      const T* __restrict__ x, T* __restrict__ partial, int C, int L, int M, int chunk,          \
      int splits) {                                                                               \
    partial_stats<T>(x, partial, C, L, M, chunk, splits);                                         \
  }                                                                                               \
  extern "C" __global__ void __launch_bounds__(256) batchnorm_fwd_##SUFFIX(                       \
      const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ partial,                  \
      const T* __restrict__ params, T* __restrict__ save_mean, T* __restrict__ save_invstd,       \
      const T* __restrict__ weight, const T* __restrict__ bias, T* running_mean, T* running_var,  \
      int C, int L, int M, int chunk, int splits, int flags) {                                    \
    forward<T>(x, y, partial, params, save_mean, save_invstd, weight, bias, running_mean,         \
               running_var, C, L, M, chunk, splits, flags);                                       \
  }                                                                                               \
  extern "C" __global__ void __launch_bounds__(256) batchnorm_bwd_partial_##SUFFIX(               \
      const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ save_mean,         \
      const T* __restrict__ save_invstd, T* __restrict__ partial, int C, int L, int M, int chunk, \
      int splits) {                                                                               \
    bwd_partial<T>(dy, x, save_mean, save_invstd, partial, C, L, M, chunk, splits);               \
  }                                                                                               \
  extern "C" __global__ void __launch_bounds__(256) batchnorm_bwd_dx_##SUFFIX(                    \
      const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ save_mean,         \
      const T* __restrict__ save_invstd, const T* __restrict__ weight,                            \
      const T* __restrict__ partial, T* __restrict__ dx, T* __restrict__ dweight,                 \
      T* __restrict__ dbias, int C, int L, int M, int chunk, int splits, int flags) {             \
    bwd_dx<T>(dy, x, save_mean, save_invstd, weight, partial, dx, dweight, dbias, C, L, M, chunk, \
              splits, flags);                                                                     \
  }

TG_BATCHNORM(f32, float)
TG_BATCHNORM(f64, double)
