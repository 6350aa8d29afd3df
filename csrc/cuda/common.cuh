// common.cuh -- shared by csrc/cuda/*.cu: a shared-memory tiled GEMM whose operands are gathered
// by the caller (the conv kernels are implicit GEMMs), and a block-wide sum.
//
// Compiled three ways, so it uses only core CUDA C++ (no #include, no warp intrinsics):
// NVRTC through cupy.RawModule (tinygan/backends/cuda.py pastes this file in place of the
// #include), nvcc -arch=sm_90 in CI, and g++ with a host shim in tests/test_gpu_kernels.py
// that runs each block's threads as host threads.
//
// gemm_tile computes one BM x BN block of C = A B (A: M x K, B: K x N) with kThreads = 256
// threads arranged as 16 x 16: thread (tx, ty) = (tid % 16, tid / 16) accumulates the
// TM x TN = (BM/16) x (BN/16) elements  C[tx + 16*i, ty + 16*j]  in registers, so consecutive
// threads own consecutive rows m (the rows are the output's contiguous axis in every caller:
// coalesced stores, conflict-free shared-memory reads). K is walked in steps of BK: each step
// the block stages a BK x BM slice of A and a BK x BN slice of B in shared memory, while the
// next step's elements are already being fetched into registers (software prefetch).
//
// Operands are "loaders" that gather on the fly (no im2col buffer):
//   loader.info(idx)    per-slot state for row idx (A) / column idx (B), computed once: the
//                       rows a thread stages are the same at every K step
//   loader.load(s, k)   element (idx, k), 0 outside the matrix or in the zero padding
// A_K_FAST / B_K_FAST pick which index consecutive threads walk when staging (the one that is
// contiguous in memory: k for the weights, the pixel otherwise).
#pragma once

namespace tg {

constexpr int kThreads = 256;

// Which element of a ROWS x BK slice slot e (< ROWS*BK/kThreads) of thread tid stages.
// Row-fast: row = tid % ROWS for every slot (kThreads is a multiple of ROWS), so the loader's
// per-row state is computed once; k-fast: k = tid % BK for every slot, one state per slot.
template <int ROWS, int BK, bool K_FAST>
struct Staging {
  static constexpr int kSlots = ROWS * BK / kThreads;
  static constexpr int kRows = K_FAST ? kSlots : 1;  // distinct rows a thread stages
  static_assert(kSlots * kThreads == ROWS * BK, "slices must split evenly over the threads");
  static_assert(K_FAST ? kThreads % BK == 0 : kThreads % ROWS == 0, "staging map");
  __device__ static int row(int tid, int e) { return K_FAST ? tid / BK + e * (kThreads / BK) : tid % ROWS; }
  __device__ static int k(int tid, int e) { return K_FAST ? tid % BK : tid / ROWS + e * (kThreads / ROWS); }
};

template <typename T, int BM, int BN, int BK, bool A_K_FAST, bool B_K_FAST,
          class LoadA, class LoadB, class Store>
__device__ __forceinline__ void gemm_tile(int m0, int n0, int K, const LoadA& load_a,
                                          const LoadB& load_b, const Store& store) {
  constexpr int TM = BM / 16, TN = BN / 16;
  static_assert(BM % 16 == 0 && BN % 16 == 0, "tile must be a multiple of the 16 x 16 threads");
  using SA = Staging<BM, BK, A_K_FAST>;
  using SB = Staging<BN, BK, B_K_FAST>;
  __shared__ T As[BK][BM + 1];  // +1: staging along k writes down a column without bank conflicts
  __shared__ T Bs[BK][BN + 1];

  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  typename LoadA::Info a_info[SA::kRows];
  typename LoadB::Info b_info[SB::kRows];
  for (int e = 0; e < SA::kRows; ++e) a_info[e] = load_a.info(m0 + SA::row(tid, e));
  for (int e = 0; e < SB::kRows; ++e) b_info[e] = load_b.info(n0 + SB::row(tid, e));

  T acc[TM][TN];
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);
  T ra[SA::kSlots], rb[SB::kSlots];
  auto fetch = [&](int k0) {
    for (int e = 0; e < SA::kSlots; ++e) {
      const int k = k0 + SA::k(tid, e);
      ra[e] = k < K ? load_a.load(a_info[A_K_FAST ? e : 0], k) : T(0);
    }
    for (int e = 0; e < SB::kSlots; ++e) {
      const int k = k0 + SB::k(tid, e);
      rb[e] = k < K ? load_b.load(b_info[B_K_FAST ? e : 0], k) : T(0);
    }
  };
  auto stage = [&]() {
    for (int e = 0; e < SA::kSlots; ++e) As[SA::k(tid, e)][SA::row(tid, e)] = ra[e];
    for (int e = 0; e < SB::kSlots; ++e) Bs[SB::k(tid, e)][SB::row(tid, e)] = rb[e];
  };

  fetch(0);
  stage();
  __syncthreads();
  for (int k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;  // uniform across the block
    if (more) fetch(k0 + BK);       // global loads in flight while we compute
    for (int kk = 0; kk < BK; ++kk) {
      T a[TM], b[TN];
      for (int i = 0; i < TM; ++i) a[i] = As[kk][tx + 16 * i];
      for (int j = 0; j < TN; ++j) b[j] = Bs[kk][ty + 16 * j];
      for (int i = 0; i < TM; ++i)
        for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
    if (more) {
      stage();
      __syncthreads();
    }
  }
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) store(m0 + tx + 16 * i, n0 + ty + 16 * j, acc[i][j]);
}

// Sum of v over the block (all kThreads threads must call it); every thread gets the result.
template <typename T>
__device__ __forceinline__ T block_sum(T v) {
  __shared__ T buf[kThreads];
  const int tid = threadIdx.x;
  buf[tid] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (tid < s) buf[tid] += buf[tid + s];
    __syncthreads();
  }
  const T total = buf[0];
  __syncthreads();  // buf is reused by the next call
  return total;
}

}  // namespace tg
