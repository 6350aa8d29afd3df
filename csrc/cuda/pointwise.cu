// pointwise.cu -- the pointwise kernels of a GAN step on the GPU, one fused pass each
// (spec: tinygan/backends/numpy_pointwise.py; csrc/cpu/pointwise.cpp is the CPU twin):
//
//   leaky_relu_fwd(x, slope)       y  = x > 0 ? x : x * slope
//   leaky_relu_bwd(x, g, slope)    dx = g * (x > 0 ? 1 : slope)
//   masked_scale(x, keep, scale)   y  = x * (keep ? scale : 0)          (dropout and its VJP)
//   bias_add(x, b)                 y[n, c, l] = x[n, c, l] + b[c]       (x seen as (N, C, L))
//   adam_update(p, g, m, v, ...)   m <- m + (1 - beta1) (g - m);  v <- beta2 v + (1 - beta2) g^2
//                                  p <- p - step_size * m / (sqrt(v) / bc2_sqrt + eps)
//
// Written as NumPy / CuPy expressions these take 2-8 passes and as many launches each (Adam:
// about eight kernels per parameter); here each is one grid-stride loop over the n elements.
// The scalars arrive in the array's type (the host rounds 1 - beta1 etc. once, as NumPy does).

template <class T>
__device__ void leaky_relu_fwd(const T* x, T* y, T slope, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    y[i] = x[i] > T(0) ? x[i] : x[i] * slope;
}

template <class T>
__device__ void leaky_relu_bwd(const T* x, const T* g, T* dx, T slope, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    dx[i] = g[i] * (x[i] > T(0) ? T(1) : slope);
}

template <class T>
__device__ void masked_scale(const T* x, const unsigned char* keep, T* y, T scale, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    y[i] = x[i] * (keep[i] ? scale : T(0));
}

template <class T>
__device__ void bias_add(const T* x, const T* b, T* y, int C, int L, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    y[i] = x[i] + b[(i / L) % C];
}

template <class T>
__device__ void adam_update(T* p, const T* g, T* m, T* v, T one_minus_beta1, T beta2,
                            T one_minus_beta2, T step_size, T bc2_sqrt, T eps, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const T gi = g[i];
    const T mi = m[i] + one_minus_beta1 * (gi - m[i]);
    const T vi = v[i] * beta2 + one_minus_beta2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] - step_size * (mi / (sqrt(vi) / bc2_sqrt + eps));
  }
}

#define TG_POINTWISE(SUFFIX, T)                                                                   \
  extern "C" __global__ void leaky_relu_fwd_##SUFFIX(const T* x, T* y, T slope, int n) {          \
    leaky_relu_fwd<T>(x, y, slope, n);                                                            \
  }                                                                                               \
  extern "C" __global__ void leaky_relu_bwd_##SUFFIX(const T* x, const T* g, T* dx, T slope,      \
                                                     int n) {                                     \
    leaky_relu_bwd<T>(x, g, dx, slope, n);                                                        \
  }                                                                                               \
  extern "C" __global__ void masked_scale_##SUFFIX(const T* x, const unsigned char* keep, T* y,   \
                                                   T scale, int n) {                              \
    masked_scale<T>(x, keep, y, scale, n);                                                        \
  }                                                                                               \
  extern "C" __global__ void bias_add_##SUFFIX(const T* x, const T* b, T* y, int C, int L,        \
                                               int n) {                                           \
    bias_add<T>(x, b, y, C, L, n);                                                                \
  }                                                                                               \
  extern "C" __global__ void adam_update_##SUFFIX(T* p, const T* g, T* m, T* v,                   \
                                                  T one_minus_beta1, T beta2, T one_minus_beta2,  \
                                                  T step_size, T bc2_sqrt, T eps, int n) {        \
    adam_update<T>(p, g, m, v, one_minus_beta1, beta2, one_minus_beta2, step_size, bc2_sqrt,     \
                   eps, n);                                                                       \
  }

TG_POINTWISE(f32, float)
TG_POINTWISE(f64, double)
