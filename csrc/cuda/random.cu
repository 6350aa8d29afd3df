// random.cu -- dropout masks from NumPy's PCG64 stream on the GPU, bit for bit
// (spec: tinygan/backends/numpy_pointwise.py keep_mask; csrc/cpu/random.cpp is the CPU twin).
//
//   keep_mask(state, inc, n, threshold)   keep[i] = word_i >= threshold
//
// word_{2j} / word_{2j+1} are the low / high 32 bits of the j-th 64-bit draw of NumPy's PCG64
// (O'Neill's PCG XSL-RR 128/64) from the 128-bit LCG state `state` with increment `inc`:
//
//   s_{j+1} = s_j * M + inc (mod 2^128),   draw_j = rotr64(hi(s_{j+1}) ^ lo(s_{j+1}), s_{j+1} >> 122)
//
// The LCG is an affine map, so k steps are one affine map too: s_{j+k} = A_k s_j + C_k, with
// (A_k, C_k) from log2 k squarings (Brown, "Random number generation with arbitrary strides").
// Thread t of T computes draws t, t + T, t + 2T, ...: it jumps to s_{t+1} once, then steps by
// (A_T, C_T), and the threads of a warp write neighbouring bytes. 128-bit products are built
// from 64-bit halves (__umul64hi), which NVRTC, nvcc and the host emulation all provide.

struct U128 {
  unsigned long long hi, lo;
};

__device__ __forceinline__ U128 add128(U128 a, U128 b) {
  U128 r;
  r.lo = a.lo + b.lo;
  r.hi = a.hi + b.hi + (r.lo < a.lo ? 1ULL : 0ULL);
  return r;
}

__device__ __forceinline__ U128 mul128(U128 a, U128 b) {  // a * b mod 2^128
  U128 r;
  r.lo = a.lo * b.lo;
  r.hi = __umul64hi(a.lo, b.lo) + a.lo * b.hi + a.hi * b.lo;
  return r;
}

struct Affine {  // s -> mult * s + plus
  U128 mult, plus;
};

// The affine map of `delta` LCG steps.
__device__ Affine lcg_jump(U128 inc, unsigned long long delta) {
  U128 acc_mult = {0ULL, 1ULL}, acc_plus = {0ULL, 0ULL};
  U128 cur_mult = {0x2360ED051FC65DA4ULL, 0x4385DF649FCCF645ULL}, cur_plus = inc;
  const U128 one = {0ULL, 1ULL};
  while (delta) {
    if (delta & 1ULL) {
      acc_mult = mul128(acc_mult, cur_mult);
      acc_plus = add128(mul128(acc_plus, cur_mult), cur_plus);
    }
    cur_plus = mul128(add128(cur_mult, one), cur_plus);
    cur_mult = mul128(cur_mult, cur_mult);
    delta >>= 1;
  }
  return Affine{acc_mult, acc_plus};
}

__device__ __forceinline__ U128 apply(Affine f, U128 s) { return add128(mul128(f.mult, s), f.plus); }

__device__ __forceinline__ unsigned long long pcg_output(U128 s) {  // XSL-RR
  const unsigned long long x = s.hi ^ s.lo;
  const unsigned rot = static_cast<unsigned>(s.hi >> 58);
  return (x >> rot) | (x << ((64u - rot) & 63u));
}

extern "C" __global__ void keep_mask_u8(unsigned char* keep, unsigned long long state_hi,
                                        unsigned long long state_lo, unsigned long long inc_hi,
                                        unsigned long long inc_lo, long long n,
                                        unsigned long long threshold) {
  const long long draws = (n + 1) / 2;
  const long long t = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long long T = static_cast<long long>(gridDim.x) * blockDim.x;
  if (t >= draws) return;
  const U128 inc = {inc_hi, inc_lo};
  U128 s = apply(lcg_jump(inc, static_cast<unsigned long long>(t + 1)), U128{state_hi, state_lo});
  const Affine stride = lcg_jump(inc, static_cast<unsigned long long>(T));
  for (long long j = t; j < draws; j += T) {
    const unsigned long long draw = pcg_output(s);
    const long long i = 2 * j;
    keep[i] = (draw & 0xFFFFFFFFULL) >= threshold;
    if (i + 1 < n) keep[i + 1] = (draw >> 32) >= threshold;
    s = apply(stride, s);
  }
}
